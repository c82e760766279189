import { Readable } from 'node:stream';
import {
  ContainerInfo, ContainerSpec, RUNTIME_LABELS, RuntimeDriver, RuntimeInfo, SandboxStatus,
} from '../drivers/runtime-driver';
import { failureOf, newRunId, shortId } from './suite-helpers';

/** One runtime under test, made by the suite's factory. */
export interface RuntimeUnderTest {
  driver: RuntimeDriver;
  /**
   * An image the driver can run, with busybox's `sh`, `sleep`, `cat`, `nc`, `wc`,
   * `seq`, `touch` and `test` on the PATH and no entrypoint (for example
   * Kern's `kern/busybox:1`). The suite sets `command` on every container.
   */
  image: string;
  /**
   * Releases what the factory made and removes whatever the suite left
   * behind (everything carries the label `kern.io/conformance-run`). Runs
   * once per factory call, after all tests, also when tests failed.
   */
  cleanup(): Promise<void>;
}

export interface RuntimeConformanceOptions {
  /** How long to wait for a container state, a log line or an exec, in ms. Default 20000. */
  timeoutMs?: number;
  /** Whether `exec` forwards `ExecOptions.stdin` to the process. Default true. */
  execStdin?: boolean;
  /** Grace period the stop tests use, in seconds. Default 2. */
  stopGraceSeconds?: number;
}

/** Label the suite puts on everything it creates, valued with a per-run id. */
export const CONFORMANCE_RUN_LABEL = 'kern.io/conformance-run';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Reads `stream` as text until it ends. */
function readAll(stream: Readable, timeoutMs: number): Promise<string> {
  return readUntil(stream, () => false, timeoutMs, true);
}

/**
 * Reads `stream` as text until `done(text)` holds (or, with `toEnd`, until
 * the stream ends); leaves the stream open for the caller to destroy.
 */
function readUntil(stream: Readable, done: (text: string) => boolean, timeoutMs: number, toEnd = false): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (error?: Error) => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      if (error) reject(error);
      else resolve(text);
    };
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      if (!toEnd && done(text)) finish();
    };
    const onEnd = () => (toEnd || done(text) ? finish()
      : finish(new Error(`stream ended before the expected text; got ${JSON.stringify(text)}`)));
    const onError = (e: Error) => finish(e);
    const timer = setTimeout(
      () => finish(new Error(`timed out after ${timeoutMs} ms reading a stream; got ${JSON.stringify(text)}`)), timeoutMs);
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}

const lines = (text: string): string[] => text.split('\n').map((l) => l.trim()).filter(Boolean);

/**
 * The conformance suite every {@link RuntimeDriver} passes: sandboxes,
 * container lifecycle, exit codes, logs, exec, the shared network namespace,
 * memory limits, graceful stop, idempotent removal, and adoption of running
 * containers by a new driver instance (what makes agent restarts safe).
 * Tests whose capability the driver does not claim return early.
 *
 * Call it at the top level of a test file; it needs a real engine and uses
 * the image `factory` returns. `factory` runs once in `beforeAll` and once
 * more in the adoption test (a second driver instance over the same
 * engine).
 *
 * ```ts
 * describeRuntimeConformance('docker', async () => ({
 *   driver: new DockerRuntimeDriver(), image: 'kern/busybox:1', cleanup: async () => undefined,
 * }));
 * ```
 */
export function describeRuntimeConformance(
  name: string,
  factory: () => Promise<RuntimeUnderTest>,
  options: RuntimeConformanceOptions = {},
): void {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const grace = options.stopGraceSeconds ?? 2;
  const testTimeout = timeoutMs * 2 + grace * 1000;
  const runId = newRunId();
  const runLabels = { [CONFORMANCE_RUN_LABEL]: runId };

  describe(`runtime conformance: ${name}`, () => {
    let underTest: RuntimeUnderTest | undefined;
    const extraInstances: RuntimeUnderTest[] = [];
    let driver: RuntimeDriver;
    let image: string;
    let info: RuntimeInfo;
    const containers = new Set<string>();
    const sandboxes = new Set<string>();

    beforeAll(async () => {
      underTest = await factory();
      driver = underTest.driver;
      image = underTest.image;
      info = await driver.info();
      await driver.ensureImage(image);
    }, testTimeout);

    afterEach(async () => {
      if (!driver) return;
      // Everything the test made: what it tracked plus what the labels find.
      const listed = await driver.listContainers(runLabels).catch(() => [] as ContainerInfo[]);
      for (const id of new Set([...containers, ...listed.map((c) => c.id)])) {
        await driver.removeContainer(id).catch(() => undefined);
      }
      const listedSandboxes = await driver.listSandboxes(runLabels).catch(() => [] as SandboxStatus[]);
      for (const id of new Set([...sandboxes, ...listedSandboxes.map((s) => s.id)])) {
        await driver.removeSandbox(id).catch(() => undefined);
      }
      containers.clear();
      sandboxes.clear();
    }, testTimeout);

    afterAll(async () => {
      for (const instance of [underTest, ...extraInstances]) {
        await instance?.cleanup().catch(() => undefined);
      }
    }, testTimeout);

    // ---- helpers (closures over the driver) ----

    async function newSandbox(tag: string): Promise<SandboxStatus> {
      const podUid = `conformance-${tag}-${shortId()}`;
      const sandbox = await driver.createSandbox({
        podUid, podName: `conf-${tag}`, podNamespace: 'conformance', labels: { ...runLabels },
      });
      sandboxes.add(sandbox.id);
      return sandbox;
    }

    async function createIn(sandbox: SandboxStatus, spec: Partial<ContainerSpec> & { name: string }): Promise<string> {
      const id = await driver.createContainer(sandbox.id, {
        image,
        ...spec,
        labels: { ...runLabels, ...spec.labels },
      });
      containers.add(id);
      return id;
    }

    async function runIn(sandbox: SandboxStatus, name: string, script: string, extra: Partial<ContainerSpec> = {}): Promise<string> {
      const id = await createIn(sandbox, { name, command: ['sh', '-c', script], ...extra });
      await driver.startContainer(id);
      return id;
    }

    async function waitForState(id: string, state: ContainerInfo['state']): Promise<ContainerInfo> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const current = await driver.inspectContainer(id);
        if (current.state === state) return current;
        if (Date.now() > deadline) {
          throw new Error(`timed out after ${timeoutMs} ms waiting for container ${id} to be ${state}; it is ${current.state}`);
        }
        await sleep(50);
      }
    }

    async function logText(id: string, o: { tail?: number } = {}): Promise<string> {
      return readAll(await driver.logs(id, o), timeoutMs);
    }

    /** Waits until the container's log shows `marker` (the script reached that point). */
    async function waitForLog(id: string, marker: string): Promise<void> {
      const stream = await driver.logs(id, { follow: true });
      try {
        await readUntil(stream, (text) => text.includes(marker), timeoutMs);
      } finally {
        stream.destroy();
      }
    }

    // ---- info ----

    it('info reports a name, a version and every capability flag', async () => {
      expect(typeof info.name).toBe('string');
      expect(info.name.length).toBeGreaterThan(0);
      expect(typeof info.version).toBe('string');
      for (const flag of ['exec', 'logs', 'memoryLimit', 'cpuLimit', 'sharedNetworkNamespace'] as const) {
        expect(typeof info.capabilities[flag]).toBe('boolean');
      }
      expect(typeof driver.name).toBe('string');
    });

    // ---- sandboxes ----

    it('createSandbox returns a ready sandbox carrying the pod uid and the labels', async () => {
      const sandbox = await newSandbox('ready');
      expect(sandbox.id).toBeTruthy();
      expect(sandbox.state).toBe('ready');
      expect(sandbox.podUid).toMatch(/^conformance-ready-/);
      expect(sandbox.labels).toMatchObject(runLabels);
      expect(sandbox.labels[RUNTIME_LABELS.podUid]).toBe(sandbox.podUid);
      if (sandbox.netnsPath !== undefined) expect(typeof sandbox.netnsPath).toBe('string');
    }, testTimeout);

    it.each([['podUid'], ['podName'], ['podNamespace']] as const)(
      'createSandbox with an empty %s fails with Invalid', async (field) => {
        const spec = { podUid: `conformance-invalid-${shortId()}`, podName: 'conf-invalid', podNamespace: 'conformance', labels: runLabels };
        expect(await failureOf(driver.createSandbox({ ...spec, [field]: '' }))).toBe('Invalid');
      }, testTimeout);

    // ---- containers ----

    it('a container created in a sandbox starts and inspects as running', async () => {
      const sandbox = await newSandbox('run');
      const id = await createIn(sandbox, { name: 'main', command: ['sleep', '3600'], labels: { app: 'conformance' } });
      const created = await driver.inspectContainer(id);
      expect(created.state).toBe('created');
      await driver.startContainer(id);
      const running = await driver.inspectContainer(id);
      expect(running).toMatchObject({ id, name: 'main', image, state: 'running', sandboxId: sandbox.id });
      expect(running.startedAt).toBeTruthy();
      expect(running.labels).toMatchObject({ ...runLabels, app: 'conformance' });
      expect(running.labels[RUNTIME_LABELS.podUid]).toBe(sandbox.podUid);
      expect(running.labels[RUNTIME_LABELS.container]).toBe('main');
      expect(running.labels[RUNTIME_LABELS.managed]).toBeTruthy();
    }, testTimeout);

    it.each([[0], [3], [42]])('a container exiting with %i reports that exit code', async (code) => {
      const sandbox = await newSandbox(`exit${code}`);
      const id = await runIn(sandbox, 'main', `exit ${code}`);
      const exited = await waitForState(id, 'exited');
      expect(exited.exitCode).toBe(code);
      expect(exited.oomKilled ?? false).toBe(false);
      expect(exited.finishedAt).toBeTruthy();
    }, testTimeout);

    it('createContainer in a sandbox that does not exist fails with NotFound', async () => {
      const missing: SandboxStatus = { id: `missing${shortId()}`, podUid: 'missing', state: 'ready', labels: {} };
      const attempt = (async () => {
        const id = await createIn(missing, { name: 'orphan', command: ['true'] });
        await driver.startContainer(id);
      })();
      expect(await failureOf(attempt)).toBe('NotFound');
    }, testTimeout);

    it('inspectContainer of an unknown id fails with NotFound', async () => {
      expect(await failureOf(driver.inspectContainer(`missing${shortId()}`))).toBe('NotFound');
    });

    // ---- logs ----

    it('logs return both stdout and stderr lines', async () => {
      if (!info.capabilities.logs) return;
      const sandbox = await newSandbox('logs');
      const id = await runIn(sandbox, 'main', 'echo to-stdout; echo to-stderr >&2');
      await waitForState(id, 'exited');
      const text = await logText(id);
      expect(lines(text)).toEqual(expect.arrayContaining(['to-stdout', 'to-stderr']));
      expect(lines(text)).toHaveLength(2);
    }, testTimeout);

    it('logs with tail return only the last lines', async () => {
      if (!info.capabilities.logs) return;
      const sandbox = await newSandbox('tail');
      const id = await runIn(sandbox, 'main', 'for i in 1 2 3 4 5; do echo line$i; done');
      await waitForState(id, 'exited');
      expect(lines(await logText(id, { tail: 2 }))).toEqual(['line4', 'line5']);
      expect(lines(await logText(id))).toEqual(['line1', 'line2', 'line3', 'line4', 'line5']);
    }, testTimeout);

    it('logs with follow deliver a line written after the stream was opened', async () => {
      if (!info.capabilities.logs) return;
      const sandbox = await newSandbox('follow');
      // With exec the second line is triggered from outside, after "first" arrived;
      // without it the script writes it a second later.
      // A per-run marker under $TMPDIR: drivers without a private /tmp (host processes) share the host's.
      const marker = `"\${TMPDIR:-/tmp}/kern-go-${shortId()}"`;
      const script = info.capabilities.exec
        ? `echo first; while [ ! -f ${marker} ]; do sleep 0.05; done; rm -f ${marker}; echo later; sleep 3600`
        : 'echo first; sleep 1; echo later; sleep 3600';
      const id = await runIn(sandbox, 'main', script);
      const stream = await driver.logs(id, { follow: true });
      try {
        const collected: string[] = [];
        stream.on('data', (chunk: Buffer | string) => collected.push(chunk.toString()));
        const deadline = Date.now() + timeoutMs;
        while (!collected.join('').includes('first')) {
          if (Date.now() > deadline) throw new Error(`no "first" line within ${timeoutMs} ms`);
          await sleep(20);
        }
        expect(collected.join('')).not.toContain('later');
        if (info.capabilities.exec) {
          const touch = await driver.exec(id, ['sh', '-c', `touch ${marker}`]);
          touch.stdout.resume();
          touch.stderr.resume();
          expect(await touch.exitCode).toBe(0);
        }
        while (!collected.join('').includes('later')) {
          if (Date.now() > deadline) throw new Error(`no "later" line within ${timeoutMs} ms; got ${JSON.stringify(collected.join(''))}`);
          await sleep(20);
        }
        expect(lines(collected.join(''))).toEqual(['first', 'later']);
      } finally {
        stream.destroy();
      }
    }, testTimeout);

    // ---- exec ----

    it('exec returns stdout, stderr and the exit code', async () => {
      if (!info.capabilities.exec) return;
      const sandbox = await newSandbox('exec');
      const id = await runIn(sandbox, 'main', 'sleep 3600');
      await waitForState(id, 'running');
      const session = await driver.exec(id, ['sh', '-c', 'echo exec-out; echo exec-err >&2; exit 7']);
      const [out, err, code] = await Promise.all([
        readAll(session.stdout, timeoutMs), readAll(session.stderr, timeoutMs), session.exitCode]);
      expect(out).toBe('exec-out\n');
      expect(err).toBe('exec-err\n');
      expect(code).toBe(7);

      const env = await driver.exec(id, ['sh', '-c', 'echo $GREETING'], { env: { GREETING: 'hi-from-env' } });
      env.stderr.resume();
      expect(await readAll(env.stdout, timeoutMs)).toBe('hi-from-env\n');
      expect(await env.exitCode).toBe(0);
    }, testTimeout);

    it('exec forwards stdin and closes it at the end of the input', async () => {
      if (!info.capabilities.exec || options.execStdin === false) return;
      const sandbox = await newSandbox('stdin');
      const id = await runIn(sandbox, 'main', 'sleep 3600');
      await waitForState(id, 'running');
      const session = await driver.exec(id, ['cat'], { stdin: Readable.from(['hello ', 'stdin\n', 'second line\n']) });
      session.stderr.resume();
      expect(await readAll(session.stdout, timeoutMs)).toBe('hello stdin\nsecond line\n');
      expect(await session.exitCode).toBe(0);
    }, testTimeout);

    it('exec streams a megabyte of stdin and output', async () => {
      if (!info.capabilities.exec || options.execStdin === false) return;
      const sandbox = await newSandbox('bigexec');
      const id = await runIn(sandbox, 'main', 'sleep 3600');
      await waitForState(id, 'running');
      const input = 'x'.repeat(1024 * 1024 - 1) + '\n';
      const session = await driver.exec(id, ['wc', '-c'], { stdin: Readable.from([Buffer.from(input)]) });
      session.stderr.resume();
      expect((await readAll(session.stdout, timeoutMs)).trim()).toBe(String(input.length));
      expect(await session.exitCode).toBe(0);
    }, testTimeout);

    it('exec in an exited container fails with FailedPrecondition', async () => {
      if (!info.capabilities.exec) return;
      const sandbox = await newSandbox('deadexec');
      const id = await runIn(sandbox, 'main', 'true');
      await waitForState(id, 'exited');
      expect(await failureOf(driver.exec(id, ['true']))).toBe('FailedPrecondition');
    }, testTimeout);

    it('exec in an unknown container fails with NotFound', async () => {
      if (!info.capabilities.exec) return;
      expect(await failureOf(driver.exec(`missing${shortId()}`, ['true']))).toBe('NotFound');
    });

    // ---- pod network namespace ----

    it('two containers of one sandbox reach each other over localhost', async () => {
      if (!info.capabilities.sharedNetworkNamespace) return;
      const sandbox = await newSandbox('netns');
      // The server's stdin stays open (a pipe from sleep): with stdin at EOF, busybox nc shuts its
      // sending side as soon as it accepts, and the client may see that EOF and quit before it has
      // sent its line. The log is followed while the server runs.
      const server = await runIn(sandbox, 'server', 'sleep 3600 | nc -l -p 8080');
      const client = await runIn(sandbox, 'client',
        'for i in $(seq 1 200); do echo hello-from-peer | nc 127.0.0.1 8080 && exit 0; sleep 0.05; done; exit 1');
      const done = await waitForState(client, 'exited');
      expect(done.exitCode).toBe(0);
      if (info.capabilities.logs) await waitForLog(server, 'hello-from-peer');
    }, testTimeout);

    // ---- limits ----

    it('a container over its memory limit is OOM-killed and reported so', async () => {
      if (!info.capabilities.memoryLimit) return;
      const sandbox = await newSandbox('oom');
      const id = await runIn(sandbox, 'hog', 'x=a; while true; do x=$x$x; done', { memoryBytes: 32 * 1024 * 1024 });
      const exited = await waitForState(id, 'exited');
      expect(exited.oomKilled).toBe(true);
      expect(exited.exitCode).toBe(137);
    }, testTimeout);

    // ---- stop ----

    it('stop sends SIGTERM: a container that handles it exits at once', async () => {
      const sandbox = await newSandbox('term');
      const id = await runIn(sandbox, 'main', "trap 'echo got-term; exit 0' TERM; echo ready; sleep 3600 & wait");
      if (info.capabilities.logs) await waitForLog(id, 'ready');
      const started = Date.now();
      await driver.stopContainer(id, 30);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeLessThan(10_000);
      const stopped = await driver.inspectContainer(id);
      expect(stopped.state).toBe('exited');
      expect(stopped.exitCode).toBe(0);
      if (info.capabilities.logs) expect(lines(await logText(id))).toContain('got-term');
    }, testTimeout + 30_000);

    it('stop sends SIGKILL after the grace period to a container that ignores SIGTERM', async () => {
      const sandbox = await newSandbox('kill');
      const id = await runIn(sandbox, 'main', "trap '' TERM; echo ready; sleep 3600 & wait");
      if (info.capabilities.logs) await waitForLog(id, 'ready');
      const started = Date.now();
      await driver.stopContainer(id, grace);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(grace * 1000 - 250);
      expect(elapsed).toBeLessThan(grace * 1000 + 8_000);
      const stopped = await driver.inspectContainer(id);
      expect(stopped.state).toBe('exited');
      expect(stopped.exitCode).toBe(137);
    }, testTimeout);

    // ---- removal ----

    it('stop, removeContainer and removeSandbox are idempotent', async () => {
      const sandbox = await newSandbox('remove');
      const id = await runIn(sandbox, 'main', 'sleep 3600');
      await driver.stopContainer(id, 0);
      await driver.stopContainer(id, 0);
      await driver.removeContainer(id);
      await driver.removeContainer(id);
      await driver.stopContainer(id, 0);
      expect(await failureOf(driver.inspectContainer(id))).toBe('NotFound');
      expect((await driver.listContainers({ [RUNTIME_LABELS.podUid]: sandbox.podUid })).map((c) => c.id)).not.toContain(id);
      await driver.removeSandbox(sandbox.id);
      await driver.removeSandbox(sandbox.id);
      expect((await driver.listSandboxes({ [RUNTIME_LABELS.podUid]: sandbox.podUid })).map((s) => s.id)).not.toContain(sandbox.id);
    }, testTimeout);

    // ---- listing and adoption ----

    it('listSandboxes and listContainers find what was created, by label', async () => {
      const sandbox = await newSandbox('list');
      const tag = shortId();
      const a = await runIn(sandbox, 'a', 'sleep 3600', { labels: { 'conformance.kern.dev/tag': tag } });
      const b = await createIn(sandbox, { name: 'b', command: ['sleep', '3600'], labels: { 'conformance.kern.dev/tag': tag } });

      const byPod = await driver.listContainers({ [RUNTIME_LABELS.podUid]: sandbox.podUid });
      expect(byPod.map((c) => c.id).sort()).toEqual([a, b].sort());
      const byId = new Map(byPod.map((c) => [c.id, c]));
      expect(byId.get(a)).toMatchObject({ name: 'a', state: 'running', sandboxId: sandbox.id });
      expect(byId.get(b)).toMatchObject({ name: 'b', state: 'created', sandboxId: sandbox.id });

      expect((await driver.listContainers({ 'conformance.kern.dev/tag': tag, [RUNTIME_LABELS.container]: 'a' })).map((c) => c.id))
        .toEqual([a]);
      expect(await driver.listContainers({ 'conformance.kern.dev/tag': `other-${tag}` })).toEqual([]);

      const sandboxesOfPod = await driver.listSandboxes({ [RUNTIME_LABELS.podUid]: sandbox.podUid });
      expect(sandboxesOfPod).toHaveLength(1);
      expect(sandboxesOfPod[0]).toMatchObject({ id: sandbox.id, podUid: sandbox.podUid, state: 'ready' });
      // Sandboxes are not containers and the other way round.
      expect((await driver.listContainers(runLabels)).map((c) => c.id)).not.toContain(sandbox.id);
      expect((await driver.listSandboxes(runLabels)).map((s) => s.id)).not.toContain(a);
    }, testTimeout);

    it('a new driver instance adopts running sandboxes and containers by label', async () => {
      const sandbox = await newSandbox('adopt');
      const id = await runIn(sandbox, 'main', 'sleep 3600');
      await waitForState(id, 'running');

      // What the agent does after a restart: a fresh driver, then list by labels.
      const second = await factory();
      extraInstances.push(second);
      const adoptedSandboxes = await second.driver.listSandboxes({ [RUNTIME_LABELS.podUid]: sandbox.podUid });
      expect(adoptedSandboxes.map((s) => s.id)).toEqual([sandbox.id]);
      expect(adoptedSandboxes[0].state).toBe('ready');
      const adopted = await second.driver.listContainers({ [RUNTIME_LABELS.podUid]: sandbox.podUid });
      expect(adopted.map((c) => c.id)).toEqual([id]);
      expect(adopted[0]).toMatchObject({ name: 'main', state: 'running', sandboxId: sandbox.id });
      expect((await second.driver.inspectContainer(id)).state).toBe('running');

      // ... and it can keep managing them: a new container joins the adopted sandbox.
      const peer = await second.driver.createContainer(sandbox.id, {
        name: 'peer', image, command: ['sleep', '3600'], labels: runLabels,
      });
      containers.add(peer);
      await second.driver.startContainer(peer);
      expect((await second.driver.inspectContainer(peer)).state).toBe('running');
      await second.driver.stopContainer(id, 0);
      expect((await driver.inspectContainer(id)).state).toBe('exited');
    }, testTimeout);
  });
}
