import { Command } from 'commander';
import { Container, Deployment, KernelError, Pod, PodSpec, parseCpuMillis, parseMemoryBytes } from '@kern/sdk';
import { usageError } from '../cli-error';
import { CliContext } from '../cli-context';
import { columnsFor, headerOf, podStatus, rowOf } from '../resource-columns';
import { formatTable } from '../table-printer';
import { collect } from './apply-command';
import { rolloutStatusLine } from './rollout-command';

export interface RunOptions {
  image?: string;
  namespace?: string;
  cpu?: string;
  memory?: string;
  env: string[];
  labels?: string;
  restart?: string;
  port?: string;
  replicas?: string;
  /** The words after `--` are the command (ENTRYPOINT), not its args (CMD). */
  command?: boolean;
  wait?: boolean;
  /** Seconds `--wait` waits. Default: 120. */
  timeout?: string;
  /** `spec.runtimeClassName`: the runtime driver to run on (e.g. raw-exec). */
  runtimeClass?: string;
}

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'] as const;

/** Waiting reasons after which a pod will not get to Running without a change: `--wait` stops at once. */
const STUCK_REASONS = new Set(['ErrImageNeverPull', 'ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'CreateContainerError', 'CrashLoopBackOff']);

function parsePairs(text: string, flag: string, separator: RegExp): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of text.split(separator)) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw usageError(`${flag} "${item}" must look like KEY=VALUE`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

function wholeNumber(value: string, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw usageError(`${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

function quantity(value: string, flag: string, parse: (v: string, field: string) => number): string {
  try {
    parse(value, flag);
  } catch (e) {
    throw usageError((e as Error).message);
  }
  return value;
}

/**
 * The Pod `kern run` creates: one container named after the pod, labels
 * `run=NAME` unless given, requests and limits both set from --cpu and
 * --memory (so the pod gets exactly what it asked for). As with kubectl,
 * the words after `--` are the container's args, or its command with
 * --command.
 */
export function buildPod(name: string, words: readonly string[], o: RunOptions): Pod {
  if (!o.image) throw usageError('--image is required: the image to run, e.g. --image kern/busybox:1');
  if (o.restart !== undefined && !(RESTART_POLICIES as readonly string[]).includes(o.restart)) {
    throw usageError(`--restart must be one of ${RESTART_POLICIES.join(', ')}, got "${o.restart}"`);
  }
  const quantities: Record<string, string> = {};
  if (o.cpu !== undefined) quantities.cpu = quantity(o.cpu, '--cpu', parseCpuMillis);
  if (o.memory !== undefined) quantities.memory = quantity(o.memory, '--memory', parseMemoryBytes);
  const env = Object.entries(parsePairs(o.env.join('\n'), '--env', /\n/)).map(([k, v]) => ({ name: k, value: v }));
  const labels = o.labels !== undefined ? parsePairs(o.labels, '--labels', /,/) : { run: name };
  if (o.labels !== undefined && Object.keys(labels).length === 0) throw usageError('--labels must name at least one KEY=VALUE pair');

  const container: Container = { name, image: o.image };
  if (words.length) {
    if (o.command) container.command = [...words];
    else container.args = [...words];
  } else if (o.command) {
    throw usageError('--command needs the command after --, e.g. kern run web --image IMG --command -- sh -c "..."');
  }
  if (env.length) container.env = env;
  if (o.port !== undefined) container.ports = [{ containerPort: wholeNumber(o.port, '--port', 1, 65535) }];
  if (Object.keys(quantities).length) container.resources = { requests: { ...quantities }, limits: { ...quantities } };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: o.namespace || 'default', labels },
    spec: {
      containers: [container],
      restartPolicy: (o.restart ?? 'Always') as PodSpec['restartPolicy'],
      ...(o.runtimeClass ? { runtimeClassName: o.runtimeClass } : {}),
    },
  };
}

/**
 * The Deployment `kern run --replicas N` creates: N pods like {@link buildPod}
 * makes, selected by their labels (run=NAME unless --labels).
 */
export function buildDeployment(name: string, words: readonly string[], o: RunOptions): Deployment {
  const replicas = wholeNumber(o.replicas ?? '1', '--replicas', 0);
  if (o.restart !== undefined && o.restart !== 'Always') throw usageError(`--restart ${o.restart}: the pods of a Deployment (--replicas) always restart; leave --restart out`);
  const pod = buildPod(name, words, { ...o, replicas: undefined });
  const labels = pod.metadata.labels!;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: pod.metadata.namespace, labels: { ...labels } },
    spec: { replicas, selector: { matchLabels: { ...labels } }, template: { metadata: { labels: { ...labels } }, spec: pod.spec! } },
  };
}

async function runDeployment(ctx: CliContext, name: string, words: string[], o: RunOptions): Promise<number> {
  const d = buildDeployment(name, words, o);
  await ctx.client.request<Deployment>('POST', `/apis/apps/v1/namespaces/${encodeURIComponent(d.metadata.namespace!)}/deployments`, d);
  ctx.out(`deployment.apps/${name} created\n`);
  if (!o.wait) return 0;
  const deadline = Date.now() + (o.timeout === undefined ? 120 : wholeNumber(o.timeout, '--timeout', 1)) * 1000;
  for (;;) {
    const st = rolloutStatusLine((await ctx.client.syscall('state.get', { kind: 'Deployment', namespace: d.metadata.namespace, name })) as Deployment);
    if (st.failed) throw new KernelError('DeadlineExceeded', st.message);
    if (st.done) { ctx.out(st.message + '\n'); return 0; }
    if (Date.now() > deadline) throw new KernelError('DeadlineExceeded', `${st.message} (timed out; kern rollout status deployment ${name} keeps watching)`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

export async function runRun(ctx: CliContext, name: string, words: string[], o: RunOptions): Promise<number> {
  if (o.replicas !== undefined) return runDeployment(ctx, name, words, o);
  const pod = buildPod(name, words, o);
  const namespace = pod.metadata.namespace!;
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`;
  await ctx.client.request<Pod>('POST', path, pod);
  ctx.out(`pod/${name} created\n`);
  if (!o.wait) return 0;
  const timeoutSeconds = o.timeout === undefined ? 120 : wholeNumber(o.timeout, '--timeout', 1);
  const running = await waitUntilRunning(ctx, `${path}/${encodeURIComponent(name)}`, timeoutSeconds);
  const columns = columnsFor('Pod', { wide: true });
  ctx.out(formatTable(headerOf(columns), [rowOf(running, columns, ctx.now())]).join('\n') + '\n');
  return 0;
}

/**
 * Polls the pod until it runs (or already ran to completion). Fails at
 * once when it cannot start (a missing image, a crash loop, Failed), and
 * after `timeoutSeconds` otherwise, saying what the pod is doing.
 */
async function waitUntilRunning(ctx: CliContext, path: string, timeoutSeconds: number): Promise<Pod> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let pod: Pod;
  for (;;) {
    pod = await ctx.client.get<Pod>(path);
    const phase = pod.status?.phase;
    if (phase === 'Running' || phase === 'Succeeded') return pod;
    const ref = `pod/${pod.metadata.name}`;
    const how = `kern describe pod ${pod.metadata.name} -n ${pod.metadata.namespace} and kern logs ${pod.metadata.name} -n ${pod.metadata.namespace} tell more`;
    if (phase === 'Failed') throw new KernelError('FailedPrecondition', `${ref} failed (${podStatus(pod)}): ${how}`);
    const stuck = (pod.status?.containerStatuses ?? []).find((c) => c.state?.waiting?.reason && STUCK_REASONS.has(c.state.waiting.reason));
    if (stuck) {
      const w = stuck.state.waiting!;
      throw new KernelError('FailedPrecondition', `${ref} cannot start: container ${stuck.name}: ${w.reason}${w.message ? `: ${w.message}` : ''}`);
    }
    if (Date.now() > deadline) {
      throw new KernelError('DeadlineExceeded', `${ref} is not Running after ${timeoutSeconds}s (it is ${podStatus(pod)}): ${how}, --timeout waits longer`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

export function runCommand(run: (fn: (ctx: CliContext) => Promise<number | void>, cmd: Command) => Promise<void>): Command {
  return new Command('run')
    .description('create a pod running one container (kern run NAME --image IMG [-- ARGS...])')
    .argument('<name>', 'name of the pod (and of its container)')
    .argument('[args...]', 'after --: the container\'s args (its command with --command)')
    .option('--image <image>', 'image to run (required)')
    .option('-n, --namespace <ns>', 'namespace of the pod (default: default)')
    .option('--cpu <quantity>', 'CPU request and limit, e.g. 500m or 2')
    .option('--memory <quantity>', 'memory request and limit, e.g. 256Mi')
    .option('--env <KEY=VALUE>', 'environment variable (repeatable)', collect, [])
    .option('-l, --labels <k=v,...>', 'labels of the pod (default: run=NAME)')
    .option('--restart <policy>', 'Always, OnFailure or Never (default: Always)')
    .option('--port <port>', 'port the container listens on')
    .option('--replicas <n>', 'create a Deployment keeping N pods (labels run=NAME) instead of one bare pod')
    .option('--runtime-class <name>', 'the runtime driver to run on (spec.runtimeClassName), e.g. raw-exec')
    .option('--command', 'treat the words after -- as the command, replacing the image\'s entrypoint')
    .option('--wait', 'wait until the pod runs, then show it')
    .option('--timeout <seconds>', 'how long --wait waits (default: 120)')
    .action(async (name: string, args: string[], opts: RunOptions, cmd: Command) => {
      await run((ctx) => runRun(ctx, name, args, opts), cmd);
    });
}
