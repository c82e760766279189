/**
 * Out-of-process drivers on the real Docker engine: the Docker runtime
 * driver served by a separate node process (test/fixtures/oop-driver, on the
 * compiled sdk and runtime-docker: run `npx tsc -b` first).
 *
 * - the runtime conformance suite through RuntimeDriverProxy;
 * - the kernel's supervision: activation through the plugin host, restart
 *   with back-off after kill -9 (containers keep running), refusals of a
 *   driver that exits at once, never answers, or names another driver,
 *   and the manifest's syscall list enforced on the driver's kernel socket;
 * - the cost of a call through the proxy next to a direct one (printed).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { container as rootContainer } from 'tsyringe';
import {
  KERNEL_ABI_VERSION, KernelError, Logger, RuntimeDriver, connectDriver, isKernelError, silentLogger,
} from '@kern/sdk';
import { CONFORMANCE_RUN_LABEL, describeRuntimeConformance } from '@kern/sdk/testing';
import { KernelDriverRegistry } from '../../kernel/drivers/driver-registry';
import { readManifest } from '../../kernel/plugins/manifest';
import { SupervisorStatus } from '../../kernel/plugins/out-of-process/driver-supervisor';
import { ActivePlugin, PluginHostOptions, activatePlugin, deactivatePlugin } from '../../kernel/plugins/plugin-host';
import { PluginManager } from '../../kernel/plugins/plugin-manager';
import { SyscallTable } from '../../kernel/syscalls/syscall-table';
import { DockerRuntimeDriver } from '../../plugins/runtime-docker/src/docker-runtime-driver';
import { percentile } from '../bench/stats';

jest.setTimeout(120_000);

const FIXTURE = join(__dirname, '../fixtures/oop-driver');
const BUILT = [join(__dirname, '../../sdk/dist/oop/driver-server.js'), join(__dirname, '../../plugins/runtime-docker/dist/index.js')];
const IMAGE = 'kern/busybox:1';
const TEST_LABEL = 'kern.io/oop-test-run';
const testRun = `oop-${randomBytes(4).toString('hex')}`;
const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

beforeAll(() => {
  const missing = BUILT.filter((f) => !existsSync(f));
  if (missing.length > 0) throw new Error(`the fixture driver runs compiled code: build first (npx tsc -b); missing ${missing.join(', ')}`);
});

afterAll(async () => {
  await removeLabelled(`${TEST_LABEL}=${testRun}`);
});

/** Removes every container carrying `label`, sandboxes last. */
async function removeLabelled(label: string): Promise<void> {
  const found = await docker.listContainers({ all: true, filters: { label: [label] } });
  const sandboxesLast = [...found].sort((a, b) =>
    Number(a.Labels['kern.io/runtime-role'] === 'sandbox') - Number(b.Labels['kern.io/runtime-role'] === 'sandbox'));
  for (const c of sandboxesLast) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
}

async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 10): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as T;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

async function rejection(p: Promise<unknown>): Promise<KernelError> {
  try {
    await p;
  } catch (e) {
    if (isKernelError(e)) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const pidsIn = (dataDir: string): number[] =>
  existsSync(join(dataDir, 'pids')) ? readFileSync(join(dataDir, 'pids'), 'utf8').split('\n').filter(Boolean).map(Number) : [];

// ---- (a) the conformance suite through the proxy --------------------------

/** Starts the fixture by hand (no kernel) and connects to it as a conformance tool would. */
async function startFixtureProcess(): Promise<{ driver: RuntimeDriver; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'kern-oopc-'));
  const socket = join(dir, 'driver.sock');
  const child: ChildProcess = spawn(process.execPath, ['main.js'], {
    cwd: FIXTURE, env: { ...process.env, KERN_DRIVER_SOCKET: socket, KERN_PLUGIN_DATA_DIR: dir }, stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await until('the fixture socket', () => existsSync(socket) || child.exitCode !== null, 15_000);
  const connected = await connectDriver(socket);
  return {
    driver: connected.driver,
    stop: async () => {
      connected.close();
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeRuntimeConformance('docker, out of process', async () => {
  const fixture = await startFixtureProcess();
  return {
    driver: fixture.driver,
    image: IMAGE,
    cleanup: async () => {
      await removeLabelled(CONFORMANCE_RUN_LABEL);
      await fixture.stop();
    },
  };
});

// ---- (b) supervision --------------------------------------------------------

/** A logger that keeps each line with the bindings of its child, to check where driver output goes. */
class CapturingLogger implements Logger {
  constructor(readonly lines: { bindings: Record<string, unknown>; obj: unknown; msg?: string }[] = [], private readonly bindings: Record<string, unknown> = {}) {}
  debug(obj: object | string, msg?: string): void { this.lines.push({ bindings: this.bindings, obj, msg }); }
  info(obj: object | string, msg?: string): void { this.lines.push({ bindings: this.bindings, obj, msg }); }
  warn(obj: object | string, msg?: string): void { this.lines.push({ bindings: this.bindings, obj, msg }); }
  error(obj: object | string, msg?: string): void { this.lines.push({ bindings: this.bindings, obj, msg }); }
  child(bindings: Record<string, unknown>): Logger { return new CapturingLogger(this.lines, { ...this.bindings, ...bindings }); }
}

describe('supervised out-of-process driver', () => {
  let tmp: string;
  let dataDir: string;
  let pluginDir: string;
  let drivers: KernelDriverRegistry;
  let syscalls: SyscallTable;
  let logger: CapturingLogger;
  let host: PluginHostOptions;
  const actives: ActivePlugin[] = [];

  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'kern-oop-'));
    dataDir = join(tmp, 'data');
    pluginDir = join(dataDir, 'plugins', 'oop-docker');
    drivers = new KernelDriverRegistry();
    syscalls = new SyscallTable();
    // The one syscall the fixture's manifest allows answers with who called.
    syscalls.register('state.get', async (args, caller) => ({ caller: caller.principal, args }));
    logger = new CapturingLogger();
    host = { root: rootContainer.createChildContainer(), drivers, syscalls, logger, dataDir };
  });

  afterEach(async () => {
    for (const active of actives.splice(0)) await deactivatePlugin(active).catch(() => undefined);
    for (const pid of pidsIn(pluginDir)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  });

  async function activate(config: Record<string, unknown> = {}, over: Partial<PluginHostOptions> = {}): Promise<ActivePlugin> {
    const active = await activatePlugin(readManifest(FIXTURE), FIXTURE, config, { ...host, ...over });
    actives.push(active);
    return active;
  }

  const statusOf = (active: ActivePlugin): SupervisorStatus => active.driverProcess!()!;

  it('activates, registers a working proxy, sends the driver\'s output to the log, and stops it on deactivation', async () => {
    const active = await activate();
    const status = statusOf(active);
    expect(status).toMatchObject({ state: 'running', restarts: 0, attempt: 0, driverVersion: '1.0.0-fixture' });
    expect(alive(status.pid!)).toBe(true);
    expect(drivers.list('runtime')).toEqual([{ name: 'docker-oop', plugin: 'oop-docker' }]);

    const runtime = drivers.get<RuntimeDriver>('runtime', 'docker-oop');
    expect((await runtime.info()).capabilities.exec).toBe(true);
    expect(typeof runtime.watchEvents).toBe('function');
    expect(typeof runtime.importImage).toBe('function');
    expect((await rejection(runtime.inspectContainer('no-such-container'))).kind).toBe('NotFound');

    for (const sock of ['driver.sock', 'kernel.sock']) expect(statSync(join(pluginDir, sock)).mode & 0o777).toBe(0o600);
    await until('the driver\'s stdout in the kernel log', () =>
      logger.lines.find((l) => l.bindings.plugin === 'oop-docker' && l.msg?.startsWith('fixture: serving on')));
    expect(readFileSync(join(pluginDir, 'driver.log'), 'utf8')).toMatch(/stdout fixture: serving on/);

    await deactivatePlugin(actives.pop()!);
    expect(alive(status.pid!)).toBe(false);
    expect(drivers.list('runtime')).toEqual([]);
    expect(existsSync(join(pluginDir, 'driver.sock'))).toBe(false);
    expect(existsSync(join(pluginDir, 'kernel.sock'))).toBe(false);
    expect((await rejection(runtime.info())).message).toMatch(/runtime driver "docker-oop" is stopped/);
  });

  it('restarts a driver killed with SIGKILL with back-off; its containers keep running and calls work again', async () => {
    const active = await activate();
    const runtime = drivers.get<RuntimeDriver>('runtime', 'docker-oop');
    const labels = { [TEST_LABEL]: testRun };
    const sandbox = await runtime.createSandbox({ podUid: `oop-${randomBytes(4).toString('hex')}`, podName: 'oop-kill', podNamespace: 'oop-test', labels });
    const id = await runtime.createContainer(sandbox.id, { name: 'main', image: IMAGE, command: ['sleep', '3600'], labels });
    await runtime.startContainer(id);
    const startedAt = (await docker.getContainer(id).inspect()).State.StartedAt;

    for (const attempt of [1, 2]) {
      const before = statusOf(active);
      process.kill(before.pid!, 'SIGKILL');
      const restarting = await until('the supervisor to notice', () => {
        const s = statusOf(active);
        return s.state === 'restarting' && s;
      });
      // The back-off doubles: 0.5 s, then 1 s (it ran for less than the reset period).
      expect(Date.parse(restarting.nextRestartAt!) - Date.parse(restarting.lastExitAt!)).toBe(attempt * 500);
      // While it is down, calls fail at once, saying when it comes back.
      const err = await rejection(runtime.inspectContainer(id));
      expect(err.kind).toBe('Unavailable');
      expect(err.message).toMatch(new RegExp(`runtime driver "docker-oop" is restarting \\(attempt ${attempt}, (next in \\d+\\.\\ds|starting now)\\)`));

      const back = await until('the driver to be back', () => runtime.inspectContainer(id).catch(() => undefined), 30_000, 50);
      expect(back.state).toBe('running');
      const after = statusOf(active);
      expect(after).toMatchObject({ state: 'running', restarts: attempt, attempt, lastExit: 'was killed by SIGKILL' });
      expect(after.pid).not.toBe(before.pid);
      expect(alive(before.pid!)).toBe(false);
    }
    // Docker never restarted the container: the driver's death did not touch it.
    const inspected = await docker.getContainer(id).inspect();
    expect(inspected.State.Running).toBe(true);
    expect(inspected.State.StartedAt).toBe(startedAt);
    expect((await runtime.listContainers(labels)).map((c) => c.id)).toEqual([id]);
  });

  it('keeps delivering runtime events after a restart', async () => {
    const active = await activate();
    const runtime = drivers.get<RuntimeDriver>('runtime', 'docker-oop');
    const seen: string[] = [];
    const subscription = runtime.watchEvents!((e) => seen.push(`${e.type}:${e.containerId}`));
    try {
      process.kill(statusOf(active).pid!, 'SIGKILL');
      await until('the driver to be back', () => statusOf(active).state === 'running' && statusOf(active).restarts === 1);
      const labels = { [TEST_LABEL]: testRun };
      const sandbox = await runtime.createSandbox({ podUid: `oop-${randomBytes(4).toString('hex')}`, podName: 'oop-events', podNamespace: 'oop-test', labels });
      // The proxy subscribes again within about a second; containers started until then are missed.
      const started: string[] = [];
      await until('an event from the restarted driver', async () => {
        const id = await runtime.createContainer(sandbox.id, { name: `c${started.length}`, image: IMAGE, command: ['true'], labels });
        started.push(id);
        await runtime.startContainer(id);
        await sleep(300);
        return started.some((c) => seen.includes(`start:${c}`));
      }, 20_000, 0);
    } finally {
      await subscription.dispose();
    }
  });

  it('fails activation of a driver that exits at once, with its stderr, leaving no process or socket', async () => {
    const err = await rejection(activate({ mode: 'exit-at-once' }));
    expect(err.kind).toBe('FailedPrecondition');
    expect(err.message).toContain('plugin oop-docker failed to activate: runtime driver "docker-oop" of plugin oop-docker exited with code 3 before answering the handshake');
    expect(err.message).toContain('the last lines of its stderr:\n  fixture: starting in mode exit-at-once\n  fixture: giving up before serving, as asked');
    const pids = pidsIn(pluginDir);
    expect(pids).toHaveLength(1);
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(join(pluginDir, 'driver.sock'))).toBe(false);
    expect(existsSync(join(pluginDir, 'kernel.sock'))).toBe(false);
    expect(drivers.list('runtime')).toEqual([]);
  });

  it('fails activation of a driver that never answers the handshake, and kills it', async () => {
    const err = await rejection(activate({ mode: 'never-serve' }, { activationTimeoutMs: 3000 }));
    expect(err.kind).toBe('DeadlineExceeded');
    expect(err.message).toMatch(/did not answer the handshake on .*driver\.sock within 1000 ms; the last lines of its stderr:\n {2}fixture: running without serving, as asked/);
    await until('the driver process to be gone', () => pidsIn(pluginDir).filter(alive).length === 0, 5000);
    expect(drivers.list('runtime')).toEqual([]);
  });

  it('refuses a driver whose handshake names another driver than the manifest', async () => {
    const err = await rejection(activate({ announceName: 'not-the-manifest' }));
    expect(err.kind).toBe('FailedPrecondition');
    expect(err.message).toContain('announced runtime driver "not-the-manifest" in its handshake, but the manifest provides runtime driver "docker-oop" (kern.provides)');
    expect(err.field).toBe('kern.provides');
    expect(pidsIn(pluginDir).filter(alive)).toEqual([]);
    expect(drivers.list('runtime')).toEqual([]);
  });

  it('enforces the manifest\'s syscalls on the driver\'s kernel socket', async () => {
    await activate({ probeSyscalls: true });
    const probe = JSON.parse(readFileSync(join(pluginDir, 'syscalls.json'), 'utf8'));
    expect(probe.allowed).toEqual({ ok: true, result: { caller: 'plugin:oop-docker', args: { kind: 'Namespace', name: 'default' } } });
    expect(probe.forbidden).toMatchObject({ ok: false, kind: 'Forbidden' });
    expect(probe.forbidden.message).toContain('plugin:oop-docker may not call state.list');
  });

  it('runs through the plugin manager: active, then unloaded with its process gone', async () => {
    const manager = new PluginManager({
      root: rootContainer.createChildContainer(), drivers, syscalls, logger: silentLogger, dataDir, kernelVersion: KERNEL_ABI_VERSION, pluginConfig: {},
    });
    await manager.discover([{ dir: FIXTURE, builtin: false }]);
    await manager.activate(['oop-docker']);
    expect(manager.get('oop-docker')?.state).toBe('active');
    const [pid] = pidsIn(pluginDir);
    expect(alive(pid)).toBe(true);
    await manager.unload('oop-docker');
    expect(alive(pid)).toBe(false);
    expect(drivers.list('runtime')).toEqual([]);
  });
});

// ---- (c) cost of a call through the proxy -----------------------------------

describe('call cost through the proxy (printed, not asserted)', () => {
  it('measures inspectContainer and info, proxy vs direct', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'kern-oopm-'));
    const registry = new KernelDriverRegistry();
    const active = await activatePlugin(readManifest(FIXTURE), FIXTURE, {}, {
      root: rootContainer.createChildContainer(), drivers: registry, syscalls: new SyscallTable(), logger: silentLogger, dataDir: join(tmp, 'data'),
    });
    const direct = new DockerRuntimeDriver();
    try {
      const proxy = registry.get<RuntimeDriver>('runtime', 'docker-oop');
      const labels = { [TEST_LABEL]: testRun };
      const sandbox = await direct.createSandbox({ podUid: `oop-${randomBytes(4).toString('hex')}`, podName: 'oop-measure', podNamespace: 'oop-test', labels });
      const id = await direct.createContainer(sandbox.id, { name: 'main', image: IMAGE, command: ['sleep', '3600'], labels });
      await direct.startContainer(id);

      const measure = async (call: () => Promise<unknown>, n: number) => {
        for (let i = 0; i < 20; i++) await call(); // warm-up: connections, JIT
        const times: number[] = [];
        const started = process.hrtime.bigint();
        for (let i = 0; i < n; i++) {
          const t = process.hrtime.bigint();
          await call();
          times.push(Number(process.hrtime.bigint() - t) / 1e6);
        }
        const totalMs = Number(process.hrtime.bigint() - started) / 1e6;
        times.sort((a, b) => a - b);
        return { perSecond: (n / totalMs) * 1000, p50: percentile(times, 50), p99: percentile(times, 99) };
      };
      const rows = [
        ['inspectContainer, direct', await measure(() => direct.inspectContainer(id), 300)],
        ['inspectContainer, proxy', await measure(() => proxy.inspectContainer(id), 300)],
        ['info, direct (cached)', await measure(() => direct.info(), 2000)],
        ['info, proxy', await measure(() => proxy.info(), 2000)],
      ] as const;
      const table = [
        'call                          calls/s   p50 ms   p99 ms',
        ...rows.map(([name, r]) => `${name.padEnd(28)}${r.perSecond.toFixed(0).padStart(9)}${r.p50.toFixed(3).padStart(9)}${r.p99.toFixed(3).padStart(9)}`),
      ].join('\n');
      console.log(`out-of-process driver call cost (sequential, one caller):\n${table}`);
    } finally {
      direct.close();
      await deactivatePlugin(active);
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
