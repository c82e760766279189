import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelError, isKernelError, silentLogger } from '@kern/sdk';
import { DriverSupervisor, SupervisedDriver, SupervisorOptions, SupervisorStatus } from './driver-supervisor';

// The driver below runs the compiled sdk, as a third-party driver would (npx tsc -b first).
const SDK_DIST = join(__dirname, '../../../sdk/dist/index.js');

/** A tiny runtime driver: healthy until a file named `unhealthy` appears next to its socket. */
const DRIVER_SCRIPT = `
const { existsSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { serveDriver } = require(${JSON.stringify(SDK_DIST)});
const socketPath = process.env.KERN_DRIVER_SOCKET;
serveDriver({
  kind: 'runtime', name: 'tiny', socketPath, capabilities: {},
  driver: { info: async () => ({ name: 'tiny', version: '1', capabilities: {} }) },
  health: () => (existsSync(join(dirname(socketPath), 'unhealthy')) ? 'told to be unhealthy' : undefined),
});
`;

const FAST: Partial<SupervisorOptions> = {
  startTimeoutMs: 5000, healthIntervalMs: 100, healthTimeoutMs: 500, healthFailureThreshold: 2, stopGraceMs: 2000,
  restart: { initialDelayMs: 100, maxDelayMs: 1000, resetAfterMs: 600 },
};

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v as T;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('DriverSupervisor', () => {
  let dir: string;
  let supervisors: DriverSupervisor[];

  beforeAll(() => {
    if (!existsSync(SDK_DIST)) throw new Error(`build the sdk first (npx tsc -b): ${SDK_DIST} is missing`);
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kern-sup-'));
    writeFileSync(join(dir, 'driver.js'), DRIVER_SCRIPT);
    supervisors = [];
  });
  afterEach(async () => {
    for (const s of supervisors) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function supervise(over: Partial<SupervisedDriver> = {}): DriverSupervisor {
    const socketPath = join(dir, 'driver.sock');
    const s = new DriverSupervisor({
      pluginId: 'tiny-plugin', kind: 'runtime', name: 'tiny', socketPath, logFile: join(dir, 'driver.log'), kernelVersion: '0.0.0',
      command: { file: process.execPath, args: ['driver.js'], cwd: dir, env: { ...process.env, KERN_DRIVER_SOCKET: socketPath } },
      ...over,
    }, silentLogger, FAST);
    supervisors.push(s);
    return s;
  }

  const waitForState = (s: DriverSupervisor, wanted: (st: SupervisorStatus) => boolean, what: string) => until(what, () => {
    const st = s.status();
    return wanted(st) && st;
  });

  it('restarts a driver that keeps failing its health checks', async () => {
    const s = supervise();
    await s.start();
    const first = s.status().pid;
    writeFileSync(join(dir, 'unhealthy'), '');
    const restarting = await waitForState(s, (st) => st.state === 'restarting', 'the health checks to fail');
    expect(restarting.lastExit).toBe('failed 2 health checks in a row (driver reports NOT_SERVING: told to be unhealthy)');
    rmSync(join(dir, 'unhealthy'));
    const back = await waitForState(s, (st) => st.state === 'running', 'the restart');
    expect(back.pid).not.toBe(first);
    expect(back.restarts).toBe(1);
  });

  it('starts the back-off over after a healthy period', async () => {
    const s = supervise();
    await s.start();
    process.kill(s.status().pid!, 'SIGKILL');
    expect((await waitForState(s, (st) => st.state === 'restarting', 'a crash')).attempt).toBe(1);
    await waitForState(s, (st) => st.state === 'running', 'the restart');
    process.kill(s.status().pid!, 'SIGKILL');
    expect((await waitForState(s, (st) => st.state === 'restarting', 'a second crash')).attempt).toBe(2);
    await waitForState(s, (st) => st.state === 'running', 'the second restart');
    await new Promise((r) => setTimeout(r, 700)); // longer than resetAfterMs
    process.kill(s.status().pid!, 'SIGKILL');
    expect((await waitForState(s, (st) => st.state === 'restarting', 'a crash after a healthy period')).attempt).toBe(1);
  });

  it('keeps retrying, with growing waits, while the driver cannot start', async () => {
    const s = supervise();
    await s.start();
    rmSync(join(dir, 'driver.js'));
    process.kill(s.status().pid!, 'SIGKILL');
    const failing = await waitForState(s, (st) => st.attempt >= 3, 'failed restarts');
    expect(failing.lastExit).toMatch(/^failed to restart: runtime driver "tiny" of plugin tiny-plugin exited with code 1 before answering the handshake; the last lines of its stderr:/);
    expect(s.status().state).not.toBe('running');
    writeFileSync(join(dir, 'driver.js'), DRIVER_SCRIPT);
    await waitForState(s, (st) => st.state === 'running', 'recovery once the driver can start again');
  });

  it('refuses a command that cannot be started, naming it', async () => {
    const s = supervise({ command: { file: join(dir, 'no-such-driver'), args: [], cwd: dir, env: process.env } });
    const err = await s.start().catch((e: unknown) => e);
    expect(isKernelError(err)).toBe(true);
    expect((err as KernelError).kind).toBe('FailedPrecondition');
    expect((err as KernelError).message).toMatch(/runtime driver "tiny" of plugin tiny-plugin could not be started: spawn .*no-such-driver ENOENT$/);
  });
});
