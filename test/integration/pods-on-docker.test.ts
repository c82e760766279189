/**
 * Pods on the real Docker engine, end to end through the kernel: the node
 * agent, the default binder and the runtime-docker plugin.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { ExecFrame, KernObject, Node, Pod, RUNTIME_LABELS, silentLogger } from '@kern/sdk';
import { removeContainersOfNode } from '../helpers/docker-cleanup';
import { Kernel } from '../../kernel/kernel';
import { bootTestKernel, waitFor } from '../helpers/test-kernel';

jest.setTimeout(120_000);

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const IMAGE = 'kern/busybox:1';
const home = mkdtempSync(join(tmpdir(), 'kern-pods-'));
let kernel: Kernel;

async function boot(): Promise<Kernel> {
  return bootTestKernel(home, 'test-node', process.env.KERN_TEST_LOG ? consoleLogger() : silentLogger);
}

const sys = () => kernel.syscalls.handleFor('test', ['*']);

function pod(name: string, spec: Pod['spec']): KernObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec };
}

async function getPod(name: string): Promise<Pod> {
  return (await sys().call('state.get', { kind: 'Pod', namespace: 'default', name })) as Pod;
}


const running = (name: string) => waitFor(`${name} Running`, async () => { const p = await getPod(name); return p.status?.phase === 'Running' && p; });

async function execIn(name: string, command: string[], container?: string): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const frames = await sys().stream('compute.exec', { namespace: 'default', name, container, command });
  let stdout = '';
  let stderr = '';
  let exitCode = -1;
  for await (const f of frames as AsyncIterable<ExecFrame>) {
    if ('exitCode' in f) exitCode = f.exitCode;
    else if (f.stream === 'stdout') stdout += Buffer.from(f.data, 'base64').toString();
    else stderr += Buffer.from(f.data, 'base64').toString();
  }
  return { stdout, stderr, exitCode };
}

async function containersOf(podName: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${RUNTIME_LABELS.podName}=${podName}`, `${RUNTIME_LABELS.node}=test-node`] } });
}

beforeAll(async () => { kernel = await boot(); });

afterAll(async () => {
  await kernel?.shutdown();
  await removeContainersOfNode('test-node');
  rmSync(home, { recursive: true, force: true });
});

it('registers its node as Ready with capacity and the runtime it runs', async () => {
  const node = await waitFor('node', async () => (await sys().call('state.get', { kind: 'Node', name: 'test-node' })) as Node);
  expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  expect(Number(node.status?.capacity?.cpu)).toBeGreaterThan(0);
  expect(node.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^docker:\/\/\d+\.\d+/);
});

it('runs a main container with a sidecar that reaches it on localhost; logs and exec work', async () => {
  await sys().call('state.create', { object: pod('web', {
    containers: [
      { name: 'main', image: IMAGE, command: ['sh', '-c', 'echo hello-from-main; while true; do echo pong | nc -l -p 8080; done'] },
      { name: 'sidecar', image: IMAGE, command: ['sh', '-c', 'while true; do nc 127.0.0.1 8080 </dev/null && echo got-it; sleep 1; done'] },
    ],
  }) });
  const p = await running('web');
  expect(p.spec?.nodeName).toBe('test-node');
  await waitFor('sidecar output', async () => {
    let text = '';
    for await (const c of await sys().stream('compute.logs', { namespace: 'default', name: 'web', container: 'sidecar', tail: 20 })) text += c.data;
    return text.includes('pong');
  });
  let mainLogs = '';
  for await (const c of await sys().stream('compute.logs', { namespace: 'default', name: 'web' })) mainLogs += c.data;
  expect(mainLogs).toContain('hello-from-main');
  const r = await execIn('web', ['sh', '-c', 'echo out; echo err >&2; exit 7']);
  expect(r).toEqual({ stdout: 'out\n', stderr: 'err\n', exitCode: 7 });
});

it('restarts a crashing container with back-off and shows CrashLoopBackOff', async () => {
  await sys().call('state.create', { object: pod('crasher', { containers: [{ name: 'c', image: IMAGE, command: ['sh', '-c', 'echo boom; exit 1'] }] }) });
  const p = await waitFor('CrashLoopBackOff', async () => {
    const x = await getPod('crasher');
    const s = x.status?.containerStatuses?.[0];
    return s?.state.waiting?.reason === 'CrashLoopBackOff' && s.restartCount >= 1 && x;
  });
  expect(p.status?.containerStatuses?.[0].lastState?.terminated?.exitCode).toBe(1);
});

it('reports OOMKilled for a container over its memory limit', async () => {
  await sys().call('state.create', { object: pod('hog', {
    restartPolicy: 'Never',
    containers: [{ name: 'hog', image: IMAGE, command: ['sh', '-c', 'x=aaaaaaaa; while true; do x=$x$x; done'], resources: { limits: { memory: '16Mi' } } }],
  }) });
  const p = await waitFor('OOMKilled', async () => {
    const x = await getPod('hog');
    return x.status?.containerStatuses?.[0]?.state.terminated?.reason === 'OOMKilled' && x;
  });
  expect(p.status?.phase).toBe('Failed');
});

it('restarts a container whose liveness probe fails', async () => {
  await sys().call('state.create', { object: pod('unhealthy', {
    containers: [{
      name: 'app', image: IMAGE, command: ['sh', '-c', 'touch /tmp/ok; sleep 3; rm /tmp/ok; sleep 3600'],
      livenessProbe: { exec: { command: ['test', '-f', '/tmp/ok'] }, periodSeconds: 1, failureThreshold: 1 },
    }],
    terminationGracePeriodSeconds: 1,
  }) });
  await waitFor('liveness restart', async () => (await getPod('unhealthy')).status?.containerStatuses?.[0]?.restartCount! >= 1);
});

it('marks a pod Ready only once its HTTP readiness probe passes', async () => {
  await sys().call('state.create', { object: pod('slow-web', {
    containers: [{
      name: 'web', image: IMAGE, ports: [{ containerPort: 8080 }],
      // The server starts only when the test says so, so "not Ready yet" holds however slow the machine is.
      command: ['sh', '-c', 'mkdir -p /www && echo ok > /www/index.html && while [ ! -f /tmp/start ]; do sleep 0.2; done; exec httpd -f -p 8080 -h /www'],
      readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
    }],
  }) });
  const early = await running('slow-web');
  expect(early.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
  await new Promise((r) => setTimeout(r, 2500)); // a few failed probes later, still not Ready
  expect((await getPod('slow-web')).status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
  expect((await execIn('slow-web', ['touch', '/tmp/start'])).exitCode).toBe(0);
  const ready = await waitFor('Ready', async () => {
    const p = await getPod('slow-web');
    return p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && p;
  });
  expect(ready.status?.containerStatuses?.[0].ready).toBe(true);
});

it('stops a deleted pod within its grace period and removes its containers', async () => {
  await sys().call('state.create', { object: pod('stubborn', {
    terminationGracePeriodSeconds: 2,
    containers: [{ name: 'app', image: IMAGE, command: ['sh', '-c', "trap '' TERM; while true; do sleep 1; done"] }],
  }) });
  await running('stubborn');
  const t0 = Date.now();
  await sys().call('state.delete', { kind: 'Pod', namespace: 'default', name: 'stubborn' });
  await waitFor('pod gone', async () => {
    try { await getPod('stubborn'); return false; } catch { return true; }
  }, 30_000);
  expect(Date.now() - t0).toBeLessThan(10_000);
  expect(await containersOf('stubborn')).toHaveLength(0);
});

it('adopts running containers after a kernel restart instead of duplicating them', async () => {
  await sys().call('state.create', { object: pod('survivor', { containers: [{ name: 'app', image: IMAGE, command: ['sleep', '3600'] }] }) });
  await running('survivor');
  const before = (await containersOf('survivor')).filter((c) => c.State === 'running').map((c) => c.Id).sort();
  // A container of a pod that no longer exists, left behind on this node.
  const orphan = await docker.createContainer({
    Image: IMAGE, Cmd: ['sleep', '3600'],
    Labels: { [RUNTIME_LABELS.managed]: 'true', [RUNTIME_LABELS.node]: 'test-node', [RUNTIME_LABELS.podUid]: 'gone-pod-uid', [RUNTIME_LABELS.podName]: 'gone', [RUNTIME_LABELS.podNamespace]: 'default', [RUNTIME_LABELS.container]: 'app', 'kern.io/runtime-role': 'container' },
  });
  await orphan.start();
  await kernel.shutdown();
  kernel = await boot();
  await waitFor('the orphan removed', async () => (await docker.listContainers({ all: true, filters: { id: [orphan.id] } })).length === 0, 30_000);
  await new Promise((r) => setTimeout(r, 3000));
  await running('survivor');
  const after = (await containersOf('survivor')).filter((c) => c.State === 'running').map((c) => c.Id).sort();
  expect(after).toEqual(before);
  const web = (await containersOf('web')).filter((c) => c.State === 'running');
  expect(web.filter((c) => c.Labels[RUNTIME_LABELS.container] === 'main')).toHaveLength(1);
});

/** Set KERN_TEST_LOG=1 to see the kernel's log while debugging a test. */
function consoleLogger(): typeof silentLogger {
  const log = (level: string) => (obj: object | string, msg?: string) => console.log(level, typeof obj === 'string' ? obj : `${msg ?? ''} ${JSON.stringify(obj)}`);
  const l: typeof silentLogger = { debug: () => undefined, info: log('info'), warn: log('warn'), error: log('error'), child: () => l };
  return l;
}
