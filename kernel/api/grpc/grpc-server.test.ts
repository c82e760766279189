import * as grpc from '@grpc/grpc-js';
import { KernObject, KernelError, WatchEvent, errors } from '@kern/sdk';
import { ApiTestContext, createApiTestContext } from '../../../test/helpers/api-test-context';
import { KernGrpcClient } from './grpc-client';
import { RunningGrpcServer, startGrpcServer } from './grpc-server';
import { kernelProtoPath, kernelService } from './kernel-proto';

function pod(name: string): KernObject {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' },
    spec: { containers: [{ name: 'main', image: 'busybox' }] },
  };
}

/** Collects watch events and the error that ended the watch. */
function collect() {
  const events: WatchEvent[] = [];
  let error: KernelError | undefined;
  return {
    events,
    get error() { return error; },
    onEvent: (e: WatchEvent) => { events.push(e); },
    onError: (e: KernelError) => { error = e; },
  };
}

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * A log stream that never ends by itself (one line every 10 ms), counting
 * how often it was stopped through `return()`.
 */
function endlessLines() {
  const state = { returned: 0, served: 0 };
  let stopped = false;
  const iterable: AsyncIterable<{ data: string }> = {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        if (stopped) return { done: true, value: undefined };
        await new Promise((r) => setTimeout(r, 10));
        return { done: false, value: { data: `line ${state.served++}\n` } };
      },
      return: async () => {
        stopped = true;
        state.returned++;
        return { done: true, value: undefined };
      },
    }),
  };
  return { state, iterable };
}

async function drain<T>(chunks: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const c of chunks) out.push(c);
  return out;
}

async function rejection(p: Promise<unknown>): Promise<KernelError> {
  try {
    await p;
  } catch (e) {
    return e as KernelError;
  }
  throw new Error('expected a rejection');
}

describe('gRPC API', () => {
  let t: ApiTestContext;
  let server: RunningGrpcServer;
  let client: KernGrpcClient;

  beforeEach(async () => {
    t = await createApiTestContext();
    server = await startGrpcServer(t.api, { host: '127.0.0.1', port: 0 });
    client = new KernGrpcClient({ address: `127.0.0.1:${server.port}`, token: t.adminToken });
  });

  afterEach(async () => {
    client.close();
    await server.close();
    await t.cleanup();
  });

  it('finds kernel.proto in the sdk', () => {
    expect(kernelProtoPath()).toMatch(/sdk\/proto\/kern\/v1\/kernel\.proto$/);
    expect(Object.keys(kernelService().service).sort()).toEqual(['Call', 'ListSyscalls', 'Stream', 'Version', 'Watch']);
  });

  it('calls syscalls', async () => {
    const created = await client.call('state.create', { object: pod('g1') });
    expect(created.metadata.uid).toEqual(expect.any(String));
    const got = await client.call('state.get', { kind: 'pods', namespace: 'default', name: 'g1' });
    expect(got.metadata.uid).toBe(created.metadata.uid);
    const list = await client.call('state.list', { kind: 'Pod' });
    expect(list).toEqual(expect.objectContaining({ kind: 'PodList', items: [expect.objectContaining({ kind: 'Pod' })] }));
  });

  it('lists syscalls and tells its version', async () => {
    expect(await client.listSyscalls()).toEqual(expect.arrayContaining([{ name: 'state.create', implemented: true }, { name: 'net.attach', implemented: false }]));
    expect(await client.version()).toEqual(expect.objectContaining({ gitVersion: 'v0.1.0', kernAbi: '1.0.0' }));
  });

  it.each([
    ['an unknown kind', 'state.get', { kind: 'widget', name: 'x' }, 'Invalid', grpc.status.INVALID_ARGUMENT, 'kind'],
    ['a missing object', 'state.get', { kind: 'Pod', namespace: 'default', name: 'nope' }, 'NotFound', grpc.status.NOT_FOUND, undefined],
    ['an unknown syscall', 'nope.nothing', {}, 'NotFound', grpc.status.NOT_FOUND, 'name'],
    ['a reserved syscall', 'net.attach', {}, 'NotImplemented', grpc.status.UNIMPLEMENTED, undefined],
    ['state.watch as a call', 'state.watch', {}, 'Invalid', grpc.status.INVALID_ARGUMENT, 'name'],
  ])('maps %s to a KernelError and the gRPC code', async (_what, name, args, kind, code, field) => {
    const err = await rejection(client.call(name, args));
    expect(err.kind).toBe(kind);
    expect(err.field).toBe(field);
    expect((err.cause as grpc.ServiceError).code).toBe(code);
  });

  it('puts the Status JSON in the details string', async () => {
    const raw = new (kernelService())(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${t.adminToken}`);
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      (raw as unknown as { Call: (...a: unknown[]) => void }).Call({ name: 'state.get', argsJson: '{"kind":"Pod","namespace":"default","name":"x"}' }, md,
        (e: grpc.ServiceError) => resolve(e));
    });
    raw.close();
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(JSON.parse(err.details)).toEqual(expect.objectContaining({ kind: 'Status', reason: 'NotFound', code: 404, kernCode: 'KERN_ERR_NOT_FOUND' }));
    expect(err.metadata.get('kern-code')).toEqual(['KERN_ERR_NOT_FOUND']);
  });

  it.each([
    ['malformed', '{"kind":', /malformed JSON/],
    ['nested 3,000 levels deep', `{"object": ${'{"a": '.repeat(3000)}1${'}'.repeat(3001)}`, /nests deeper than 100 levels \(at object\.a\.a\.a\.a\.a…\)/],
  ])('refuses %s arguments', async (_what, argsJson, message) => {
    const raw = new (kernelService())(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${t.adminToken}`);
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      (raw as unknown as { Call: (...a: unknown[]) => void }).Call({ name: 'state.create', argsJson }, md, (e: grpc.ServiceError) => resolve(e));
    });
    raw.close();
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(JSON.parse(err.details).field).toBe('args_json');
    expect(JSON.parse(err.details).message).toMatch(message);
  });

  it.each([
    ['no token', undefined],
    ['a wrong token', 'wrong'],
  ])('refuses %s with UNAUTHENTICATED', async (_what, token) => {
    const anon = new KernGrpcClient({ address: `127.0.0.1:${server.port}`, token });
    try {
      const err = await rejection(anon.call('state.list', { kind: 'Pod' }));
      expect(err.kind).toBe('Unauthenticated');
      expect((err.cause as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
      const w = collect();
      anon.watch({ kind: 'Pod' }, w.onEvent, w.onError);
      await waitFor(() => w.error !== undefined);
      expect(w.error?.kind).toBe('Unauthenticated');
    } finally {
      anon.close();
    }
  });

  it('applies the principal\'s allowed syscalls', async () => {
    const token = t.auth.issue({ name: 'user:reader', allowed: ['state.get'] });
    const reader = new KernGrpcClient({ address: `127.0.0.1:${server.port}`, token });
    try {
      await client.call('state.create', { object: pod('r') });
      expect((await reader.call('state.get', { kind: 'Pod', namespace: 'default', name: 'r' })).metadata.name).toBe('r');
      const err = await rejection(reader.call('state.delete', { kind: 'Pod', namespace: 'default', name: 'r' }));
      expect(err.kind).toBe('Forbidden');
      const w = collect();
      reader.watch({ kind: 'Pod' }, w.onEvent, w.onError);
      await waitFor(() => w.error !== undefined);
      expect(w.error?.kind).toBe('Forbidden');
    } finally {
      reader.close();
    }
  });

  it('streams watch events in order and resumes from a resourceVersion', async () => {
    const w = collect();
    const start = String(await t.state.revision());
    const watch = client.watch({ kind: 'Pod', resourceVersion: start }, w.onEvent, w.onError);
    const created = await client.call('state.create', { object: pod('w') });
    await client.call('state.update', { object: { ...created, metadata: { ...created.metadata, labels: { v: '2' } } } });
    await client.call('state.delete', { kind: 'Pod', namespace: 'default', name: 'w' });
    await waitFor(() => w.events.length === 3);
    expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    watch.stop();

    const resumed = collect();
    const again = client.watch({ kind: 'pods', resourceVersion: created.metadata.resourceVersion }, resumed.onEvent, resumed.onError);
    await waitFor(() => resumed.events.length === 2);
    expect(resumed.events.map((e) => e.type)).toEqual(['MODIFIED', 'DELETED']);
    again.stop();
    expect(resumed.error).toBeUndefined();
  });

  it('ends a watch from a compacted revision with TooOld', async () => {
    await client.call('state.create', { object: pod('a') });
    await client.call('state.create', { object: pod('b') });
    await t.store.compact(await t.state.revision());
    const w = collect();
    client.watch({ kind: 'Pod', resourceVersion: '1' }, w.onEvent, w.onError);
    await waitFor(() => w.error !== undefined);
    expect(w.error?.kind).toBe('TooOld');
  });

  it('stops the store watch when the client cancels', async () => {
    const before = t.store.openWatches;
    const w = collect();
    const watch = client.watch({ kind: 'Pod' }, w.onEvent, w.onError);
    await waitFor(() => t.store.openWatches === before + 1);
    watch.stop();
    await waitFor(() => t.store.openWatches === before);
    expect(w.error).toBeUndefined();
  });

  describe('Stream', () => {
    it('delivers the chunks of a streaming syscall in order, with the args and caller it was given', async () => {
      const seen: unknown[] = [];
      t.syscalls.registerStream('compute.exec', async (args, caller) => {
        seen.push(args, caller.principal);
        return (async function* () {
          yield { stream: 'stdout', data: Buffer.from('out').toString('base64') };
          yield { stream: 'stderr', data: Buffer.from('err').toString('base64') };
          yield { exitCode: 3 };
        })();
      });
      const frames = await drain(client.stream('compute.exec', { namespace: 'default', name: 'web', command: ['sh'] }));
      expect(frames).toEqual([{ stream: 'stdout', data: 'b3V0' }, { stream: 'stderr', data: 'ZXJy' }, { exitCode: 3 }]);
      expect(seen).toEqual([{ namespace: 'default', name: 'web', command: ['sh'] }, 'user:admin']);
    });

    it.each([
      ['a refusal before the first chunk', async () => { throw errors.notFound('pod "default/nope"'); }, 'NotFound', grpc.status.NOT_FOUND, 0],
      ['a failure after some chunks', async () => (async function* () {
        yield { data: 'first\n' };
        throw errors.unavailable('the container went away');
      })(), 'Unavailable', grpc.status.UNAVAILABLE, 1],
    ])('ends with a KernelError for %s', async (_what, handler, kind, code, chunksBefore) => {
      t.syscalls.registerStream('compute.logs', handler);
      const got: unknown[] = [];
      const err = await rejection((async () => { for await (const c of client.stream('compute.logs', { name: 'nope' })) got.push(c); })());
      expect([err.kind, (err.cause as grpc.ServiceError).code, got.length]).toEqual([kind, code, chunksBefore]);
    });

    it.each([
      ['state.watch', 'Invalid', 'name'],
      ['nope.nothing', 'NotFound', 'name'],
      ['compute.logs', 'Unavailable', undefined],
    ])('refuses %s with %s', async (name, kind, field) => {
      const err = await rejection(drain(client.stream(name, {})));
      expect([err.kind, err.field]).toEqual([kind, field]);
    });

    it('applies the principal\'s allowed syscalls', async () => {
      t.syscalls.registerStream('compute.logs', async () => endlessLines().iterable);
      const reader = new KernGrpcClient({ address: `127.0.0.1:${server.port}`, token: t.auth.issue({ name: 'user:reader', allowed: ['state.*'] }) });
      try {
        expect((await rejection(drain(reader.stream('compute.logs', { name: 'x' })))).kind).toBe('Forbidden');
      } finally {
        reader.close();
      }
    });

    it('stops the syscall through return() when the client cancels', async () => {
      const { state, iterable } = endlessLines();
      t.syscalls.registerStream('compute.logs', async () => iterable);
      const got: string[] = [];
      for await (const c of client.stream('compute.logs', { name: 'web', follow: true })) {
        got.push(c.data);
        if (got.length === 3) break;
      }
      expect(got).toEqual(['line 0\n', 'line 1\n', 'line 2\n']);
      await waitFor(() => state.returned === 1);
    });

    it('ends open streams when the server closes', async () => {
      const { state, iterable } = endlessLines();
      t.syscalls.registerStream('compute.logs', async () => iterable);
      const chunks = client.stream('compute.logs', { name: 'web', follow: true })[Symbol.asyncIterator]();
      await chunks.next();
      await server.close();
      await waitFor(() => state.returned === 1);
      // What was sent arrives, then the stream fails as the server went away.
      const err = await rejection((async () => { for (;;) if ((await chunks.next()).done) return; })());
      expect(err.kind).toBe('Unavailable');
    });
  });

  it('ends open watches when the server closes', async () => {
    const w = collect();
    client.watch({ kind: 'Pod' }, w.onEvent, w.onError);
    await waitFor(() => t.store.openWatches === 1);
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(1500);
    await waitFor(() => w.error !== undefined);
    expect(w.error?.kind).toBe('Unavailable');
    expect(t.store.openWatches).toBe(0);
  });
});
