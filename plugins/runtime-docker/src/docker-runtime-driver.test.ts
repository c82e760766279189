import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import {
  Disposable, DriverRegistry, PluginContext, PluginManifest, RuntimeDriver, SandboxStatus, isKernelError, silentLogger,
} from '@kern/sdk';
import { CONFORMANCE_RUN_LABEL, describeRuntimeConformance } from '@kern/sdk/testing';
import { parseConfig } from './config';
import { DockerRuntimeDriver } from './docker-runtime-driver';
import plugin from './index';
import { busyboxRootfsTar, importRootfsImage, splitImageName } from './local-images';

const execFileAsync = promisify(execFile);
const IMAGE = 'kern/busybox:1';
const TEST_LABEL = 'kern.io/test-run';
const testRun = `docker-driver-${randomBytes(4).toString('hex')}`;
const docker = new Docker({ socketPath: '/var/run/docker.sock' });

/** Removes every container carrying `label` (a key, or key=value), sandboxes last. */
async function removeLabelled(label: string): Promise<void> {
  const found = await docker.listContainers({ all: true, filters: { label: [label] } });
  const sandboxesLast = [...found].sort((a, b) =>
    Number(a.Labels['kern.io/runtime-role'] === 'sandbox') - Number(b.Labels['kern.io/runtime-role'] === 'sandbox'));
  for (const c of sandboxesLast) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
}

async function failureOf(p: Promise<unknown>): Promise<{ kind: string; message: string; field?: string; code?: string }> {
  try {
    await p;
  } catch (e) {
    if (isKernelError(e)) return { kind: e.kind, message: e.message, field: e.field, code: e.code };
    return { kind: `not a KernelError: ${String(e)}`, message: String(e) };
  }
  return { kind: 'no error', message: '' };
}

function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.on('data', (d: Buffer | string) => { text += d.toString(); });
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
}

async function waitExited(driver: RuntimeDriver, id: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await driver.inspectContainer(id)).state === 'exited') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`container ${id} did not exit`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ---- the sdk's conformance suite against the real engine ----

describeRuntimeConformance('docker', async () => {
  const driver = new DockerRuntimeDriver();
  return {
    driver,
    image: IMAGE,
    cleanup: async () => {
      await removeLabelled(CONFORMANCE_RUN_LABEL);
      driver.close();
    },
  };
});

// ---- docker-specific behaviour ----

describe('DockerRuntimeDriver', () => {
  const driver = new DockerRuntimeDriver();
  const labels = { [TEST_LABEL]: testRun };
  let podCount = 0;

  async function newSandbox(d: RuntimeDriver = driver): Promise<SandboxStatus> {
    podCount += 1;
    return d.createSandbox({ podUid: `${testRun}-${podCount}`, podName: `docker-test-${podCount}`, podNamespace: 'test', labels });
  }

  async function run(sandbox: SandboxStatus, spec: Partial<Parameters<RuntimeDriver['createContainer']>[1]>): Promise<string> {
    const id = await driver.createContainer(sandbox.id, { name: 'main', image: IMAGE, ...spec, labels: { ...labels, ...spec.labels } });
    await driver.startContainer(id);
    return id;
  }

  beforeAll(async () => {
    await driver.ensureImage(IMAGE);
  });

  afterAll(async () => {
    await removeLabelled(`${TEST_LABEL}=${testRun}`);
    driver.close();
  });

  describe('config', () => {
    it('fills in the documented defaults', () => {
      expect(parseConfig({})).toEqual({
        socketPath: '/var/run/docker.sock', pauseImage: 'kern/pause:1', sandboxNetworkMode: 'bridge', busyboxPath: '/bin/busybox',
      });
    });

    it.each([
      [{ sandboxNetworkMode: 'host' }, 'plugins.runtime-docker.sandboxNetworkMode'],
      [{ socketPath: 42 }, 'plugins.runtime-docker.socketPath'],
      [{ pauseImage: '' }, 'plugins.runtime-docker.pauseImage'],
      [{ socketpath: '/x' }, 'plugins.runtime-docker.socketpath'],
    ])('rejects %j with Invalid naming %s', async (config, field) => {
      const failure = await failureOf((async () => parseConfig(config as Record<string, unknown>))());
      expect(failure).toMatchObject({ kind: 'Invalid', field });
    });
  });

  describe('images', () => {
    it('ensureImage of an image that is not there fails with NotFound and the import hint', async () => {
      const failure = await failureOf(driver.ensureImage(`kern-test/absent:${testRun}`));
      expect(failure).toMatchObject({ kind: 'NotFound', code: 'KERN_ERR_RUNTIME_IMAGE_NOT_FOUND', field: 'image' });
      expect(failure.message).toContain('kern image import');
    });

    it('builds kern/busybox:* from busybox-static when it is first used', async () => {
      const image = `kern/busybox:test-${testRun}`;
      try {
        const sandbox = await newSandbox();
        const id = await run(sandbox, { image, command: ['sh', '-c', 'echo built-here; readlink /usr/bin/nc'] });
        await waitExited(driver, id);
        expect(await driver.inspectContainer(id)).toMatchObject({ exitCode: 0, image });
        expect(await readAll(await driver.logs(id))).toBe('built-here\n/bin/busybox\n');
        await driver.ensureImage(image); // present now: no rebuild, no error
      } finally {
        await removeLabelled(`${TEST_LABEL}=${testRun}`);
        await docker.getImage(image).remove({ force: true }).catch(() => undefined);
      }
    }, 60_000);

    it('importRootfsImage imports a rootfs tarball from a file', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'kern-rootfs-'));
      const image = `kern-test/imported:${testRun}`;
      try {
        const tarball = join(dir, 'rootfs.tar');
        await writeFile(tarball, await busyboxRootfsTar());
        await importRootfsImage(docker, tarball, image);
        const sandbox = await newSandbox();
        const id = await run(sandbox, { image, command: ['echo', 'imported'] });
        await waitExited(driver, id);
        expect(await readAll(await driver.logs(id))).toBe('imported\n');
      } finally {
        await removeLabelled(`${TEST_LABEL}=${testRun}`);
        await docker.getImage(image).remove({ force: true }).catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      }
    }, 60_000);

    it('importRootfsImage rejects a tarball that is not one with Invalid', async () => {
      const failure = await failureOf(importRootfsImage(docker, Buffer.from('not a tar'), `kern-test/broken:${testRun}`));
      expect(failure).toMatchObject({ kind: 'Invalid', field: 'tarball' });
      const missing = await failureOf(importRootfsImage(docker, '/nonexistent/rootfs.tar', `kern-test/broken:${testRun}`));
      expect(missing).toMatchObject({ kind: 'NotFound', field: 'tarball' });
    });

    it.each([
      ['kern/pause:1', 'kern/pause', '1'],
      ['busybox', 'busybox', 'latest'],
      ['localhost:5000/team/app:2.1', 'localhost:5000/team/app', '2.1'],
      ['localhost:5000/team/app', 'localhost:5000/team/app', 'latest'],
    ])('splitImageName(%s) is %s and %s', (image, repo, tag) => {
      expect(splitImageName(image)).toEqual({ repo, tag });
    });
  });

  describe('sandboxes', () => {
    it('a bridge sandbox is a shareable-IPC pause container with an IP and a netns path on the host', async () => {
      const sandbox = await newSandbox();
      expect(sandbox.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(sandbox.netnsPath).toMatch(/^\/proc\/\d+\/ns\/net$/);
      expect(existsSync(sandbox.netnsPath!)).toBe(true);
      const raw = await docker.getContainer(sandbox.id).inspect();
      expect(raw.HostConfig).toMatchObject({ NetworkMode: 'bridge', IpcMode: 'shareable' });
      expect(raw.Config.Image).toBe('kern/pause:1');
      expect(raw.Config.Hostname).toBe(`docker-test-${podCount}`);
      // The pause command exits on SIGTERM rather than waiting out the grace period.
      const started = Date.now();
      await docker.getContainer(sandbox.id).stop({ t: 10 });
      expect(Date.now() - started).toBeLessThan(3000);
      expect((await docker.getContainer(sandbox.id).inspect()).State.ExitCode).toBe(0);
      expect((await driver.listSandboxes({ [TEST_LABEL]: testRun })).find((s) => s.id === sandbox.id))
        .toMatchObject({ state: 'notready' });
    });

    it('sandboxNetworkMode none gives the pod a loopback-only namespace', async () => {
      const isolated = new DockerRuntimeDriver({ sandboxNetworkMode: 'none' });
      try {
        const sandbox = await newSandbox(isolated);
        expect(sandbox.ip).toBeUndefined();
        expect(sandbox.netnsPath).toMatch(/^\/proc\/\d+\/ns\/net$/);
        const id = await isolated.createContainer(sandbox.id, { name: 'main', image: IMAGE, command: ['ls', '/sys/class/net'], labels });
        await isolated.startContainer(id);
        await waitExited(isolated, id);
        expect(await readAll(await isolated.logs(id))).toBe('lo\n');
      } finally {
        isolated.close();
      }
    });

    it('starting a container whose sandbox was removed behind the driver fails with NotFound', async () => {
      const sandbox = await newSandbox();
      const id = await driver.createContainer(sandbox.id, { name: 'main', image: IMAGE, command: ['true'], labels });
      await docker.getContainer(sandbox.id).remove({ force: true });
      const failure = await failureOf(driver.startContainer(id));
      expect(failure.kind).toBe('NotFound');
      expect(failure.message).toContain('sandbox');
    });

    it('starting a container whose sandbox is stopped fails with FailedPrecondition', async () => {
      const sandbox = await newSandbox();
      const id = await driver.createContainer(sandbox.id, { name: 'main', image: IMAGE, command: ['true'], labels });
      await docker.getContainer(sandbox.id).stop({ t: 0 });
      expect((await failureOf(driver.startContainer(id))).kind).toBe('FailedPrecondition');
    });
  });

  describe('containers', () => {
    it('maps the spec onto the engine: namespaces, limits, binds, env, working dir, labels', async () => {
      const sandbox = await newSandbox();
      const id = await driver.createContainer(sandbox.id, {
        name: 'web', image: IMAGE, command: ['sleep'], args: ['3600'], env: { A: '1', B: 'two words' }, workingDir: '/tmp',
        mounts: [{ hostPath: '/tmp', containerPath: '/host-tmp', readOnly: true }],
        cpuMillis: 500, memoryBytes: 64 * 1024 * 1024, labels: { ...labels, 'kern.io/attempt': '2' },
      });
      const raw = await docker.getContainer(id).inspect();
      expect(raw.HostConfig).toMatchObject({
        NetworkMode: `container:${sandbox.id}`, IpcMode: `container:${sandbox.id}`,
        Memory: 64 * 1024 * 1024, MemorySwap: 64 * 1024 * 1024, NanoCpus: 500_000_000, Binds: ['/tmp:/host-tmp:ro'],
      });
      expect(raw.Config.Entrypoint).toEqual(['sleep']);
      expect(raw.Config.Cmd).toEqual(['3600']);
      expect(raw.Config.Env).toEqual(expect.arrayContaining(['A=1', 'B=two words']));
      expect(raw.Config.WorkingDir).toBe('/tmp');
      expect(raw.Name).toBe(`/kern_web_docker-test-${podCount}_test_${testRun}-${podCount}_2`);
      expect(raw.Config.Labels).toMatchObject({
        'kern.io/managed': 'true', 'kern.io/pod-uid': sandbox.podUid, 'kern.io/pod-name': `docker-test-${podCount}`,
        'kern.io/pod-namespace': 'test', 'kern.io/container': 'web', 'kern.io/attempt': '2', 'kern.io/sandbox-id': sandbox.id,
      });
    });

    it.each([
      ['command only replaces entrypoint and cmd', { command: ['echo', 'from-command'] }, 'from-command\n'],
      ['command and args', { command: ['sh', '-c'], args: ['echo from-args'] }, 'from-args\n'],
      ['args only replace cmd', { args: ['echo', 'only-args'] }, 'only-args\n'],
      ['env and working dir', { command: ['sh', '-c', 'echo $GREETING; pwd'], env: { GREETING: 'hello' }, workingDir: '/tmp' }, 'hello\n/tmp\n'],
    ])('%s', async (_title, spec, output) => {
      const sandbox = await newSandbox();
      const id = await run(sandbox, spec);
      await waitExited(driver, id);
      expect(await readAll(await driver.logs(id))).toBe(output);
    });

    it('binds host paths, read-write and read-only', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'kern-mount-'));
      try {
        const sandbox = await newSandbox();
        const writer = await run(sandbox, {
          name: 'writer', command: ['sh', '-c', 'echo written > /data/out.txt'], mounts: [{ hostPath: dir, containerPath: '/data' }],
        });
        await waitExited(driver, writer);
        expect(await readFile(join(dir, 'out.txt'), 'utf8')).toBe('written\n');
        const reader = await run(sandbox, {
          name: 'reader', command: ['sh', '-c', 'cat /data/out.txt; echo again > /data/out.txt'],
          mounts: [{ hostPath: dir, containerPath: '/data', readOnly: true }],
        });
        await waitExited(driver, reader);
        expect((await driver.inspectContainer(reader)).exitCode).not.toBe(0);
        // stdout and stderr are recorded by separate copiers: no order between them.
        const output = await readAll(await driver.logs(reader));
        expect(output).toMatch(/^written$/m);
        expect(output).toMatch(/Read-only file system/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it.each([
      [{ name: '' }, 'name'],
      [{ image: '' }, 'image'],
      [{ cpuMillis: -1 }, 'cpuMillis'],
      [{ memoryBytes: 1024 }, 'memoryBytes'],
      [{ mounts: [{ hostPath: 'relative', containerPath: '/x' }] }, 'mounts[0].hostPath'],
    ])('createContainer with %j fails with Invalid naming %s', async (bad, field) => {
      const sandbox = await newSandbox();
      const failure = await failureOf(driver.createContainer(sandbox.id, { name: 'main', image: IMAGE, labels, ...bad }));
      expect(failure).toMatchObject({ kind: 'Invalid', field });
    });

    it('creating the same container (name and attempt) twice fails with AlreadyExists', async () => {
      const sandbox = await newSandbox();
      await driver.createContainer(sandbox.id, { name: 'twice', image: IMAGE, command: ['true'], labels });
      const failure = await failureOf(driver.createContainer(sandbox.id, { name: 'twice', image: IMAGE, command: ['true'], labels }));
      expect(failure.kind).toBe('AlreadyExists');
      await driver.createContainer(sandbox.id, { name: 'twice', image: IMAGE, command: ['true'], labels: { ...labels, 'kern.io/attempt': '1' } });
    });

    it('exec with a tty returns the output on stdout', async () => {
      const sandbox = await newSandbox();
      const id = await run(sandbox, { command: ['sleep', '3600'] });
      const session = await driver.exec(id, ['sh', '-c', 'echo on-tty; echo err-on-tty >&2'], { tty: true });
      const [out, err, code] = await Promise.all([readAll(session.stdout), readAll(session.stderr), session.exitCode]);
      expect(out.replace(/\r/g, '')).toBe('on-tty\nerr-on-tty\n');
      expect(err).toBe('');
      expect(code).toBe(0);
    });

    it('listContainers reports exit codes of exited containers', async () => {
      const sandbox = await newSandbox();
      const id = await run(sandbox, { command: ['sh', '-c', 'exit 5'] });
      await waitExited(driver, id);
      const [listed] = await driver.listContainers({ 'kern.io/pod-uid': sandbox.podUid });
      expect(listed).toMatchObject({ id, state: 'exited', exitCode: 5 });
    });
  });

  describe('performance', () => {
    it('create + start is two API calls; latency compared with `docker run -d`', async () => {
      const sandbox = await newSandbox();
      const dial = driver.docker.modem.dial.bind(driver.docker.modem);
      const calls: string[] = [];
      driver.docker.modem.dial = ((options: { method: string; path: string }, callback: unknown) => {
        calls.push(`${options.method} ${options.path.replace(/\?.*$/, '')}`);
        return dial(options as never, callback as never);
      }) as typeof driver.docker.modem.dial;
      const ours: number[] = [];
      try {
        for (let i = 0; i < 7; i++) {
          calls.length = 0;
          const started = process.hrtime.bigint();
          const id = await driver.createContainer(sandbox.id, { name: `bench-${i}`, image: IMAGE, command: ['sleep', '3600'], labels });
          await driver.startContainer(id);
          ours.push(Number(process.hrtime.bigint() - started) / 1e6);
          expect(calls).toEqual(['POST /containers/create', `POST /containers/${id}/start`]);
        }
      } finally {
        driver.docker.modem.dial = dial;
      }
      const cli: number[] = [];
      for (let i = 0; i < 7; i++) {
        const started = process.hrtime.bigint();
        await execFileAsync('docker', ['run', '-d', '--label', `${TEST_LABEL}=${testRun}`,
          '--network', `container:${sandbox.id}`, IMAGE, 'sleep', '3600']);
        cli.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      // eslint-disable-next-line no-console
      console.log(`create+start median ${median(ours).toFixed(1)} ms (${ours.map((x) => x.toFixed(0)).join(', ')}); ` +
        `docker run -d median ${median(cli).toFixed(1)} ms (${cli.map((x) => x.toFixed(0)).join(', ')})`);
    }, 120_000);
  });

  describe('errors', () => {
    it('an engine that is not answering gives Unavailable with what to do', async () => {
      const offline = new DockerRuntimeDriver({ socketPath: '/nonexistent/docker.sock' });
      const failure = await failureOf(offline.info());
      expect(failure.kind).toBe('Unavailable');
      expect(failure.message).toContain('/nonexistent/docker.sock');
      expect((await failureOf(offline.createSandbox({ podUid: 'u', podName: 'p', podNamespace: 'n' }))).kind).toBe('Unavailable');
      offline.close();
    });

    it('logs of an unknown container fail with NotFound', async () => {
      expect((await failureOf(driver.logs('no-such-container-here'))).kind).toBe('NotFound');
    });
  });

  describe('plugin', () => {
    function fakeContext(config: Record<string, unknown>) {
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
        manifest: { id: 'runtime-docker' } as PluginManifest, config, dataDir: tmpdir(), logger: silentLogger,
        drivers, subscriptions: [] as Disposable[],
      } as unknown as PluginContext;
      return { ctx, registered };
    }

    it('registers the docker runtime driver and unregisters it on dispose', async () => {
      const { ctx, registered } = fakeContext({});
      await plugin.activate(ctx);
      expect(registered).toHaveLength(1);
      expect(registered[0]).toMatchObject({ kind: 'runtime', name: 'docker' });
      expect(registered[0].driver).toBeInstanceOf(DockerRuntimeDriver);
      for (const s of [...ctx.subscriptions].reverse()) await s.dispose();
      await plugin.deactivate?.(ctx);
      expect(registered).toHaveLength(0);
    });

    it('activation with a bad config fails with Invalid naming the field', async () => {
      const { ctx, registered } = fakeContext({ sandboxNetworkMode: 'overlay' });
      expect(await failureOf(Promise.resolve().then(() => plugin.activate(ctx))))
        .toMatchObject({ kind: 'Invalid', field: 'plugins.runtime-docker.sandboxNetworkMode' });
      expect(registered).toHaveLength(0);
    });
  });
});
