import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { ContainerInfo, ExecOptions, ExecSession, RuntimeDriver, RuntimeEvent, RuntimeInfo } from '../drivers/runtime-driver';
import { ErrorKind, errors, isKernelError } from '../errors';
import { Disposable, toDisposable } from '../tokens';
import { VolumeDriver } from '../drivers/volume-driver';
import { ConnectedDriver, connectDriver } from './connect-driver';
import { DriverServer, serveDriver } from './driver-server';
import { driverClient } from './protocol';

/** Just enough of a runtime to exercise every rpc of the protocol. */
class FakeRuntime implements Partial<RuntimeDriver> {
  readonly name = 'fake';
  readonly imports: { name: string; bytes: number }[] = [];
  private listeners = new Set<(e: RuntimeEvent) => void>();

  async info(): Promise<RuntimeInfo> {
    return { name: 'fake', version: '1', capabilities: { exec: true, logs: true, memoryLimit: false, cpuLimit: false, sharedNetworkNamespace: true } };
  }

  async inspectContainer(id: string): Promise<ContainerInfo> {
    if (id !== 'c1') throw errors.notFound(`container ${id}`);
    return { id, name: 'main', image: 'img', state: 'running', labels: { a: 'b' } };
  }

  async listContainers(labels?: Record<string, string>): Promise<ContainerInfo[]> {
    return labels === undefined ? [] : [await this.inspectContainer('c1')];
  }

  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    if (graceSeconds < 0) throw errors.invalid('graceSeconds', `must not be negative (got ${graceSeconds} for ${id})`);
  }

  async logs(id: string): Promise<Readable> {
    await this.inspectContainer(id);
    return Readable.from(['one\n', 'two\n']);
  }

  async exec(id: string, command: string[], options: ExecOptions = {}): Promise<ExecSession> {
    await this.inspectContainer(id);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const exitCode = (async () => {
      let input = '';
      if (options.stdin) for await (const c of options.stdin) input += c.toString();
      stdout.end(`${command.join(' ')}|${input}|${options.env?.X ?? ''}`);
      stderr.end('warn');
      return 3;
    })();
    return { stdout, stderr, exitCode };
  }

  watchEvents(onEvent: (e: RuntimeEvent) => void): Disposable {
    this.listeners.add(onEvent);
    return toDisposable(() => { this.listeners.delete(onEvent); });
  }

  emit(e: RuntimeEvent): void {
    for (const l of this.listeners) l(e);
  }

  get watchers(): number {
    return this.listeners.size;
  }

  async importImage(name: string, tar: Readable): Promise<void> {
    let bytes = 0;
    for await (const c of tar) bytes += (c as Buffer).length;
    if (!name.includes(':')) throw errors.invalid('name', 'needs a tag');
    this.imports.push({ name, bytes });
  }

  notInTheInterface(): string {
    return 'secret';
  }
}

async function kindOf(p: Promise<unknown>): Promise<ErrorKind | string> {
  try {
    await p;
  } catch (e) {
    return isKernelError(e) ? e.kind : `not a KernelError: ${String(e)}`;
  }
  return 'no error';
}

const readAll = async (s: Readable): Promise<string> => {
  let text = '';
  for await (const c of s) text += c.toString();
  return text;
};

describe('out-of-process driver protocol', () => {
  let dir: string;
  let fake: FakeRuntime;
  let server: DriverServer;
  let connected: ConnectedDriver;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kern-oop-'));
    fake = new FakeRuntime();
    server = await serveDriver({
      kind: 'runtime', name: 'fake', version: '9.9.9', driver: fake, socketPath: join(dir, 'driver.sock'), handleSignals: false, exitWithParent: false,
    });
    connected = await connectDriver(server.socketPath);
  });

  afterEach(async () => {
    connected.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('handshakes with the kind, name, version and implemented methods', () => {
    expect(connected).toMatchObject({ kind: 'runtime', name: 'fake', version: '9.9.9' });
    expect(connected.capabilities).toMatchObject({ exec: true, sharedNetworkNamespace: true });
    expect(connected.capabilities.methods).toEqual(expect.arrayContaining(['info', 'inspectContainer', 'logs', 'exec', 'watchEvents', 'importImage']));
    expect(connected.capabilities.methods).not.toContain('createSandbox');
    expect(connected.capabilities.methods).not.toContain('notInTheInterface');
  });

  it('carries results and error kinds, fields and messages', async () => {
    const { driver } = connected;
    expect(await driver.inspectContainer('c1')).toMatchObject({ id: 'c1', state: 'running', labels: { a: 'b' } });
    expect(await driver.listContainers()).toEqual([]); // a left-out argument stays undefined
    await driver.stopContainer('c1', 1);
    const err = await driver.stopContainer('c1', -1).catch((e) => e);
    expect([err.kind, err.field, err.message]).toEqual(['Invalid', 'graceSeconds', 'graceSeconds: must not be negative (got -1 for c1)']);
    expect(await kindOf(driver.inspectContainer('nope'))).toBe('NotFound');
    expect(await kindOf(driver.createSandbox({ podUid: 'u', podName: 'p', podNamespace: 'n' }))).toBe('NotImplemented');
  });

  it('dispatches only methods of the kind\'s interface', async () => {
    const client = driverClient(server.socketPath);
    try {
      const status = await new Promise<grpc.ServiceError>((resolve) => {
        client.Invoke({ method: 'notInTheInterface', argsJson: '[]' }, (err) => resolve(err!));
      });
      expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(JSON.parse(status.details)).toMatchObject({ kind: 'Invalid', field: 'method' });
    } finally {
      client.close();
    }
  });

  it('refuses another protocol version with FailedPrecondition', async () => {
    const client = driverClient(server.socketPath);
    try {
      const status = await new Promise<grpc.ServiceError>((resolve) => {
        client.Handshake({ protocolVersion: 2, kernelVersion: 'x' }, new grpc.Metadata(), {}, (err) => resolve(err!));
      });
      expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(JSON.parse(status.details).message).toMatch(/speaks driver protocol version 1, but the kernel asked for version 2/);
    } finally {
      client.close();
    }
  });

  it('streams logs, and refuses logs of an unknown container before streaming', async () => {
    expect(await readAll(await connected.driver.logs('c1'))).toBe('one\ntwo\n');
    expect(await kindOf(connected.driver.logs('nope'))).toBe('NotFound');
  });

  it('runs exec with env and stdin, then reports the exit code', async () => {
    const session = await connected.driver.exec('c1', ['cat', '-'], { stdin: Readable.from([Buffer.from('in'), Buffer.from('put')]), env: { X: 'y' } });
    const [out, err, code] = await Promise.all([readAll(session.stdout), readAll(session.stderr), session.exitCode]);
    expect([out, err, code]).toEqual(['cat -|input|y', 'warn', 3]);
    expect(await kindOf(connected.driver.exec('nope', ['true']))).toBe('NotFound');
  });

  it('delivers runtime events until disposed', async () => {
    const seen: RuntimeEvent[] = [];
    const sub = connected.driver.watchEvents!((e) => seen.push(e));
    for (let i = 0; i < 100 && fake.watchers === 0; i++) await new Promise((r) => setTimeout(r, 10));
    fake.emit({ containerId: 'c1', type: 'die', labels: { x: '1' } });
    for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual([{ containerId: 'c1', type: 'die', labels: { x: '1' } }]);
    await sub.dispose();
    for (let i = 0; i < 100 && fake.watchers > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(fake.watchers).toBe(0);
  });

  it('imports an image from a stream, and passes on the driver\'s refusal', async () => {
    await connected.driver.importImage!('my/app:1', Readable.from([Buffer.alloc(100_000), Buffer.alloc(5)]));
    expect(fake.imports).toEqual([{ name: 'my/app:1', bytes: 100_005 }]);
    expect(await kindOf(connected.driver.importImage!('untagged', Readable.from([Buffer.alloc(1)])))).toBe('Invalid');
  });

  it('serves the request/response methods of other kinds', async () => {
    const volumes = { name: 'vol', capabilities: async () => ({ block: true }), deleteVolume: async (id: string) => { throw errors.notFound(`volume ${id}`); } };
    const volumeServer = await serveDriver({ kind: 'volume', name: 'vol', driver: volumes, socketPath: join(dir, 'vol.sock'), handleSignals: false, exitWithParent: false });
    const vol = await connectDriver<VolumeDriver>(volumeServer.socketPath);
    try {
      expect(vol.kind).toBe('volume');
      expect(await vol.driver.capabilities()).toEqual({ block: true });
      expect(await kindOf(vol.driver.deleteVolume('v1'))).toBe('NotFound');
      expect(vol.driver.stage).toBeUndefined();
    } finally {
      vol.close();
      await volumeServer.close();
    }
  });

  it('fails calls with Unavailable once the driver is gone', async () => {
    await server.close();
    expect(await kindOf(connected.driver.info())).toBe('Unavailable');
  });

  describe('the Calls stream', () => {
    it('carries concurrent calls on one stream and matches results that come back out of order', async () => {
      let release!: () => void;
      const slow = { name: 'vol', capabilities: () => new Promise((ok) => { release = () => ok({ slow: true }); }), deleteVolume: async (id: string) => ({ deleted: id }) };
      const invokes = countInvokesOfNextServer();
      const volumeServer = await serveDriver({ kind: 'volume', name: 'vol', driver: slow, socketPath: join(dir, 'vol.sock'), handleSignals: false, exitWithParent: false });
      const vol = await connectDriver<VolumeDriver>(volumeServer.socketPath);
      try {
        const first = vol.driver.capabilities();
        const second = await vol.driver.deleteVolume('v2'); // answered while the first call still runs
        expect(second).toEqual({ deleted: 'v2' });
        release();
        expect(await first).toEqual({ slow: true });
        expect(invokes()).toBe(0); // neither went through a unary Invoke
      } finally {
        vol.close();
        await volumeServer.close();
      }
    });

    it('falls back to Invoke for a driver that does not serve Calls', async () => {
      const legacy = new grpc.Server();
      const socket = join(dir, 'legacy.sock');
      const { driverService } = await import('./protocol');
      legacy.addService(driverService().service, {
        Handshake: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { protocolVersion: 1, kind: 'volume', name: 'old', driverVersion: '1', capabilitiesJson: '{"methods":["capabilities"]}' }),
        Invoke: (call: grpc.ServerUnaryCall<{ method: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { resultJson: JSON.stringify({ via: 'Invoke', method: call.request.method }) }),
      });
      await new Promise<void>((ok, fail) => legacy.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? fail(e) : ok())));
      const vol = await connectDriver<VolumeDriver>(socket);
      try {
        const results = await Promise.all([vol.driver.capabilities(), vol.driver.capabilities()]);
        expect(results).toEqual([{ via: 'Invoke', method: 'capabilities' }, { via: 'Invoke', method: 'capabilities' }]);
        expect(await vol.driver.capabilities()).toEqual({ via: 'Invoke', method: 'capabilities' });
      } finally {
        vol.close();
        legacy.forceShutdown();
      }
    });

    it('lets a call in flight finish when the driver stops, without waiting out the shutdown grace', async () => {
      let release!: () => void;
      const slow = { name: 'vol', capabilities: () => new Promise((ok) => { release = () => ok({ done: true }); }) };
      const volumeServer = await serveDriver({ kind: 'volume', name: 'vol', driver: slow, socketPath: join(dir, 'vol.sock'), handleSignals: false, exitWithParent: false });
      const vol = await connectDriver<VolumeDriver>(volumeServer.socketPath);
      try {
        const inFlight = vol.driver.capabilities();
        await new Promise((r) => setTimeout(r, 50));
        const started = Date.now();
        const closed = volumeServer.close();
        release();
        expect(await inFlight).toEqual({ done: true });
        await closed;
        expect(Date.now() - started).toBeLessThan(1500); // SHUTDOWN_GRACE_MS is 2000
        expect(await kindOf(vol.driver.capabilities())).toBe('Unavailable');
      } finally {
        vol.close();
      }
    });

    it('fails the calls in flight with Unavailable when the connection is closed', async () => {
      const never = { name: 'vol', capabilities: () => new Promise(() => undefined) };
      const volumeServer = await serveDriver({ kind: 'volume', name: 'vol', driver: never, socketPath: join(dir, 'vol.sock'), handleSignals: false, exitWithParent: false });
      const vol = await connectDriver<VolumeDriver>(volumeServer.socketPath);
      const inFlight = kindOf(vol.driver.capabilities());
      await new Promise((r) => setTimeout(r, 50));
      vol.close();
      expect(await inFlight).toBe('Unavailable');
      await volumeServer.close();
    });
  });
});

/** Counts the unary Invoke calls that reach the next server to register the driver service (wraps its handler). */
function countInvokesOfNextServer(): () => number {
  let count = 0;
  const original = grpc.Server.prototype.addService;
  grpc.Server.prototype.addService = function (this: grpc.Server, service, implementation) {
    grpc.Server.prototype.addService = original;
    const invoke = implementation.Invoke as grpc.handleUnaryCall<unknown, unknown>;
    return original.call(this, service, { ...implementation, Invoke: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => { count++; invoke(call, cb); } });
  };
  return () => count;
}
