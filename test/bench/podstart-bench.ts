/**
 * bench:podstart — pod start latency through the Kern API, beside
 * `docker run -d` of the same image and command measured in the same run.
 *
 * For every pod: create sent → first watch event with phase Running, and
 * create sent → first byte of the container's output, read with
 * `GET .../pods/{name}/log` as soon as the watch shows the container (again
 * every 10 ms while it is empty). For every baseline container: `docker run
 * -d` spawned → the command returned (wall time via child_process), and
 * spawned → first byte of its output, read the same way from the engine
 * (`GET /containers/{id}/logs`) right after the command returned. Both run
 * `sh -c 'echo ready; sleep 3600'` from kern/busybox:1 on the same engine;
 * the pod also has its pause (sandbox) container, as every pod does, and the
 * docker container is on the default bridge like the sandbox.
 *
 * `--follow` reads first output from follow streams instead (`?follow=true`
 * on both sides, closed after the first byte). Kern does not close the
 * engine's log stream when a follow client goes away, and every leaked
 * stream makes every later docker call of the kernel slower, so with
 * `--follow` the bench measures that leak as much as pod start.
 *
 * Phases: warm-up (one of each, not counted), N pods one after another,
 * M at once, each followed by the same for docker; everything is deleted
 * between phases (pods through the API, waiting until gone) and at the end,
 * also on failure or Ctrl-C.
 *
 *   npm run bench:podstart [-- --sequential 50 --burst 20 --follow --verbose]
 */
import http from 'node:http';
import { onJsonLines } from '@kern/sdk';
import { spawn } from 'node:child_process';
import { startKern, KernProcess } from '../helpers/kern-process';
import { percentile, printTable } from './stats';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 && Number(process.argv[i + 1]) > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SEQUENTIAL = arg('--sequential', 50);
const BURST = arg('--burst', 20);
/** Prints every sample as it comes (stderr). */
const VERBOSE = process.argv.includes('--verbose');
const FOLLOW = process.argv.includes('--follow');
const IMAGE = 'kern/busybox:1';
const COMMAND = ['sh', '-c', 'echo ready; sleep 3600'];
const NAMESPACE = 'default';
const DOCKER_SOCKET = '/var/run/docker.sock';
/** One pod or container start that takes longer than this fails the bench. */
const START_TIMEOUT_MS = 30_000;
const RUN_ID = `podstart-${process.pid}`;

/** Set on SIGINT/SIGTERM: no new pod or container is started, pending waits fail, cleanup runs. */
let interrupted: NodeJS.Signals | undefined;
function checkInterrupted(): void {
  if (interrupted) throw new Error(`interrupted by ${interrupted}`);
}

const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, fail) => { timer = setTimeout(() => fail(new Error(`${what}: no result after ${ms} ms`)), ms); }),
  ]);
}

/**
 * GETs `options` and resolves with the time (ms after `t0`) its body's first
 * byte came, closing the request then; undefined when the reply is not 200
 * or ends empty.
 */
function firstByte(options: http.RequestOptions, t0: number): Promise<number | undefined> {
  return new Promise((ok, fail) => {
    const req = http.get(options, (res) => {
      if (res.statusCode !== 200) { res.resume(); ok(undefined); return; }
      let at: number | undefined;
      res.on('data', (d: Buffer) => {
        if (at !== undefined || d.length === 0) return;
        at = now() - t0;
        // A follow stream never ends by itself; a plain reply is read to its end so the connection is reused.
        if (FOLLOW) { req.destroy(); ok(at); }
      });
      res.on('end', () => ok(at));
      res.on('error', () => ok(at));
    });
    req.on('error', (e) => (req.destroyed ? undefined : fail(e)));
  });
}

// ---- Kern side --------------------------------------------------------------

interface PodObject {
  metadata: { name: string; uid?: string; resourceVersion?: string; finalizers?: string[]; deletionTimestamp?: string };
  spec?: { nodeName?: string };
  status?: { phase?: string; containerStatuses?: { containerID?: string; state?: { running?: { startedAt?: string } } }[] };
}

/** One measured pod start; times in ms from the create being sent. */
interface PodSample {
  running: number;
  firstOutput: number;
  /** Breakdown from the watch: binder set spec.nodeName, agent added its finalizer, docker's container startedAt. */
  bound?: number;
  finalizer?: number;
  containerStarted?: number;
  createReply: number;
}

interface Tracker {
  t0: number;
  t0Epoch: number;
  sample: Partial<PodSample>;
  logOpened: boolean;
  done: (err?: Error) => void;
}

class KernClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly url: URL;
  private readonly trackers = new Map<string, Tracker>();
  private watchReq?: http.ClientRequest;
  private closing = false;
  private lastRv?: string;
  /** Creates not yet answered; deleteAll waits for them so none lands after the cleanup. */
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(private readonly kern: KernProcess) {
    this.url = new URL(kern.server);
  }

  private options(method: string, path: string, extra: http.RequestOptions = {}): http.RequestOptions {
    return {
      host: this.url.hostname, port: this.url.port, agent: this.agent, method, path,
      headers: { authorization: `Bearer ${this.kern.token}` }, ...extra,
    };
  }

  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const headers: http.OutgoingHttpHeaders = { authorization: `Bearer ${this.kern.token}` };
    if (data !== undefined) { headers['content-type'] = 'application/json'; headers['content-length'] = Buffer.byteLength(data); }
    return new Promise((ok, fail) => {
      const req = http.request(this.options(method, path, { headers }), (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => { text += d; });
        res.on('end', () => ok({ status: res.statusCode ?? 0, body: text }));
        res.on('error', fail);
      });
      req.on('error', fail);
      req.end(data);
    });
  }

  /** One watch on the bench's pods for the whole run; resumes from the last revision if it ends. */
  watch(): Promise<void> {
    const rv = this.lastRv ? `&resourceVersion=${encodeURIComponent(this.lastRv)}` : '';
    return new Promise((ok, fail) => {
      const req = http.get(this.options('GET', `/api/v1/namespaces/${NAMESPACE}/pods?watch=true&labelSelector=kern-bench%3D${RUN_ID}${rv}`, { agent: false }), (res) => {
        if (res.statusCode !== 200) { fail(new Error(`watch got HTTP ${res.statusCode}`)); res.resume(); return; }
        ok();
        onJsonLines(res, (value) => this.onEvent(value as { type: string; object: PodObject }));
        res.on('end', () => {
          if (this.closing) return;
          this.watch().catch((e) => this.failAll(e as Error));
        });
      });
      req.on('error', (e) => { if (!this.closing) { fail(e); this.failAll(e); } });
      this.watchReq = req;
    });
  }

  failAll(err: Error): void {
    for (const t of this.trackers.values()) t.done(err);
  }

  private onEvent(ev: { type: string; object: PodObject }): void {
    if (ev.type === 'ERROR') return; // the stream ends next; watch() resumes it
    const pod = ev.object;
    if (pod.metadata?.resourceVersion) this.lastRv = pod.metadata.resourceVersion;
    const t = this.trackers.get(pod.metadata?.name);
    if (!t || ev.type === 'DELETED') return;
    const at = now() - t.t0;
    const s = t.sample;
    if (s.bound === undefined && pod.spec?.nodeName) s.bound = at;
    if (s.finalizer === undefined && pod.metadata.finalizers?.length) s.finalizer = at;
    const cs = pod.status?.containerStatuses?.[0];
    const startedAt = Date.parse(cs?.state?.running?.startedAt ?? '');
    if (s.containerStarted === undefined && Number.isFinite(startedAt)) s.containerStarted = startedAt - t.t0Epoch;
    if (s.running === undefined && pod.status?.phase === 'Running') s.running = at;
    if (!t.logOpened && (cs?.containerID || pod.status?.phase === 'Running')) {
      t.logOpened = true;
      this.firstOutput(pod.metadata.name, t).then(
        (ms) => { s.firstOutput = ms; if (s.running !== undefined) t.done(); },
        (e) => t.done(e as Error),
      );
    }
    if (s.running !== undefined && s.firstOutput !== undefined) t.done();
  }

  /** Reads the pod's log until it has a first byte; again while the container is not there yet or silent. */
  private async firstOutput(name: string, t: Tracker): Promise<number> {
    const path = `/api/v1/namespaces/${NAMESPACE}/pods/${name}/log${FOLLOW ? '?follow=true' : ''}`;
    for (;;) {
      const result = await firstByte(this.options('GET', path, { agent: FOLLOW ? false : this.agent }), t.t0);
      if (result !== undefined) return result;
      if (now() - t.t0 > START_TIMEOUT_MS) throw new Error(`pod ${name}: no output within ${START_TIMEOUT_MS} ms`);
      await sleep(10);
    }
  }

  /** Creates one pod and resolves with its timings once it is Running and has printed. */
  async startPod(name: string): Promise<PodSample> {
    const manifest = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name, namespace: NAMESPACE, labels: { 'kern-bench': RUN_ID } },
      spec: {
        // sh as PID 1 ignores SIGTERM: without this every delete waits out 30 s.
        terminationGracePeriodSeconds: 0,
        containers: [{ name: 'main', image: IMAGE, command: COMMAND }],
      },
    };
    let done!: (err?: Error) => void;
    const finished = new Promise<void>((ok, fail) => { done = (err) => (err ? fail(err) : ok()); });
    checkInterrupted();
    const tracker: Tracker = { t0: now(), t0Epoch: Date.now(), sample: {}, logOpened: false, done };
    this.trackers.set(name, tracker);
    try {
      const create = this.request('POST', `/api/v1/namespaces/${NAMESPACE}/pods`, manifest);
      this.inflight.add(create);
      const res = await create.finally(() => this.inflight.delete(create));
      if (res.status !== 201 && res.status !== 200) throw new Error(`create ${name}: HTTP ${res.status} ${res.body}`);
      tracker.sample.createReply = now() - tracker.t0;
      await withTimeout(finished, START_TIMEOUT_MS, `pod ${name} start`);
      if (VERBOSE) console.error(`  ${name}: ${JSON.stringify(tracker.sample, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}`);
      return tracker.sample as PodSample;
    } finally {
      this.trackers.delete(name);
    }
  }

  /** Deletes every pod of this run (by label) and waits until they are gone (finalizers done). */
  async deleteAll(timeoutMs = 120_000): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await this.request('GET', `/api/v1/namespaces/${NAMESPACE}/pods?labelSelector=kern-bench%3D${RUN_ID}`);
      if (res.status !== 200) throw new Error(`list pods: HTTP ${res.status} ${res.body}`);
      const items = (JSON.parse(res.body) as { items: PodObject[] }).items;
      if (items.length === 0) return;
      if (Date.now() > deadline) throw new Error(`${items.length} bench pods still there ${timeoutMs} ms after delete`);
      await Promise.all(items.filter((p) => !p.metadata.deletionTimestamp).map(async (p) => {
        const del = await this.request('DELETE', `/api/v1/namespaces/${NAMESPACE}/pods/${p.metadata.name}`);
        if (del.status !== 200 && del.status !== 404) throw new Error(`delete ${p.metadata.name}: HTTP ${del.status} ${del.body}`);
      }));
      await sleep(100);
    }
  }

  close(): void {
    this.closing = true;
    this.watchReq?.destroy();
    this.agent.destroy();
  }
}

// ---- docker run baseline ----------------------------------------------------

interface DockerSample { run: number; firstOutput: number }

function runDocker(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((ok, fail) => {
    const child = spawn('docker', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', fail);
    child.on('close', (code) => ok({ code, stdout, stderr }));
  });
}

class DockerBaseline {
  readonly ids = new Set<string>();
  private readonly agent = new http.Agent({ keepAlive: true });
  /** `docker run` commands not yet returned; removeAll waits for them. */
  private readonly inflight = new Set<Promise<unknown>>();

  /** `docker run -d` wall time, then the container's log until its first byte. */
  async start(name: string): Promise<DockerSample> {
    checkInterrupted();
    const t0 = now();
    const running = runDocker(['run', '-d', '--name', name, '--label', `kern-bench=${RUN_ID}`, IMAGE, ...COMMAND]);
    this.inflight.add(running);
    const r = await running.finally(() => this.inflight.delete(running));
    const run = now() - t0;
    if (r.code !== 0) throw new Error(`docker run ${name} exited with ${r.code}: ${r.stderr.trim()}`);
    const id = r.stdout.trim();
    this.ids.add(id);
    const path = `/containers/${id}/logs?stdout=1&stderr=1${FOLLOW ? '&follow=1' : ''}`;
    for (;;) {
      const firstOutput = await firstByte({ socketPath: DOCKER_SOCKET, path, agent: FOLLOW ? false : this.agent }, t0);
      if (firstOutput !== undefined) return { run, firstOutput };
      if (now() - t0 > START_TIMEOUT_MS) throw new Error(`docker container ${name}: no output within ${START_TIMEOUT_MS} ms`);
      await sleep(10);
    }
  }

  async removeAll(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    const fromLabel = await runDocker(['ps', '-aq', '--no-trunc', '--filter', `label=kern-bench=${RUN_ID}`]);
    const ids = new Set([...this.ids, ...fromLabel.stdout.split(/\s+/).filter(Boolean)]);
    if (ids.size === 0) return;
    const r = await runDocker(['rm', '-f', ...ids]);
    if (r.code !== 0 && !/No such container/i.test(r.stderr)) throw new Error(`docker rm -f: ${r.stderr.trim()}`);
    this.ids.clear();
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Containers of the bench's node left behind when the pods could not be deleted through the API. */
async function removeAgentLeftovers(nodeName: string): Promise<number> {
  const r = await runDocker(['ps', '-aq', '--no-trunc', '--filter', `label=kern.io/node=${nodeName}`]);
  const ids = r.stdout.split(/\s+/).filter(Boolean);
  if (ids.length) await runDocker(['rm', '-f', ...ids]);
  return ids.length;
}

// ---- the run ------------------------------------------------------------------

async function sequentially<T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await fn(i));
  return out;
}

const sorted = (xs: (number | undefined)[]) => xs.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);

async function main(): Promise<void> {
  const startedAt = now();
  const nodeName = `podstart-${process.pid}`;
  const kern = await startKern({ nodeName });
  const client = new KernClient(kern);
  const docker = new DockerBaseline();
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      const problems: string[] = [];
      await client.deleteAll().catch((e) => problems.push(`deleting pods through the API: ${(e as Error).message}`));
      client.close();
      await docker.removeAll().catch((e) => problems.push(`removing baseline containers: ${(e as Error).message}`));
      docker.close();
      await kern.stop();
      const left = await removeAgentLeftovers(nodeName).catch(() => 0);
      if (left) problems.push(`removed ${left} leftover pod containers with docker rm -f`);
      kern.cleanup();
      if (problems.length) console.error(`cleanup: ${problems.join('; ')}`);
    })();
    return cleaning;
  };
  // Stop starting things and fail what is waiting; the finally below cleans up.
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = sig;
    console.error(`\n${sig}: cleaning up`);
    client.failAll(new Error(`interrupted by ${sig}`));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    await client.watch();
    const phase = (label: string) => {
      checkInterrupted();
      console.error(`[${((now() - startedAt) / 1000).toFixed(1)} s] ${label}`);
    };

    phase('warm-up (images, connections; not counted)');
    await client.startPod('podstart-warmup');
    await docker.start(`${RUN_ID}-warmup`);
    await client.deleteAll();
    await docker.removeAll();

    phase(`Kern: ${SEQUENTIAL} pods one after another`);
    const kernSeq = await sequentially(SEQUENTIAL, (i) => client.startPod(`podstart-seq-${i}`));
    phase('deleting them');
    await client.deleteAll();

    phase(`docker run -d: ${SEQUENTIAL} containers one after another`);
    const dockerSeq = await sequentially(SEQUENTIAL, (i) => docker.start(`${RUN_ID}-seq-${i}`));
    await docker.removeAll();

    phase(`Kern: ${BURST} pods at once`);
    const kernBurst = await Promise.all(Array.from({ length: BURST }, (_, i) => client.startPod(`podstart-burst-${i}`)));
    phase('deleting them');
    await client.deleteAll();

    phase(`docker run -d: ${BURST} containers at once`);
    const dockerBurst = await Promise.all(Array.from({ length: BURST }, (_, i) => docker.start(`${RUN_ID}-burst-${i}`)));
    await docker.removeAll();

    const rows: (string | number)[][] = [['measure', 'Kern p50', 'Kern p99', 'docker run p50', 'docker run p99', 'ratio p50', 'target']];
    const verdicts: string[] = [];
    const row = (label: string, kernMs: number[], dockerMs: number[]) => {
      const k = sorted(kernMs);
      const d = sorted(dockerMs);
      const k50 = percentile(k, 50);
      const k99 = percentile(k, 99);
      const d50 = percentile(d, 50);
      const ratio = k50 / d50;
      const ok = ratio <= 1.5 && k99 < 2000;
      rows.push([label, k50, k99, d50, percentile(d, 99), `${ratio.toFixed(2)}x`, `<=1.5x, p99<2000 ${ok ? 'ok' : 'MISS'}`]);
      verdicts.push(`${label}: ${ok ? 'met' : `missed (${ratio > 1.5 ? `p50 ${ratio.toFixed(2)}x docker run` : ''}${ratio > 1.5 && k99 >= 2000 ? ', ' : ''}${k99 >= 2000 ? `p99 ${k99.toFixed(0)} ms` : ''})`}`);
    };
    row(`sequential x${SEQUENTIAL}: to Running (ms)`, kernSeq.map((s) => s.running), dockerSeq.map((s) => s.run));
    row(`sequential x${SEQUENTIAL}: to first output (ms)`, kernSeq.map((s) => s.firstOutput), dockerSeq.map((s) => s.firstOutput));
    row(`burst x${BURST}: to Running (ms)`, kernBurst.map((s) => s.running), dockerBurst.map((s) => s.run));
    row(`burst x${BURST}: to first output (ms)`, kernBurst.map((s) => s.firstOutput), dockerBurst.map((s) => s.firstOutput));

    console.log(`\nbench:podstart — ${IMAGE} \`${COMMAND.join(' ')}\`; Kern (pods: sandbox + container, through the HTTP API)`);
    console.log(`vs \`docker run -d\` (CLI wall time; first output from the engine's log endpoint${FOLLOW ? ', follow' : ''}); first output ${FOLLOW ? 'via follow log streams' : 'via log requests after the watch shows the container'}; p99 of n <= 100 is the max\n`);
    printTable(rows);
    console.log('');
    verdicts.forEach((v) => console.log(`  ${v}`));

    // Where a Kern pod start goes, from the watch (ms after the create was sent, p50).
    const breakdown = (label: string, s: PodSample[]) => [
      label,
      percentile(sorted(s.map((x) => x.createReply)), 50),
      percentile(sorted(s.map((x) => x.bound)), 50),
      percentile(sorted(s.map((x) => x.finalizer)), 50),
      percentile(sorted(s.map((x) => x.containerStarted)), 50),
      percentile(sorted(s.map((x) => x.running)), 50),
      percentile(sorted(s.map((x) => x.firstOutput)), 50),
    ];
    console.log('\nKern pod start breakdown, p50 ms after the create was sent (container started = docker\'s State.StartedAt, ms clock)\n');
    printTable([
      ['phase', 'create reply', 'bound', 'finalizer added', 'container started', 'Running seen', 'first output'],
      breakdown(`sequential x${SEQUENTIAL}`, kernSeq),
      breakdown(`burst x${BURST}`, kernBurst),
    ]);
    console.log(`\ntotal bench time ${((now() - startedAt) / 1000).toFixed(0)} s`);
  } finally {
    await cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

main().catch((e) => {
  console.error(interrupted ? `stopped: ${(e as Error).message}` : e);
  process.exit(interrupted ? 130 : 1);
});
