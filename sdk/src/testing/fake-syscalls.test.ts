import { errors } from '../errors';
import { KernObject } from '../resources/meta';
import { WatchEvent } from '../syscalls';
import { FakeSyscalls } from './fake-syscalls';

const cm = (name: string, labels: Record<string, string> = {}, data: Record<string, string> = {}) =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', labels }, data }) as KernObject;

/** Starts a watch that records `TYPE name@rv` and errors as `error Kind`. */
function recordWatch(fake: FakeSyscalls, args: Parameters<FakeSyscalls['watch']>[0]) {
  const seen: string[] = [];
  const w = fake.watch(
    args,
    (e: WatchEvent) => seen.push(`${e.type} ${e.object.metadata.name}@${e.object.metadata.resourceVersion}`),
    (err) => seen.push(`error ${(err as { kind?: string }).kind ?? err.message}`),
  );
  return { seen, w };
}

describe('FakeSyscalls', () => {
  it('numbers writes, lists sorted and watches from a revision', async () => {
    const fake = new FakeSyscalls();
    await fake.call('state.create', { object: cm('b') });
    const a = await fake.call('state.create', { object: cm('a') });
    await fake.call('state.update', { object: { ...a, data: { k: 'v' } } as KernObject });
    await fake.call('state.delete', { kind: 'ConfigMap', namespace: 'ns', name: 'b' });
    expect(fake.revision).toBe(4);
    const list = await fake.call('state.list', { kind: 'ConfigMap' });
    expect(list.metadata.resourceVersion).toBe('4');
    expect(list.items.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`)).toEqual(['a@3']);

    const { seen } = recordWatch(fake, { kind: 'ConfigMap', resourceVersion: '1' });
    await fake.flush();
    expect(seen).toEqual(['ADDED a@2', 'MODIFIED a@3', 'DELETED b@4']);
  });

  it('sends a label-selected watch an object entering as ADDED and leaving as DELETED, as the real store does', async () => {
    const fake = new FakeSyscalls();
    const { seen } = recordWatch(fake, { kind: 'ConfigMap', labelSelector: 'tier=web' });
    const a = await fake.call('state.create', { object: cm('a', { tier: 'db' }) });
    const moved = await fake.call('state.update', { object: { ...a, metadata: { ...a.metadata, labels: { tier: 'web' } } } });
    await fake.call('state.update', { object: { ...moved, data: { k: 'v' } } as KernObject });
    const latest = await fake.call('state.get', { kind: 'ConfigMap', namespace: 'ns', name: 'a' });
    await fake.call('state.update', { object: { ...latest, metadata: { ...latest.metadata, labels: { tier: 'db' } } } });
    await fake.flush();
    expect(seen).toEqual(['ADDED a@2', 'MODIFIED a@3', 'DELETED a@4']);
  });

  it.each<[string, number, string, string[]]>([
    ['from the compacted revision itself', 2, '2', ['MODIFIED a@3']],
    ['from below the compacted revision', 2, '1', ['error TooOld']],
    ['from now on (absent)', 3, '', []],
    ['from a bad revision', 0, 'x', ['error Invalid']],
  ])('watch %s', async (_name, compactTo, rv, want) => {
    const fake = new FakeSyscalls();
    const a = await fake.call('state.create', { object: cm('a') });
    await fake.call('state.create', { object: cm('b') });
    await fake.call('state.update', { object: { ...a, data: { k: 'v' } } as KernObject });
    fake.compact(compactTo);
    const { seen } = recordWatch(fake, { kind: 'ConfigMap', ...(rv ? { resourceVersion: rv } : {}) });
    await fake.flush();
    expect(seen).toEqual(want);
  });

  it('filters watches by namespace and labels, holds events while paused and loses them on break', async () => {
    const fake = new FakeSyscalls();
    const { seen } = recordWatch(fake, { kind: 'ConfigMap', namespace: 'ns', labelSelector: 'app=web' });
    await fake.call('state.create', { object: cm('web', { app: 'web' }) });
    await fake.call('state.create', { object: cm('db', { app: 'db' }) });
    await fake.flush();
    expect(seen).toEqual(['ADDED web@1']);
    fake.pauseWatches();
    await fake.call('state.create', { object: cm('web2', { app: 'web' }) });
    await fake.flush();
    expect(seen).toEqual(['ADDED web@1']);
    fake.resumeWatches();
    await fake.flush();
    expect(seen).toEqual(['ADDED web@1', 'ADDED web2@3']);
    fake.pauseWatches();
    await fake.call('state.create', { object: cm('web3', { app: 'web' }) });
    fake.breakWatches(errors.tooOld('compacted'));
    fake.resumeWatches();
    await fake.flush();
    expect(seen).toEqual(['ADDED web@1', 'ADDED web2@3', 'error TooOld']);
    expect(fake.openWatches).toBe(0);
  });

  it('ends a watch whose onEvent throws, reporting the error', async () => {
    const fake = new FakeSyscalls();
    const onError = jest.fn();
    fake.watch({}, () => { throw new Error('handler bug'); }, onError);
    await fake.call('state.create', { object: cm('a') });
    await fake.flush();
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'handler bug' }));
    expect(fake.openWatches).toBe(0);
  });

  it.each<[string, () => Promise<unknown>, string]>([
    ['a syscall outside allow', () => new FakeSyscalls({ allow: ['state.get'] }).call('state.list', { kind: 'Pod' }), 'Forbidden'],
    ['a reserved syscall', () => new FakeSyscalls().call('compute.createPod' as never, {} as never), 'NotImplemented'],
    ['a stream nobody scripted', () => new FakeSyscalls().stream('compute.logs', { name: 'p' }), 'NotImplemented'],
    ['a missing object', () => new FakeSyscalls().call('state.get', { kind: 'Pod', name: 'x' }), 'NotFound'],
    ['an injected failure', () => { const f = new FakeSyscalls(); f.failNext('state.list', errors.unavailable('down')); return f.call('state.list', { kind: 'Pod' }); }, 'Unavailable'],
  ])('fails %s', async (_name, fn, kind) => {
    await expect(fn()).rejects.toMatchObject({ kind });
  });

  it('applies in order: created, unchanged, configured', async () => {
    const fake = new FakeSyscalls();
    const actions: string[] = [];
    for (const o of [cm('a', {}, { k: 'v' }), cm('a', {}, { k: 'v' }), cm('a', {}, { k: 'w' }), cm('a', { x: 'y' }, { k: 'w' })]) {
      actions.push((await fake.call('state.apply', { object: o })).action);
    }
    expect(actions).toEqual(['created', 'unchanged', 'configured', 'configured']);
    expect(((await fake.call('state.get', { kind: 'ConfigMap', namespace: 'ns', name: 'a' })) as KernObject & { data: unknown }).data).toEqual({ k: 'w' });
  });

  it('streams scripted chunks', async () => {
    const fake = new FakeSyscalls();
    fake.handleStream('compute.logs', (args) => [{ data: `hello ${args.name}\n` }, { data: 'bye\n' }]);
    const chunks: string[] = [];
    for await (const c of await fake.stream('compute.logs', { name: 'web' })) chunks.push(c.data);
    expect(chunks).toEqual(['hello web\n', 'bye\n']);
    expect(fake.calls.map((c) => c.name)).toEqual(['compute.logs']);
  });
});
