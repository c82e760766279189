import { KernelError, errors, isErrorKind } from '../errors';
import { KernObject } from '../resources/meta';
import { SyscallWatch, WatchArgs, WatchEvent } from '../syscalls';
import { FakeSyscalls } from '../testing/fake-syscalls';
import { Informer, InformerErrorSource, InformerOptions, controllerKey, splitControllerKey } from './informer';

type Pod = KernObject<{ image: string }>;

function pod(namespace: string | undefined, name: string, labels: Record<string, string> = {}, image = 'nginx'): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, ...(namespace ? { namespace } : {}), labels }, spec: { image } };
}

/** Polls (on real timers) until `cond` holds; fails after `ms`. */
async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Records every handler call as text, and mirrors the stream into a map. */
function record(informer: Informer<Pod>) {
  const events: string[] = [];
  const mirror = new Map<string, Pod>();
  informer.onAdd((o) => { events.push(`add ${controllerKey(o)}`); mirror.set(controllerKey(o), o); });
  informer.onUpdate((old, o) => {
    events.push(`update ${controllerKey(o)}`);
    expect(mirror.get(controllerKey(old))).toBe(old); // handlers saw the previous state
    mirror.set(controllerKey(o), o);
  });
  informer.onDelete((o) => { events.push(`delete ${controllerKey(o)}`); mirror.delete(controllerKey(o)); });
  return { events, mirror };
}

describe('controllerKey', () => {
  it.each<[string | undefined, string, string]>([
    ['default', 'web', 'default/web'],
    [undefined, 'node-1', 'node-1'],
    ['', 'node-1', 'node-1'],
  ])('namespace %p name %p -> %p and back', (namespace, name, key) => {
    expect(controllerKey(pod(namespace, name))).toBe(key);
    expect(splitControllerKey(key)).toEqual(namespace ? { namespace, name } : { name });
  });
});

describe('Informer', () => {
  let fake: FakeSyscalls;
  let informers: Informer<Pod>[];
  let reported: Array<[InformerErrorSource, KernelError]>;

  const make = (options: Partial<InformerOptions> = {}) => {
    const inf = new Informer<Pod>(fake, {
      kind: 'Pod', relistBaseDelayMs: 1, relistMaxDelayMs: 20,
      onError: (err, source) => reported.push([source, err]), ...options,
    });
    informers.push(inf);
    return inf;
  };
  const create = (o: KernObject) => fake.call('state.create', { object: o });
  const serverState = async (args: { namespace?: string; labelSelector?: string } = {}) =>
    (await fake.call('state.list', { kind: 'Pod', ...args })).items.map((o) => `${controllerKey(o)}@${o.metadata.resourceVersion}`);
  const cacheState = (inf: Informer<Pod>) => inf.list().map((o) => `${controllerKey(o)}@${o.metadata.resourceVersion}`);
  const mirrorState = (m: Map<string, Pod>) => [...m.keys()].sort().map((k) => `${k}@${m.get(k)?.metadata.resourceVersion}`);

  beforeEach(() => {
    fake = new FakeSyscalls();
    informers = [];
    reported = [];
  });
  afterEach(() => informers.forEach((i) => i.stop()));

  it('lists into the cache, reports adds, then syncs', async () => {
    await create(pod('ns1', 'b'));
    await create(pod('ns1', 'a'));
    await create(pod('ns2', 'c'));
    await create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'ns1' } });
    const inf = make({ namespace: 'ns1' });
    const { events } = record(inf);
    expect(inf.hasSynced).toBe(false);
    const synced = inf.waitForSync();
    inf.start();
    inf.start(); // a no-op while running
    await synced;
    expect(inf.hasSynced).toBe(true);
    expect(events).toEqual(['add ns1/a', 'add ns1/b']);
    expect(inf.list().map(controllerKey)).toEqual(['ns1/a', 'ns1/b']);
    expect(inf.get('ns1', 'a')?.spec?.image).toBe('nginx');
    expect(inf.getByKey('ns1/b')?.metadata.name).toBe('b');
    expect(inf.get('ns2', 'c')).toBeUndefined();
    expect(inf.resourceVersion).toBe(String(fake.revision));
    expect(fake.calls.filter((c) => c.name === 'state.list')).toHaveLength(1);
    expect(fake.calls.find((c) => c.name === 'state.watch')?.args).toEqual({
      kind: 'Pod', namespace: 'ns1', labelSelector: undefined, resourceVersion: String(fake.revision),
    });
    await expect(inf.waitForSync()).resolves.toBeUndefined();
  });

  it('caches cluster-scoped objects by name', async () => {
    await create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' } });
    const inf = new Informer(fake, { kind: 'Node' });
    informers.push(inf as unknown as Informer<Pod>);
    inf.start();
    await inf.waitForSync();
    expect(inf.get(undefined, 'node-1')?.metadata.name).toBe('node-1');
    expect(inf.get('', 'node-1')).toBe(inf.getByKey('node-1'));
  });

  it('follows continue pages when the server pages the list', async () => {
    for (const n of ['a', 'b', 'c', 'd', 'e']) await create(pod('ns', n));
    const paging = Object.create(fake) as FakeSyscalls;
    paging.call = ((name: 'state.list', args: { kind: string; continue?: string }) =>
      fake.call(name, { ...args, limit: 2 })) as FakeSyscalls['call'];
    const inf = new Informer<Pod>(paging, { kind: 'Pod' });
    informers.push(inf);
    inf.start();
    await inf.waitForSync();
    expect(inf.list().map(controllerKey)).toEqual(['ns/a', 'ns/b', 'ns/c', 'ns/d', 'ns/e']);
    expect(fake.calls.filter((c) => c.name === 'state.list')).toHaveLength(3);
  });

  it('reports updates (old, new) and deletes from the watch, cache first', async () => {
    const a = await create(pod('ns', 'a'));
    await create(pod('ns', 'b'));
    const inf = make();
    const { events, mirror } = record(inf);
    const seenByHandler: Array<string | undefined> = [];
    inf.onUpdate((_old, o) => { seenByHandler.push(inf.getByKey(controllerKey(o))?.spec?.image); });
    inf.start();
    await inf.waitForSync();

    await fake.call('state.update', { object: { ...a, spec: { image: 'nginx:2' } } });
    await fake.call('state.delete', { kind: 'Pod', namespace: 'ns', name: 'b' });
    await create(pod('ns', 'c'));
    await fake.call('state.update', { object: { ...a, spec: { image: 'nginx:2' }, metadata: { ...a.metadata, resourceVersion: undefined, labels: { x: 'y' } } } });
    await fake.flush();

    expect(events).toEqual(['add ns/a', 'add ns/b', 'update ns/a', 'delete ns/b', 'add ns/c', 'update ns/a']);
    expect(seenByHandler).toEqual(['nginx:2', 'nginx:2']);
    expect(inf.get('ns', 'a')?.metadata.labels).toEqual({ x: 'y' });
    expect(cacheState(inf)).toEqual(await serverState());
    expect(mirrorState(mirror)).toEqual(await serverState());
    expect(inf.resourceVersion).toBe(String(fake.revision));
  });

  it('reports a marked-for-deletion object as an update, then the delete when its finalizer goes', async () => {
    const a = await create({ ...pod('ns', 'a'), metadata: { name: 'a', namespace: 'ns', finalizers: ['kern.io/test'] } });
    const inf = make();
    const { events } = record(inf);
    inf.start();
    await inf.waitForSync();
    const marked = await fake.call('state.delete', { kind: 'Pod', namespace: 'ns', name: 'a' });
    await fake.flush();
    expect(inf.get('ns', 'a')?.metadata.deletionTimestamp).toBeDefined();
    await fake.call('state.update', { object: { ...marked, metadata: { ...marked.metadata, finalizers: [] } } });
    await fake.flush();
    expect(events).toEqual(['add ns/a', 'update ns/a', 'delete ns/a']);
    expect(a.metadata.uid).toBeDefined();
  });

  it.each<[string, Parameters<Informer<Pod>['list']>[0], string[]]>([
    ['no filter', undefined, ['ns1/a', 'ns1/b', 'ns2/c']],
    ['namespace', { namespace: 'ns1' }, ['ns1/a', 'ns1/b']],
    ['label selector', { labelSelector: 'tier=db' }, ['ns1/b', 'ns2/c']],
    ['namespace and selector', { namespace: 'ns2', labelSelector: 'tier in (db)' }, ['ns2/c']],
    ['predicate', { match: (o) => o.spec?.image === 'redis' }, ['ns2/c']],
    ['nothing matches', { namespace: 'ns3' }, []],
  ])('list filters by %s', async (_name, filter, want) => {
    await create(pod('ns1', 'a', { tier: 'web' }));
    await create(pod('ns1', 'b', { tier: 'db' }));
    await create(pod('ns2', 'c', { tier: 'db' }, 'redis'));
    const inf = make();
    inf.start();
    await inf.waitForSync();
    expect(inf.list(filter).map(controllerKey)).toEqual(want);
  });

  it('refuses a bad selector in the options and in list filters', () => {
    expect(() => make({ labelSelector: 'a in (' })).toThrow(expect.objectContaining({ kind: 'Invalid' }));
    expect(() => make({ kind: '' })).toThrow(expect.objectContaining({ kind: 'Invalid', field: 'kind' }));
    expect(() => make().list({ labelSelector: '=x' })).toThrow(expect.objectContaining({ field: 'filter.labelSelector' }));
  });

  it('hands cached objects to a late onAdd; a disposed handler is not called again', async () => {
    await create(pod('ns', 'a'));
    await create(pod('ns', 'b'));
    const inf = make();
    inf.start();
    await inf.waitForSync();
    const late: string[] = [];
    const reg = inf.onAdd((o) => { late.push(controllerKey(o)); });
    expect(late).toEqual(['ns/a', 'ns/b']);
    const updates = jest.fn();
    const upd = inf.onUpdate(updates);
    await reg.dispose();
    await upd.dispose();
    await create(pod('ns', 'c'));
    await fake.call('state.apply', { object: pod('ns', 'a', {}, 'nginx:2') });
    await fake.flush();
    expect(late).toEqual(['ns/a', 'ns/b']);
    expect(updates).not.toHaveBeenCalled();
    expect(inf.list()).toHaveLength(3);
  });

  it('reports throwing and rejecting handlers and still runs the others', async () => {
    const inf = make();
    const seen: string[] = [];
    inf.onAdd(() => { throw errors.invalid('spec', 'bad'); });
    inf.onAdd(async () => { throw new Error('async boom'); });
    inf.onAdd((o) => { seen.push(o.metadata.name); });
    inf.start();
    await inf.waitForSync();
    await create(pod('ns', 'a'));
    await fake.flush();
    expect(seen).toEqual(['a']);
    expect(reported.map(([source, e]) => `${source} ${e.kind} ${e.message}`)).toEqual([
      'handler Invalid spec: bad', 'handler Internal async boom',
    ]);
  });

  it('re-lists after TooOld and emits exactly the differences it missed', async () => {
    const a = await create(pod('ns', 'a', { app: 'web' }));
    await create(pod('ns', 'b', { app: 'web' }));
    const c = await create(pod('ns', 'c', { app: 'web' }));
    const same = await create(pod('ns', 'same', { app: 'web' }));
    const inf = make({ labelSelector: 'app=web' });
    const { events, mirror } = record(inf);
    inf.start();
    await inf.waitForSync();
    events.length = 0;

    // The watch falls behind: changes pile up, history is compacted, the watch dies.
    fake.pauseWatches();
    await fake.call('state.update', { object: { ...a, spec: { image: 'nginx:2' } } });
    await fake.call('state.delete', { kind: 'Pod', namespace: 'ns', name: 'b' });
    await create(pod('ns', 'd', { app: 'web' }));
    await create(pod('ns', 'e', { app: 'db' }));
    await fake.call('state.update', { object: { ...c, metadata: { ...c.metadata, labels: { app: 'db' } } } }); // leaves the selector
    await fake.call('state.delete', { kind: 'Pod', namespace: 'ns', name: 'd' });
    await create(pod('ns', 'd', { app: 'web' }, 'redis')); // created, deleted, re-created while behind: one add
    fake.compact();
    fake.breakWatches(errors.tooOld('resourceVersion was compacted'));
    fake.resumeWatches();
    await until(() => fake.openWatches === 1 && inf.resourceVersion === String(fake.revision));
    expect(fake.calls.filter((x) => x.name === 'state.list')).toHaveLength(2);

    expect(events).toEqual(['update ns/a', 'add ns/d', 'delete ns/b', 'delete ns/c']);
    expect(reported.map(([source, e]) => `${source} ${e.kind}`)).toEqual(['watch TooOld']);
    expect(inf.get('ns', 'same')?.metadata.resourceVersion).toBe(same.metadata.resourceVersion);
    expect(cacheState(inf)).toEqual(await serverState({ labelSelector: 'app=web' }));
    expect(mirrorState(mirror)).toEqual(cacheState(inf));

    // The new watch starts at the new list's revision and streams again.
    const lastWatch = fake.calls.filter((x) => x.name === 'state.watch').pop();
    expect((lastWatch?.args as WatchArgs).resourceVersion).toBe(String(fake.revision));
    await fake.call('state.update', { object: { ...same, spec: { image: 'nginx:3' } } });
    await fake.flush();
    expect(events.slice(4)).toEqual(['update ns/same']);
  });

  it.each<[string, Error]>([
    ['TooOld', errors.tooOld('compacted')],
    ['Unavailable', errors.unavailable('connection reset')],
    ['a plain Error', new Error('socket hang up')],
  ])('recovers when the watch fails to start with %s, without repeating adds', async (_name, err) => {
    await create(pod('ns', 'a'));
    fake.failNext('state.watch', err);
    const inf = make();
    const { events } = record(inf);
    inf.start();
    await inf.waitForSync();
    await until(() => fake.calls.filter((x) => x.name === 'state.watch').length === 2 && fake.openWatches === 1);
    await create(pod('ns', 'b'));
    await fake.flush();
    expect(events).toEqual(['add ns/a', 'add ns/b']);
    expect(reported.map(([source]) => source)).toEqual(['watch']);
  });

  it('retries a failing list with back-off and still syncs', async () => {
    await create(pod('ns', 'a'));
    fake.failNext('state.list', errors.unavailable('store down'));
    fake.failNext('state.list', errors.unavailable('store down'));
    const inf = make();
    inf.start();
    await inf.waitForSync(2000);
    expect(inf.list().map(controllerKey)).toEqual(['ns/a']);
    expect(reported.map(([source, e]) => `${source} ${e.kind}`)).toEqual(['list Unavailable', 'list Unavailable']);
  });

  it.each<[string, unknown, string]>([
    ['a Kubernetes 410 Status', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' }, 'TooOld'],
    ['a KernelError shape', { kind: 'Unavailable', message: 'draining' }, 'Unavailable'],
    ['anything else', { kind: 'Status', message: 'weird' }, 'Unavailable'],
  ])('treats an ERROR event carrying %s as a watch error and re-lists', async (_name, object, kind) => {
    await create(pod('ns', 'a'));
    let first = true;
    const erroring = Object.create(fake) as FakeSyscalls;
    erroring.watch = (args: WatchArgs, onEvent: (e: WatchEvent) => void, onError?: (e: Error) => void): SyscallWatch => {
      const w = fake.watch(args, onEvent, onError);
      if (first) {
        first = false;
        queueMicrotask(() => onEvent({ type: 'ERROR', object: object as KernObject }));
      }
      return w;
    };
    const inf = new Informer<Pod>(erroring, {
      kind: 'Pod', relistBaseDelayMs: 1, onError: (err, source) => reported.push([source, err]),
    });
    informers.push(inf);
    inf.start();
    await inf.waitForSync();
    await until(() => fake.calls.filter((x) => x.name === 'state.list').length === 2 && fake.openWatches === 1);
    expect(reported.map(([source, e]) => `${source} ${e.kind}`)).toEqual([`watch ${kind}`]);
  });

  it('waitForSync rejects on timeout and when stopped first', async () => {
    const inf = make();
    const late = await inf.waitForSync(5).then(() => undefined, (e: unknown) => e);
    expect(isErrorKind(late, 'DeadlineExceeded')).toBe(true);
    const pending = inf.waitForSync();
    inf.stop();
    await expect(pending).rejects.toMatchObject({ kind: 'Unavailable' });
    await expect(inf.waitForSync()).rejects.toMatchObject({ kind: 'Unavailable' });
  });

  it('stop ends the watch and the back-off; no handler runs after it', async () => {
    const inf = make();
    const { events } = record(inf);
    inf.start();
    await inf.waitForSync();
    expect(fake.openWatches).toBe(1);
    inf.stop();
    inf.stop();
    expect(fake.openWatches).toBe(0);
    await create(pod('ns', 'a'));
    await fake.flush();
    expect(events).toEqual([]);
    expect(() => inf.start()).toThrow(expect.objectContaining({ kind: 'FailedPrecondition' }));

    // Stopped while waiting to re-list: the timer is cleared, no list follows.
    const slow = make({ relistBaseDelayMs: 60_000, relistMaxDelayMs: 60_000 });
    fake.failNext('state.list', errors.unavailable('store down'));
    slow.start();
    await until(() => reported.length === 1);
    slow.dispose();
    const lists = fake.calls.filter((x) => x.name === 'state.list').length;
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(fake.calls.filter((x) => x.name === 'state.list')).toHaveLength(lists);
  });
});
