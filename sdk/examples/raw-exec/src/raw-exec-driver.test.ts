import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync } from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  ContainerSpec, Disposable, DriverRegistry, PluginContext, PluginManifest, RUNTIME_LABELS, RuntimeDriver, SandboxStatus,
  connectDriver, isKernelError, silentLogger,
} from '@kern/sdk';
import { describeRuntimeConformance } from '@kern/sdk/testing';
import { parseConfig } from './config';
import { LOST_EXIT_CODE } from './container-status';
import { RawExecRuntimeDriver } from './driver';
import plugin, { createConformanceTarget, removeEverything } from './index';
import { offsetOfLastLines } from './log-file-stream';
import { readProcessStat } from './process-table';

// ---- the sdk's conformance suite, in process ----

describeRuntimeConformance('raw-exec', () => createConformanceTarget());

// ---- raw-exec specifics ----

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function failureOf(p: Promise<unknown>): Promise<{ kind: string; message: string; field?: string }> {
  try {
    await p;
  } catch (e) {
    if (isKernelError(e)) return { kind: e.kind, message: e.message, field: e.field };
    return { kind: `not a KernelError: ${String(e)}`, message: String(e) };
  }
  return { kind: 'no error', message: '' };
}

function readAll(stream: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.on('data', (d: Buffer | string) => { text += d.toString(); });
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

async function waitExited(driver: RuntimeDriver, id: string) {
  return waitFor(`container ${id} to exit`, async () => {
    const info = await driver.inspectContainer(id);
    return info.state === 'exited' ? info : undefined;
  });
}

describe('RawExecRuntimeDriver', () => {
  // realpath: /tmp may be a symlink, and pwd prints the real path.
  const stateDir = realpathSync(mkdtempSync(join(tmpdir(), 'raw-exec-test-')));
  const driver = new RawExecRuntimeDriver({ stateDir });
  let pods = 0;

  async function newSandbox(d: RuntimeDriver = driver): Promise<SandboxStatus> {
    pods += 1;
    return d.createSandbox({ podUid: `raw-exec-test-${pods}`, podName: `pod-${pods}`, podNamespace: 'test' });
  }

  async function run(sandbox: SandboxStatus, spec: Partial<ContainerSpec>, d: RuntimeDriver = driver): Promise<string> {
    const id = await d.createContainer(sandbox.id, { name: 'main', image: 'host', ...spec });
    await d.startContainer(id);
    return id;
  }

  async function output(sandbox: SandboxStatus, spec: Partial<ContainerSpec>): Promise<string> {
    const id = await run(sandbox, spec);
    await waitExited(driver, id);
    return readAll(await driver.logs(id));
  }

  afterAll(async () => {
    await removeEverything(driver);
    await rm(stateDir, { recursive: true, force: true });
  });

  describe('config', () => {
    it('fills in the documented defaults', () => {
      expect(parseConfig({}, '/var/lib/x')).toEqual({
        stateDir: '/var/lib/x', busyboxPath: '/bin/busybox', defaultPath: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      });
      expect(parseConfig({ busyboxPath: false, stateDir: '/srv/raw' }, '/x')).toMatchObject({ busyboxPath: false, stateDir: '/srv/raw' });
    });

    it.each([
      [{ stateDir: 'relative' }, 'plugins.runtime-raw-exec.stateDir'],
      [{ busyboxPath: 42 }, 'plugins.runtime-raw-exec.busyboxPath'],
      [{ busyboxPath: true }, 'plugins.runtime-raw-exec.busyboxPath'],
      [{ defaultPath: '' }, 'plugins.runtime-raw-exec.defaultPath'],
      [{ statedir: '/x' }, 'plugins.runtime-raw-exec.statedir'],
    ])('rejects %j with Invalid naming %s', async (config, field) => {
      expect(await failureOf((async () => parseConfig(config as Record<string, unknown>, '/x'))())).toMatchObject({ kind: 'Invalid', field });
    });

    it('a missing busybox fails prepare with FailedPrecondition and what to do', async () => {
      const broken = new RawExecRuntimeDriver({ stateDir, busyboxPath: '/nonexistent/busybox' });
      const failure = await failureOf(broken.prepare());
      expect(failure).toMatchObject({ kind: 'FailedPrecondition', field: 'plugins.runtime-raw-exec.busyboxPath' });
      expect(failure.message).toContain('busybox-static');
    });
  });

  describe('environment', () => {
    it('puts the busybox applets first on PATH', async () => {
      const sandbox = await newSandbox();
      const text = await output(sandbox, { command: ['sh', '-c', 'echo "$PATH"; readlink "$(which nc)"'], env: { PATH: '/usr/bin:/bin' } });
      const [path, nc] = text.trim().split('\n');
      expect(path).toMatch(new RegExp(`^${stateDir}/applets/[0-9a-f]+:/usr/bin:/bin$`));
      expect(nc).toBe('/bin/busybox');
    });

    it('without busybox the PATH is the host\'s', async () => {
      const plain = new RawExecRuntimeDriver({ stateDir, busyboxPath: false });
      const sandbox = await newSandbox(plain);
      const id = await run(sandbox, { command: ['/bin/sh', '-c', 'echo "$PATH"'] }, plain);
      await waitExited(plain, id);
      expect(await readAll(await plain.logs(id))).toBe('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n');
    });

    it('gives the spec\'s env, args and working dir, the sandbox\'s dirs by default, and nothing of the driver\'s environment', async () => {
      process.env.RAW_EXEC_TEST_SECRET = 'must-not-leak';
      try {
        const sandbox = await newSandbox();
        const text = await output(sandbox, {
          command: ['sh', '-c'], args: ['echo "$GREETING|$HOME|$TMPDIR|$HOSTNAME|${RAW_EXEC_TEST_SECRET:-unset}"; pwd'], env: { GREETING: 'hello there' },
        });
        const work = join(stateDir, 'sandboxes', sandbox.id, 'work');
        expect(text).toBe(`hello there|${work}|${join(stateDir, 'sandboxes', sandbox.id, 'tmp')}|pod-${pods}|unset\n${work}\n`);
        const elsewhere = await output(sandbox, { name: 'other', command: ['pwd'], workingDir: '/tmp' });
        expect(elsewhere).toBe(`${realpathSync('/tmp')}\n`);
      } finally {
        delete process.env.RAW_EXEC_TEST_SECRET;
      }
    });
  });

  describe('spec checks', () => {
    it.each([
      [{ command: [] }, 'command'],
      [{ image: '' }, 'image'],
      [{ name: '' }, 'name'],
      [{ workingDir: 'relative' }, 'workingDir'],
      [{ mounts: [{ hostPath: '/srv/data', containerPath: '/data' }] }, 'mounts[0].containerPath'],
      [{ mounts: [{ hostPath: 'data', containerPath: 'data' }] }, 'mounts[0].hostPath'],
    ])('createContainer with %j fails with Invalid naming %s', async (bad, field) => {
      const sandbox = await newSandbox();
      const failure = await failureOf(driver.createContainer(sandbox.id, { name: 'main', image: 'host', command: ['true'], ...bad }));
      expect(failure).toMatchObject({ kind: 'Invalid', field });
    });

    it('accepts a mount of a host path at the same path', async () => {
      const sandbox = await newSandbox();
      const id = await driver.createContainer(sandbox.id, {
        name: 'main', image: 'host', command: ['true'], mounts: [{ hostPath: stateDir, containerPath: `${stateDir}/` }],
      });
      expect((await driver.inspectContainer(id)).state).toBe('created');
    });

    it('a missing working dir fails the start with FailedPrecondition', async () => {
      const sandbox = await newSandbox();
      const id = await driver.createContainer(sandbox.id, { name: 'main', image: 'host', command: ['true'], workingDir: '/nonexistent/dir' });
      expect(await failureOf(driver.startContainer(id))).toMatchObject({ kind: 'FailedPrecondition', field: 'workingDir' });
    });
  });

  describe('lifecycle', () => {
    it('a program that does not exist exits with 127 and says so in the log', async () => {
      const sandbox = await newSandbox();
      const id = await run(sandbox, { command: ['no-such-program-here'] });
      expect((await waitExited(driver, id)).exitCode).toBe(127);
      expect(await readAll(await driver.logs(id))).toContain('no-such-program-here');
    });

    it('starting a running container does nothing; starting an exited one is FailedPrecondition', async () => {
      const sandbox = await newSandbox();
      const running = await run(sandbox, { command: ['sleep', '3600'] });
      await driver.startContainer(running);
      expect((await driver.inspectContainer(running)).state).toBe('running');
      const done = await run(sandbox, { name: 'done', command: ['true'] });
      await waitExited(driver, done);
      expect((await failureOf(driver.startContainer(done))).kind).toBe('FailedPrecondition');
    });

    it('the main process leads its own session, apart from the driver\'s, and its leftovers die with it', async () => {
      const sandbox = await newSandbox();
      const id = await run(sandbox, { command: ['sh', '-c', 'sleep 3600 & echo $! > child.pid; sleep 0.3'] });
      const pid = Number(await readFile(join(stateDir, 'containers', id, 'pid'), 'utf8'));
      expect(readProcessStat(pid)?.session).toBe(pid);
      expect(readProcessStat(process.pid)?.session).not.toBe(pid);
      await waitExited(driver, id);
      const leftover = Number(await readFile(join(stateDir, 'sandboxes', sandbox.id, 'work', 'child.pid'), 'utf8'));
      await waitFor('the background sleep to be killed', async () => (readProcessStat(leftover)?.state ?? 'Z') === 'Z' || undefined);
    });

    it('removeSandbox kills and removes the containers still in it', async () => {
      const sandbox = await newSandbox();
      const id = await run(sandbox, { command: ['sleep', '3600'] });
      const pid = Number(await readFile(join(stateDir, 'containers', id, 'pid'), 'utf8'));
      await driver.removeSandbox(sandbox.id);
      expect((await failureOf(driver.inspectContainer(id))).kind).toBe('NotFound');
      await waitFor('the process to be gone', async () => (readProcessStat(pid)?.state ?? 'Z') === 'Z' || undefined);
    });

    it('createContainer in an unknown sandbox and calls on malformed ids fail with NotFound', async () => {
      expect((await failureOf(driver.createContainer('0123456789abcdef', { name: 'main', image: 'host', command: ['true'] }))).kind).toBe('NotFound');
      expect((await failureOf(driver.inspectContainer('../../etc'))).kind).toBe('NotFound');
      expect((await failureOf(driver.logs('../../etc'))).kind).toBe('NotFound');
      await driver.removeContainer('../../etc');
      await driver.removeSandbox('../../etc');
    });
  });

  describe('restarts', () => {
    it('a new driver instance learns the exit code of a container that ended while none was looking', async () => {
      const first = new RawExecRuntimeDriver({ stateDir });
      const sandbox = await newSandbox(first);
      const id = await run(sandbox, { command: ['sh', '-c', 'sleep 0.5; exit 5'] }, first);
      expect((await first.inspectContainer(id)).state).toBe('running');
      await sleep(1000);
      const second = new RawExecRuntimeDriver({ stateDir });
      const info = await second.inspectContainer(id);
      expect(info).toMatchObject({ state: 'exited', exitCode: 5 });
      expect(Date.parse(info.finishedAt!) - Date.parse(info.startedAt!)).toBeGreaterThanOrEqual(400);
    });

    it('a container whose shim was killed keeps running; its lost exit status is reported as 255', async () => {
      const sandbox = await newSandbox();
      const id = await run(sandbox, { command: ['sleep', '3600'] });
      const launch = JSON.parse(await readFile(join(stateDir, 'containers', id, 'launch.json'), 'utf8')) as { shimPid: number };
      const pid = Number(await readFile(join(stateDir, 'containers', id, 'pid'), 'utf8'));
      process.kill(launch.shimPid, 'SIGKILL');
      await waitFor('the shim to be gone', async () => (readProcessStat(launch.shimPid)?.state ?? 'Z') === 'Z' || undefined);
      expect((await driver.inspectContainer(id)).state).toBe('running');
      process.kill(pid, 'SIGKILL');
      const info = await waitExited(driver, id);
      expect(info.exitCode).toBe(LOST_EXIT_CODE);
      expect(await readAll(await driver.logs(id))).toContain('exit status of this container was lost');
    });

    const mainJs = join(__dirname, '..', 'dist', 'main.js');
    // Needs the build (npx tsc -b), which `npm test` runs first.
    it('out of process: containers outlive a killed driver process, and the next one reports their exit codes', async () => {
      if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: build first (npx tsc -b)`);
      const processes: ChildProcess[] = [];
      const startDriver = async (n: number) => {
        const socketPath = join(stateDir, `driver-${n}.sock`);
        const child = spawn(process.execPath, [mainJs], {
          env: { ...process.env, KERN_DRIVER_SOCKET: socketPath, KERN_PLUGIN_DATA_DIR: stateDir },
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        processes.push(child);
        await waitFor('the driver socket', async () => (existsSync(socketPath) ? true : undefined));
        return connectDriver<RuntimeDriver>(socketPath);
      };
      try {
        const one = await startDriver(1);
        expect(one).toMatchObject({ kind: 'runtime', name: 'raw-exec' });
        const sandbox = await newSandbox(one.driver);
        const long = await run(sandbox, { name: 'long', command: ['sleep', '3600'] }, one.driver);
        const short = await run(sandbox, { name: 'short', command: ['sh', '-c', 'sleep 1; exit 9'] }, one.driver);
        one.close();
        processes[0].kill('SIGKILL');
        await sleep(1500);

        const two = await startDriver(2);
        const listed = await two.driver.listContainers({ [RUNTIME_LABELS.podUid]: sandbox.podUid });
        expect(Object.fromEntries(listed.map((c) => [c.name, [c.state, c.exitCode]]))).toEqual({ long: ['running', undefined], short: ['exited', 9] });
        await two.driver.stopContainer(long, 1);
        expect(await two.driver.inspectContainer(long)).toMatchObject({ state: 'exited', exitCode: 143 });
        expect(short).toBeTruthy();
        two.close();
      } finally {
        for (const child of processes) child.kill('SIGKILL');
      }
    }, 30_000);
  });

  describe('exec and logs', () => {
    it('exec of a program that does not exist ends with 127; exec in an exited container is FailedPrecondition', async () => {
      const sandbox = await newSandbox();
      const id = await run(sandbox, { command: ['sleep', '3600'] });
      const session = await driver.exec(id, ['no-such-program-here']);
      const [out, err, code] = await Promise.all([readAll(session.stdout), readAll(session.stderr), session.exitCode]);
      expect({ out, code }).toEqual({ out: '', code: 127 });
      expect(err).toContain('no-such-program-here: not found');
      await driver.stopContainer(id, 0);
      expect((await failureOf(driver.exec(id, ['true']))).kind).toBe('FailedPrecondition');
    });

    it('a follower ends once the container has exited', async () => {
      const sandbox = await newSandbox();
      const id = await run(sandbox, { command: ['sh', '-c', 'echo one; sleep 0.5; echo two'] });
      expect(await readAll(await driver.logs(id, { follow: true }))).toBe('one\ntwo\n');
    });

    it.each([
      ['a\nb\nc\n', 2, 'b\nc\n'],
      ['a\nb\nc', 2, 'b\nc'],
      ['a\nb\nc\n', 5, 'a\nb\nc\n'],
      ['a\nb\nc\n', 0, ''],
      ['', 3, ''],
      ['\n\n', 1, '\n'],
    ])('the tail of %j, %i lines, is %j', async (content, lines, expected) => {
      const file = join(stateDir, 'tail-test');
      await writeFile(file, content);
      const handle = await open(file, 'r');
      try {
        expect(content.slice(await offsetOfLastLines(handle, lines))).toBe(expected);
      } finally {
        await handle.close();
      }
    });

    it('the tail of a log longer than one read chunk', async () => {
      const file = join(stateDir, 'long-tail-test');
      const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i}`);
      await writeFile(file, lines.join('\n') + '\n');
      const handle = await open(file, 'r');
      try {
        const offset = await offsetOfLastLines(handle, 15_000);
        expect((await readFile(file, 'utf8')).slice(offset)).toBe(lines.slice(5_000).join('\n') + '\n');
      } finally {
        await handle.close();
      }
    });
  });

  describe('plugin', () => {
    function fakeContext(config: Record<string, unknown>, dataDir: string) {
      const registered: Array<{ kind: string; name: string; driver: unknown }> = [];
      const drivers: DriverRegistry = {
        register: <T>(kind: string, name: string, d: T): Disposable => {
          registered.push({ kind, name, driver: d });
          return { dispose: () => { registered.splice(registered.findIndex((r) => r.driver === d), 1); } };
        },
        get: () => { throw new Error('unused'); },
        list: () => [],
      };
      const ctx = {
        manifest: { id: 'runtime-raw-exec' } as PluginManifest, config, dataDir, logger: silentLogger, drivers, subscriptions: [] as Disposable[],
      } as unknown as PluginContext;
      return { ctx, registered };
    }

    it('registers the raw-exec runtime driver over the plugin\'s data dir and unregisters it on dispose', async () => {
      const dataDir = join(stateDir, 'plugin-data');
      await mkdir(dataDir, { recursive: true });
      const { ctx, registered } = fakeContext({}, dataDir);
      await plugin.activate(ctx);
      expect(registered).toHaveLength(1);
      expect(registered[0]).toMatchObject({ kind: 'runtime', name: 'raw-exec' });
      expect((registered[0].driver as RawExecRuntimeDriver).config.stateDir).toBe(dataDir);
      for (const s of [...ctx.subscriptions].reverse()) await s.dispose();
      expect(registered).toHaveLength(0);
    });

    it('activation with a bad config fails with Invalid naming the field', async () => {
      const { ctx, registered } = fakeContext({ busyboxPath: 'busybox' }, stateDir);
      expect(await failureOf(Promise.resolve().then(() => plugin.activate(ctx))))
        .toMatchObject({ kind: 'Invalid', field: 'plugins.runtime-raw-exec.busyboxPath' });
      expect(registered).toHaveLength(0);
    });
  });
});
