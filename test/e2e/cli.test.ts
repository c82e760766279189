/**
 * End to end: the built `kern` binary as a user runs it. `kern up` on free
 * ports in a temp KERN_HOME, then apply, get (also --watch), describe,
 * delete, plugin list and version against it; a stale write over HTTP; a
 * bad manifest; SIGTERM; a restart on the same data dir.
 *
 * Needs the build (`npm test` runs scripts/setup.sh first, which runs tsc -b).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { removeContainersOfNode } from '../helpers/docker-cleanup';
import { runKernCli } from '../helpers/kern-cli';

jest.setTimeout(60_000);

const ROOT = resolve(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'kernel', 'cli', 'main.js');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'manifests');
const READY = /^Kern ready — API (http:\/\/\S+)(?: and (\S+))?, gRPC (\S+), data (.+) \(admin token in (.+)\)$/m;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Up {
  child: ChildProcess;
  api: string;
  grpc: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

let home: string;
let dataDir: string;
const children = new Set<ChildProcess>();
const NODE_NAME = `e2e-${process.pid}`;

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

function env(): NodeJS.ProcessEnv {
  const e = { ...process.env, KERN_HOME: home, NO_COLOR: '1' };
  for (const k of ['KERN_SERVER', 'KERN_TOKEN', 'KERN_DATA_DIR', 'KERN_PORT', 'KERN_GRPC_PORT', 'KERN_HOST']) delete e[k];
  return e;
}

/** Runs one `kern` command to its end. */
function kern(args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<Run> {
  return runKernCli(args, { ...options, env: env(), onSpawn: track });
}

async function waitFor(what: string, check: () => boolean, detail: () => string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `kern up` on free ports; resolves once the ready line is out. */
async function up(): Promise<Up> {
  const child = track(spawn(process.execPath, [CLI, 'up', '--data-dir', dataDir, '--port', '0', '--grpc-port', '0', '--log-level', 'warn', '--node-name', NODE_NAME], {
    env: env(),
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { err += d; });
  const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
  let gone = false;
  void exited.then(() => { gone = true; });
  await waitFor('the ready line of kern up', () => READY.test(out) || gone, () => `stdout: ${out}\nstderr: ${err}`, 30_000);
  if (gone) throw new Error(`kern up exited before it was ready\nstdout: ${out}\nstderr: ${err}`);
  const m = READY.exec(out)!;
  return { child, api: m[1], grpc: m[3], stdout: () => out, stderr: () => err, exited };
}

function adminToken(): string {
  return (JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')) as { token: string }).token;
}

async function api(server: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(server + path, {
    method,
    headers: { authorization: `Bearer ${adminToken()}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const storeVersion = (JSON.parse(readFileSync(join(ROOT, 'plugins', 'store-sqlite', 'package.json'), 'utf8')) as { version: string }).version;

describe('kern CLI end to end', () => {
  let kernel: Up;

  beforeAll(async () => {
    if (!existsSync(CLI)) {
      throw new Error(`${CLI} is missing: build first with "bash scripts/setup.sh" (or "npx tsc -b"); npm test does this for you`);
    }
    home = mkdtempSync(join(tmpdir(), 'kern-e2e-cli-'));
    dataDir = join(home, 'data');
    kernel = await up();
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    await removeContainersOfNode(NODE_NAME);
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('kern up reports the ports it really bound and writes a private client config', async () => {
    const [, http, socket, grpc, data, tokenFile] = READY.exec(kernel.stdout())!;
    expect(http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(http).not.toMatch(/:0$/);
    expect(grpc).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(grpc).not.toMatch(/:0$/);
    expect(data).toBe(dataDir);
    expect(tokenFile).toBe(join(home, 'config.json'));
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(tokenFile, 'utf8'))).toMatchObject({ server: http, grpc, socket });
    const health = await fetch(`${http}/healthz`);
    expect(health.status).toBe(200);
  });

  it('kern up also serves the API on a private Unix socket in the data dir, which the CLI uses', async () => {
    const socket = READY.exec(kernel.stdout())![2];
    expect(socket).toBe(join(dataDir, 'kern.sock'));
    expect(statSync(socket).isSocket()).toBe(true);
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    // With the TCP address in config.json pointing nowhere, the CLI still gets through: it went over the socket.
    const config = join(home, 'config.json');
    const saved = readFileSync(config, 'utf8');
    const parsed = JSON.parse(saved) as { server: string };
    try {
      writeFileSync(config, JSON.stringify({ ...parsed, server: 'http://127.0.0.1:1' }), { mode: 0o600 });
      const ns = await kern(['get', 'namespaces']);
      expect(ns.code).toBe(0);
      expect(ns.stdout).toMatch(/^default\s+Active/m);
    } finally {
      writeFileSync(config, saved, { mode: 0o600 });
    }
  });

  it('applies a Namespace and a Pod, and again without change', async () => {
    const file = join(FIXTURES, 'cli-demo.yaml');
    expect(await kern(['apply', '-f', file])).toEqual({ code: 0, stdout: 'namespace/cli-demo created\npod/web created\n', stderr: '' });
    expect(await kern(['apply', '-f', file])).toEqual({ code: 0, stdout: 'namespace/cli-demo unchanged\npod/web unchanged\n', stderr: '' });
  });

  it('get pods -A lists the pod in a table', async () => {
    const r = await kern(['get', 'pods', '-A']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    expect(lines).toContainEqual(expect.stringMatching(/^cli-demo\s+web\s+[01]\/1\s+(Pending|ContainerCreating|Running)\s+0\s+\d+s$/));
  });

  it('get resolves aliases and prints json, yaml and names', async () => {
    const list = JSON.parse((await kern(['get', 'po', '-n', 'cli-demo', '-o', 'json'])).stdout);
    expect(list).toMatchObject({ kind: 'List', items: [expect.objectContaining({ kind: 'Pod', metadata: expect.objectContaining({ name: 'web' }) })] });
    expect((await kern(['get', 'pod', 'web', '-n', 'cli-demo', '-o', 'yaml'])).stdout).toMatch(/^apiVersion: v1\nkind: Pod\n/);
    const ns = await kern(['get', 'ns']);
    expect(ns.stdout).toMatch(/^NAME\s+STATUS\s+AGE$/m);
    expect(ns.stdout).toMatch(/^cli-demo\s+Active\s+\S+$/m);
    expect((await kern(['get', 'namespaces', '-o', 'name'])).stdout.split('\n')).toEqual(expect.arrayContaining(['namespace/cli-demo', 'namespace/default']));
  });

  it('get pods --watch prints a change made meanwhile, and stops on Ctrl-C', async () => {
    const watch = track(spawn(process.execPath, [CLI, 'get', 'pods', '-n', 'cli-demo', '--watch'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    watch.stdout!.on('data', (d) => { out += d; });
    watch.stderr!.on('data', (d) => { err += d; });
    const exited = new Promise<number | null>((ok) => watch.on('exit', (code) => ok(code)));
    const detail = () => `stdout: ${out}\nstderr: ${err}`;
    await waitFor('the initial table', () => /^web\s+[01]\/1\s+\S+/m.test(out), detail);
    // The first table is printed before the watch request goes out; give it a moment.
    await new Promise((r) => setTimeout(r, 500));

    const worker = readFileSync(join(FIXTURES, 'cli-demo.yaml'), 'utf8').split('---\n')[1].replace('name: web', 'name: worker').replace('app: web', 'app: worker');
    expect(await kern(['apply', '-f', '-'], { input: worker })).toMatchObject({ code: 0, stdout: 'pod/worker created\n' });
    await waitFor('the watch to print the new pod', () => /^worker\s+[01]\/1\s+\S+\s+0\s+\d+s$/m.test(out), detail);

    watch.kill('SIGINT');
    expect(await exited).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    expect(lines.filter((l) => l.startsWith('NAME'))).toHaveLength(1);
    // Watch rows line up under the header of the first table.
    expect(lines.find((l) => l.startsWith('worker'))!.search(/[01]\/1/)).toBe(lines[0].indexOf('READY'));
  });

  it('an update with a stale resourceVersion gets 409 Conflict', async () => {
    const path = '/api/v1/namespaces/cli-demo/pods/web';
    const before = await api(kernel.api, 'GET', path);
    expect(before.status).toBe(200);
    const changed = readFileSync(join(FIXTURES, 'cli-demo.yaml'), 'utf8').split('---\n')[1].replace('app: web', 'app: web\n    tier: front');
    expect(await kern(['apply', '-f', '-'], { input: changed })).toMatchObject({ code: 0, stdout: 'pod/web configured\n' });

    const stale = { ...before.body, metadata: { ...before.body.metadata, labels: { app: 'stale' } } };
    const put = await api(kernel.api, 'PUT', path, stale);
    expect(put.status).toBe(409);
    expect(put.body).toMatchObject({ kind: 'Status', reason: 'Conflict', code: 409 });
    const after = await api(kernel.api, 'GET', path);
    expect(after.body.metadata.labels).toEqual({ app: 'web', tier: 'front' });
  });

  it('a manifest with a bad field fails naming the field, and nothing is stored', async () => {
    const file = join(FIXTURES, 'cli-bad-field.yaml');
    const r = await kern(['apply', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^error: pod\/bad \(.*cli-bad-field\.yaml:\d+\): spec\.containers\[0\]\.imag: /);
    expect(lines).toContain('  field: spec.containers[0].imag');
    expect(lines[lines.length - 1]).toBe('error: 1 of 1 object failed to apply: pod/bad');
    expect(r.stderr).not.toMatch(/\n\s+at /);

    const get = await kern(['get', 'pod', 'bad', '-n', 'cli-demo']);
    expect(get.code).toBe(1);
    expect(get.stderr).toMatch(/^error: .*not found/);
    expect((await api(kernel.api, 'GET', '/api/v1/namespaces/cli-demo/pods/bad')).status).toBe(404);
  });

  it('a YAML syntax error names the file and line', async () => {
    const r = await kern(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: Pod\nmetadata: {name: [\n' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: <stdin>:\d+:\d+: /);
  });

  it('describe shows the pod', async () => {
    const r = await kern(['describe', 'pod', 'web', '-n', 'cli-demo']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Name:\s+web$/m);
    expect(r.stdout).toMatch(/^Labels:\s+app=web\n\s+tier=front$/m);
    expect(r.stdout).toMatch(/^Containers:\n  main:\n(?:    .*\n)*?    Image:\s+kern\/busybox:1$/m);
  });

  it('delete removes an object by name', async () => {
    expect(await kern(['delete', 'pod', 'worker', '-n', 'cli-demo'])).toEqual({ code: 0, stdout: 'pod "worker" deleted\n', stderr: '' });
    expect((await kern(['get', 'pod', 'worker', '-n', 'cli-demo'])).code).toBe(1);
  });

  it('taint and cordon change the node; a bad taint is refused naming the problem', async () => {
    const taints = async () => (JSON.parse((await kern(['get', 'node', NODE_NAME, '-o', 'json'])).stdout) as { spec?: { taints?: unknown[]; unschedulable?: boolean } }).spec;
    expect(await kern(['taint', 'nodes', NODE_NAME, 'dedicated=gpu:NoSchedule', 'busy:PreferNoSchedule'])).toEqual({ code: 0, stdout: `node/${NODE_NAME} tainted\n`, stderr: '' });
    expect((await taints())?.taints).toEqual([{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }, { key: 'busy', effect: 'PreferNoSchedule' }]);
    const bad = await kern(['taint', 'nodes', NODE_NAME, 'dedicated=gpu:NoRun']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/the effect must be NoSchedule, PreferNoSchedule or NoExecute, got "NoRun"/);
    expect(await kern(['taint', 'nodes', NODE_NAME, 'dedicated-', 'busy:PreferNoSchedule-'])).toEqual({ code: 0, stdout: `node/${NODE_NAME} untainted\n`, stderr: '' });
    expect((await taints())?.taints).toEqual([]);
    expect(await kern(['cordon', NODE_NAME])).toEqual({ code: 0, stdout: `node/${NODE_NAME} cordoned\n`, stderr: '' });
    expect((await taints())?.unschedulable).toBe(true);
    expect(await kern(['uncordon', NODE_NAME])).toEqual({ code: 0, stdout: `node/${NODE_NAME} uncordoned\n`, stderr: '' });
    expect((await taints())?.unschedulable).toBeUndefined();
  });

  it('plugin list shows store-sqlite with its version', async () => {
    const r = await kern(['plugin', 'list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ID\s+VERSION\s+STATE\s+PROVIDES\s+DESCRIPTION$/m);
    expect(r.stdout).toMatch(new RegExp(`^store-sqlite\\s+${storeVersion.replace(/\./g, '\\.')}\\s+active\\s+store/sqlite\\s+`, 'm'));
  });

  it('refuses to unload the state store plugin while the kernel runs on it', async () => {
    const r = await api(kernel.api, 'DELETE', '/v1/plugins/store-sqlite');
    expect(r.status).toBe(412);
    expect(r.body.message).toMatch(/provides the state store \("sqlite"\) the kernel runs on/);
    expect((await kern(['get', 'pods', '-A'])).code).toBe(0);
  });

  it('version prints client and server versions', async () => {
    const r = await kern(['version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Client Version: v\d+\.\d+\.\d+/m);
    expect(r.stdout).toMatch(/^Server Version: v\d+\.\d+\.\d+/m);
  });

  it('SIGTERM makes kern up shut down and exit 0', async () => {
    kernel.child.kill('SIGTERM');
    expect(await kernel.exited).toBe(0);
    const r = await kern(['get', 'pods', '-A']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: cannot reach Kern at ${kernel.api}: is \`kern up\` running?\n`);
  });

  it('a restart on the same data dir keeps the objects', async () => {
    kernel = await up();
    const r = await kern(['get', 'pods', '-A']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^cli-demo\s+web\s+[01]\/1\s+(Pending|ContainerCreating|Running)/m);
    expect(r.stdout).not.toMatch(/worker/);
    const pod = await api(kernel.api, 'GET', '/api/v1/namespaces/cli-demo/pods/web');
    expect(pod.body.metadata.labels).toEqual({ app: 'web', tier: 'front' });
    kernel.child.kill('SIGTERM');
    expect(await kernel.exited).toBe(0);
  });
});
