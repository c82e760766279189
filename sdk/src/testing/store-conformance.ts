import { isKernelError } from '../errors';
import { failureOf } from './suite-helpers';
import { KernObject, ObjectKey } from '../resources/meta';
import { parseLabelSelector } from '../selectors';
import { StoreDriver, StoreWatch, StoreWatchEvent, StoreWatchOptions } from '../store/store-driver';

/** One store under test, made fresh for every test by the suite's factory. */
export interface StoreUnderTest {
  store: StoreDriver;
  /**
   * Releases everything the factory made and deletes the backing data. Runs
   * after every test, also when the test closed the store itself.
   */
  cleanup(): Promise<void>;
  /**
   * Opens another store instance over the same backing data (another
   * connection, or what another process would see). When present, the suite
   * also runs its shared-data tests; it closes what this returns.
   */
  openSecond?(): Promise<StoreDriver>;
}

export interface StoreConformanceOptions {
  /** Parallel read-modify-write loops in the lost-update tests. Default 4. */
  concurrentWriters?: number;
  /** Increments each of those loops makes. Default 25. */
  incrementsPerWriter?: number;
  /** How long to wait for an expected watch event, in ms. Default 5000. */
  eventTimeoutMs?: number;
}

const API_VERSION = 'conformance.kern.dev/v1';

interface TestObjectSpec {
  namespace?: string;
  labels?: Record<string, string>;
  finalizers?: string[];
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

/** A test object of `kind` named `name`; namespace `default` unless given (`''` = cluster-scoped). */
function testObject(kind: string, name: string, o: TestObjectSpec = {}): KernObject {
  const namespace = o.namespace ?? 'default';
  return {
    apiVersion: API_VERSION,
    kind,
    metadata: {
      name,
      ...(namespace ? { namespace } : {}),
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.finalizers ? { finalizers: o.finalizers } : {}),
    },
    spec: o.spec ?? { size: 1 },
    ...(o.status ? { status: o.status } : {}),
  };
}

function keyOfTest(obj: KernObject): ObjectKey {
  return { kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name };
}

const rv = (obj: KernObject): number => Number(obj.metadata.resourceVersion);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `condition`; `what` describes the wait when it times out (a function, to show the state at that time). */
async function waitFor(what: () => string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await sleep(5);
  }
}

/** A watch that records what it gets. */
interface Recorder {
  events: StoreWatchEvent[];
  errors: Error[];
  stop(): void;
  /** Waits until `n` events arrived. */
  untilEvents(n: number): Promise<StoreWatchEvent[]>;
  /** Waits until an event at `revision` (or later) arrived. */
  untilRevision(revision: number): Promise<StoreWatchEvent[]>;
  untilError(): Promise<Error>;
}

/**
 * Declares the jest suite every {@link StoreDriver} must pass. Call it at the
 * top level of a test file; `factory` runs before every test and must return
 * an empty store.
 *
 * ```ts
 * describeStoreConformance('sqlite', async () => {
 *   const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-'));
 *   const file = path.join(dir, 'state.db');
 *   const store = new SqliteStore({ path: file });
 *   return {
 *     store,
 *     openSecond: async () => new SqliteStore({ path: file }),
 *     cleanup: async () => { await store.close(); fs.rmSync(dir, { recursive: true, force: true }); },
 *   };
 * });
 * ```
 *
 * Decisions the suite pins down where the interface leaves room: a watch
 * never throws (TooOld, Unavailable and the like arrive through `onError`);
 * a malformed `continue` token is Invalid; `compact` beyond the newest
 * revision is Invalid and below the compacted one a no-op; `close` twice is
 * fine and ends open watches with Unavailable.
 */
export function describeStoreConformance(
  name: string,
  factory: () => Promise<StoreUnderTest>,
  options: StoreConformanceOptions = {},
): void {
  const writers = options.concurrentWriters ?? 4;
  const increments = options.incrementsPerWriter ?? 25;
  const timeoutMs = options.eventTimeoutMs ?? 5000;

  describe(`store conformance: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: StoreDriver;
    const watches: StoreWatch[] = [];
    const extraStores: StoreDriver[] = [];

    beforeEach(async () => {
      sut = await factory();
      store = sut.store;
    });

    afterEach(async () => {
      watches.splice(0).forEach((w) => w.stop());
      for (const s of extraStores.splice(0)) await s.close();
      await sut.cleanup();
    });

    function record(watchOptions: StoreWatchOptions, on: StoreDriver = store): Recorder {
      const events: StoreWatchEvent[] = [];
      const errors: Error[] = [];
      const watch = on.watch(watchOptions, (e) => events.push(e), (err) => errors.push(err));
      watches.push(watch);
      const describeWatch = JSON.stringify(watchOptions);
      return {
        events,
        errors,
        stop: () => watch.stop(),
        untilEvents: async (n) => {
          await waitFor(() => `${n} events on watch ${describeWatch} (have ${events.length}, errors: ${errors.map(String).join('; ') || 'none'})`,
            () => events.length >= n || errors.length > 0, timeoutMs);
          if (errors.length) throw errors[0];
          return events;
        },
        untilRevision: async (revision) => {
          await waitFor(() => `revision ${revision} on watch ${describeWatch} (last ${events.at(-1)?.revision ?? 'none'})`,
            () => (events.at(-1)?.revision ?? 0) >= revision || errors.length > 0, timeoutMs);
          if (errors.length) throw errors[0];
          return events;
        },
        untilError: async () => {
          await waitFor(() => `an error on watch ${describeWatch}`, () => errors.length > 0, timeoutMs);
          return errors[0];
        },
      };
    }

    /** Lets a driver deliver anything it still holds, so tests can check nothing more arrives. */
    const settle = () => sleep(100);

    const summary = (events: StoreWatchEvent[]) => events.map((e) => `${e.type} ${e.object.metadata.name}`);

    describe('create', () => {
      it('sets uid, creationTimestamp, generation 1 and resourceVersion, and leaves its argument alone', async () => {
        const input = testObject('Widget', 'a', { labels: { app: 'x' } });
        const before = JSON.stringify(input);
        const created = await store.create(input);
        expect(JSON.stringify(input)).toBe(before);
        expect(created.metadata.uid).toEqual(expect.any(String));
        expect(created.metadata.uid).not.toBe('');
        expect(Number.isNaN(Date.parse(created.metadata.creationTimestamp ?? ''))).toBe(false);
        expect(created.metadata.generation).toBe(1);
        expect(created.metadata.resourceVersion).toMatch(/^[1-9][0-9]*$/);
        expect(created.metadata.deletionTimestamp).toBeUndefined();
        expect(created).toMatchObject({ apiVersion: API_VERSION, kind: 'Widget', spec: { size: 1 }, metadata: { name: 'a', namespace: 'default', labels: { app: 'x' } } });
        expect(await store.get(keyOfTest(created))).toEqual(created);
      });

      it('ignores uid, generation, resourceVersion and timestamps sent by the client', async () => {
        const input = testObject('Widget', 'a');
        Object.assign(input.metadata, { uid: 'mine', generation: 7, resourceVersion: '999', creationTimestamp: '2000-01-01T00:00:00Z', deletionTimestamp: '2000-01-01T00:00:00Z' });
        const created = await store.create(input);
        expect(created.metadata.uid).not.toBe('mine');
        expect(created.metadata.generation).toBe(1);
        expect(created.metadata.resourceVersion).not.toBe('999');
        expect(created.metadata.creationTimestamp).not.toBe('2000-01-01T00:00:00Z');
        expect(created.metadata.deletionTimestamp).toBeUndefined();
      });

      it('gives every object its own uid', async () => {
        const a = await store.create(testObject('Widget', 'a'));
        const b = await store.create(testObject('Widget', 'b'));
        expect(a.metadata.uid).not.toBe(b.metadata.uid);
      });

      it('fails with AlreadyExists when the key is taken, and keeps the stored object', async () => {
        const first = await store.create(testObject('Widget', 'a', { spec: { size: 1 } }));
        expect(await failureOf(store.create(testObject('Widget', 'a', { spec: { size: 2 } })))).toBe('AlreadyExists');
        expect(await store.get(keyOfTest(first))).toEqual(first);
        expect(await store.revision()).toBe(rv(first));
      });

      it('keeps objects with one name apart by kind and namespace', async () => {
        const objects = [
          testObject('Widget', 'x', { namespace: 'a' }),
          testObject('Widget', 'x', { namespace: 'b' }),
          testObject('Gadget', 'x', { namespace: 'a' }),
          testObject('Widget', 'x', { namespace: '' }),
        ];
        for (const o of objects) await store.create(o);
        for (const o of objects) {
          const got = await store.get(keyOfTest(o));
          expect(keyOfTest(got)).toEqual(keyOfTest(o));
        }
      });

      it.each([
        ['kind', (o: KernObject) => { (o as { kind?: string }).kind = ''; }],
        ['apiVersion', (o: KernObject) => { delete (o as { apiVersion?: string }).apiVersion; }],
        ['metadata.name', (o: KernObject) => { o.metadata.name = ''; }],
      ])('fails with Invalid naming %s when it is missing', async (field, spoil) => {
        const input = testObject('Widget', 'a');
        spoil(input);
        let caught: unknown;
        await store.create(input).catch((err) => { caught = err; });
        expect(isKernelError(caught) && caught.kind).toBe('Invalid');
        expect(isKernelError(caught) && caught.field).toBe(field);
        expect(await store.revision()).toBe(0);
      });

      it('hands out copies: changing a returned object changes nothing stored', async () => {
        const created = await store.create(testObject('Widget', 'a', { labels: { app: 'x' } }));
        const snapshot = JSON.parse(JSON.stringify(created));
        created.metadata.labels!.app = 'changed';
        (created.spec as { size: number }).size = 99;
        const got = await store.get(keyOfTest(created));
        expect(got).toEqual(snapshot);
        got.metadata.labels!.app = 'changed again';
        expect(await store.get(keyOfTest(created))).toEqual(snapshot);
      });

      it('keeps nothing of its argument: changing what was passed to create or update changes nothing stored', async () => {
        const input = testObject('Widget', 'a', { labels: { app: 'x' }, spec: { size: 1, parts: ['p'] } });
        const created = await store.create(input);
        input.metadata.labels!.app = 'changed';
        (input.spec as { parts: string[] }).parts.push('q');
        expect(await store.get(keyOfTest(created))).toEqual(created);
        const change = { ...created, metadata: { ...created.metadata, labels: { app: 'y' } }, spec: { size: 2, parts: ['r'] }, status: { phase: 'Ready' } };
        const updated = await store.update(change);
        const withStatus = await store.update({ ...updated, status: { phase: 'Ready', hosts: ['h'] } }, { subresource: 'status' });
        change.metadata.labels.app = 'changed';
        change.spec.parts.push('s');
        expect(withStatus).toMatchObject({ metadata: { labels: { app: 'y' } }, spec: { size: 2, parts: ['r'] }, status: { phase: 'Ready', hosts: ['h'] } });
        expect(await store.get(keyOfTest(created))).toEqual(withStatus);
      });
    });

    describe('get', () => {
      it.each([
        ['an unknown name', { kind: 'Widget', namespace: 'default', name: 'nope' }],
        ['another namespace', { kind: 'Widget', namespace: 'other', name: 'a' }],
        ['another kind', { kind: 'Gadget', namespace: 'default', name: 'a' }],
        ['no namespace for a namespaced object', { kind: 'Widget', name: 'a' }],
      ])('fails with NotFound for %s', async (_, key: ObjectKey) => {
        await store.create(testObject('Widget', 'a'));
        expect(await failureOf(store.get(key))).toBe('NotFound');
      });

      it('finds cluster-scoped objects without a namespace', async () => {
        const created = await store.create(testObject('Widget', 'c', { namespace: '' }));
        expect(created.metadata.namespace).toBeUndefined();
        expect(await store.get({ kind: 'Widget', name: 'c' })).toEqual(created);
      });
    });

    describe('list', () => {
      const names = (items: KernObject[]) => items.map((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort();

      async function seedNamespaces(): Promise<void> {
        await store.create(testObject('Widget', 'w1', { namespace: 'a' }));
        await store.create(testObject('Widget', 'w2', { namespace: 'a' }));
        await store.create(testObject('Widget', 'w3', { namespace: 'b' }));
        await store.create(testObject('Widget', 'w4', { namespace: '' }));
        await store.create(testObject('Gadget', 'g1', { namespace: 'a' }));
      }

      it('lists one kind across every namespace', async () => {
        await seedNamespaces();
        expect(names((await store.list('Widget')).items)).toEqual(['/w4', 'a/w1', 'a/w2', 'b/w3']);
        expect(names((await store.list('Gadget')).items)).toEqual(['a/g1']);
        expect((await store.list('Nothing')).items).toEqual([]);
      });

      it.each([
        ['a', ['a/w1', 'a/w2']],
        ['b', ['b/w3']],
        ['empty', []],
      ])('lists one namespace (%s)', async (namespace, expected) => {
        await seedNamespaces();
        expect(names((await store.list('Widget', { namespace })).items)).toEqual(expected);
      });

      it.each([
        ['a=b', ['o1', 'o2', 'o3', 'o4']],
        ['a==b', ['o1', 'o2', 'o3', 'o4']],
        ['c!=d', ['o1', 'o3', 'o4', 'o5']],
        ['e in (x,y)', ['o1', 'o2', 'o4', 'o5']],
        ['e notin (x)', ['o2', 'o3']],
        ['f', ['o4']],
        ['!f', ['o1', 'o2', 'o3', 'o5']],
        ['a=b,c!=d,e in (x,y),!f', ['o1']],
        ['a=nope', []],
        ['', ['o1', 'o2', 'o3', 'o4', 'o5']],
      ])('filters by the label selector "%s"', async (selector, expected) => {
        const labels: Record<string, Record<string, string>> = {
          o1: { a: 'b', e: 'x' },
          o2: { a: 'b', c: 'd', e: 'y' },
          o3: { a: 'b', e: 'z' },
          o4: { a: 'b', e: 'x', f: '1' },
          o5: { e: 'x' },
        };
        for (const [n, l] of Object.entries(labels)) await store.create(testObject('Widget', n, { labels: l }));
        await store.create(testObject('Gadget', 'o1', { labels: labels.o1 }));
        const listed = await store.list('Widget', { labelSelector: parseLabelSelector(selector) });
        expect(listed.items.map((o) => o.metadata.name).sort()).toEqual(expected);
      });

      it('reports the revision it is consistent with', async () => {
        expect((await store.list('Widget')).revision).toBe(await store.revision());
        await store.create(testObject('Widget', 'a'));
        const last = await store.create(testObject('Gadget', 'b'));
        const listed = await store.list('Widget');
        expect(listed.revision).toBe(rv(last));
        expect(listed.revision).toBe(await store.revision());
      });

      it('pages with limit and continue, returning every object exactly once', async () => {
        for (let i = 0; i < 7; i++) await store.create(testObject('Widget', `w${i}`, { namespace: i % 2 ? 'a' : 'b' }));
        const pages: KernObject[][] = [];
        let token: string | undefined;
        do {
          const page = await store.list('Widget', { limit: 3, continue: token });
          pages.push(page.items);
          token = page.continue;
          expect(pages.length).toBeLessThan(10);
        } while (token);
        expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
        expect(names(pages.flat())).toEqual(names((await store.list('Widget')).items));
      });

      it('pages a label-selected list, and a page that ends the list has no continue', async () => {
        for (let i = 0; i < 9; i++) await store.create(testObject('Widget', `w${i}`, { labels: { even: String(i % 2 === 0) } }));
        const selector = parseLabelSelector('even=true');
        const first = await store.list('Widget', { labelSelector: selector, limit: 3 });
        expect(first.items).toHaveLength(3);
        expect(first.continue).toEqual(expect.any(String));
        const second = await store.list('Widget', { labelSelector: selector, limit: 3, continue: first.continue });
        expect(second.items).toHaveLength(2);
        expect(second.continue).toBeUndefined();
        expect(names([...first.items, ...second.items])).toEqual(['default/w0', 'default/w2', 'default/w4', 'default/w6', 'default/w8']);
        const exact = await store.list('Widget', { labelSelector: selector, limit: 5 });
        expect(exact.items).toHaveLength(5);
        expect(exact.continue).toBeUndefined();
      });

      it('pages within one namespace', async () => {
        for (let i = 0; i < 5; i++) {
          await store.create(testObject('Widget', `w${i}`, { namespace: 'a' }));
          await store.create(testObject('Widget', `w${i}`, { namespace: 'b' }));
        }
        const first = await store.list('Widget', { namespace: 'b', limit: 4 });
        const second = await store.list('Widget', { namespace: 'b', limit: 4, continue: first.continue });
        expect(second.continue).toBeUndefined();
        expect(names([...first.items, ...second.items])).toEqual(['b/w0', 'b/w1', 'b/w2', 'b/w3', 'b/w4']);
      });

      it('rejects a continue token it did not make with Invalid', async () => {
        await store.create(testObject('Widget', 'a'));
        expect(await failureOf(store.list('Widget', { limit: 1, continue: 'not-a-token' }))).toBe('Invalid');
      });
    });

    describe('update', () => {
      it('is compare-and-set: a stale resourceVersion fails with Conflict and changes nothing', async () => {
        const created = await store.create(testObject('Widget', 'a', { spec: { size: 1 } }));
        const first = await store.update({ ...created, spec: { size: 2 } });
        expect(rv(first)).toBeGreaterThan(rv(created));
        const stale = { ...created, metadata: { ...created.metadata, labels: { x: 'y' } }, spec: { size: 3 } };
        expect(await failureOf(store.update(stale))).toBe('Conflict');
        expect(await store.get(keyOfTest(created))).toEqual(first);
        expect(await store.revision()).toBe(rv(first));
      });

      it('is unconditional without a resourceVersion', async () => {
        const created = await store.create(testObject('Widget', 'a', { spec: { size: 1 } }));
        await store.update({ ...created, spec: { size: 2 } });
        const blind = testObject('Widget', 'a', { spec: { size: 3 } });
        const updated = await store.update(blind);
        expect(updated.spec).toEqual({ size: 3 });
        expect(updated.metadata.uid).toBe(created.metadata.uid);
        expect(await store.get(keyOfTest(created))).toEqual(updated);
      });

      it('fails with Conflict when the uid is not the stored one', async () => {
        const created = await store.create(testObject('Widget', 'a'));
        const other = { ...created, metadata: { ...created.metadata, uid: 'someone-else', resourceVersion: undefined } };
        expect(await failureOf(store.update(other))).toBe('Conflict');
      });

      it('bumps generation only when spec changes', async () => {
        const created = await store.create(testObject('Widget', 'a', { spec: { size: 1 } }));
        const relabelled = await store.update({ ...created, metadata: { ...created.metadata, labels: { new: 'label' } } });
        expect(relabelled.metadata.generation).toBe(1);
        expect(rv(relabelled)).toBeGreaterThan(rv(created));
        const resized = await store.update({ ...relabelled, spec: { size: 2 } });
        expect(resized.metadata.generation).toBe(2);
        const statused = await store.update({ ...resized, status: { ready: true } }, { subresource: 'status' });
        expect(statused.metadata.generation).toBe(2);
        const same = await store.update({ ...statused, spec: { size: 2 } });
        expect(same.metadata.generation).toBe(2);
        const again = await store.update({ ...same, spec: { size: 3 } });
        expect(again.metadata.generation).toBe(3);
      });

      it('with subresource status writes only status', async () => {
        const created = await store.create(testObject('Widget', 'a', { labels: { keep: 'me' }, spec: { size: 1 } }));
        const sneaky = {
          ...created,
          metadata: { ...created.metadata, labels: { changed: 'yes' }, finalizers: ['sneaky'] },
          spec: { size: 42 },
          status: { phase: 'Running' },
        };
        const updated = await store.update(sneaky, { subresource: 'status' });
        expect(updated.status).toEqual({ phase: 'Running' });
        expect(updated.spec).toEqual({ size: 1 });
        expect(updated.metadata.labels).toEqual({ keep: 'me' });
        expect(updated.metadata.finalizers).toBeUndefined();
        expect(updated.metadata.generation).toBe(1);
        expect(await store.get(keyOfTest(created))).toEqual(updated);
      });

      it('without subresource keeps the stored status', async () => {
        const created = await store.create(testObject('Widget', 'a'));
        const withStatus = await store.update({ ...created, status: { phase: 'Running' } }, { subresource: 'status' });
        const updated = await store.update({ ...withStatus, spec: { size: 5 }, status: { phase: 'Hacked' } });
        expect(updated.spec).toEqual({ size: 5 });
        expect(updated.status).toEqual({ phase: 'Running' });
        const dropped = await store.update({ ...updated, status: undefined });
        expect(dropped.status).toEqual({ phase: 'Running' });
      });

      it('writes labels, annotations, finalizers and owner references', async () => {
        const created = await store.create(testObject('Widget', 'a', { labels: { old: 'x' } }));
        const updated = await store.update({
          ...created,
          metadata: {
            ...created.metadata,
            labels: { new: 'y' },
            annotations: { note: 'hi' },
            finalizers: ['kern.dev/test'],
            ownerReferences: [{ apiVersion: API_VERSION, kind: 'Owner', name: 'o', uid: 'u1' }],
          },
        });
        expect(await store.get(keyOfTest(created))).toEqual(updated);
        expect(updated.metadata).toMatchObject({ labels: { new: 'y' }, annotations: { note: 'hi' }, finalizers: ['kern.dev/test'] });
        expect(updated.metadata.ownerReferences).toHaveLength(1);
      });

      it('fails with NotFound for an absent object', async () => {
        expect(await failureOf(store.update(testObject('Widget', 'ghost')))).toBe('NotFound');
        expect(await store.revision()).toBe(0);
      });

      it('fails with Invalid for an object without a name', async () => {
        const input = testObject('Widget', '');
        expect(await failureOf(store.update(input))).toBe('Invalid');
      });
    });

    describe('delete', () => {
      it('removes an object without finalizers and emits DELETED with its last state', async () => {
        const created = await store.create(testObject('Widget', 'a', { labels: { app: 'x' } }));
        const watch = record({ kind: 'Widget' });
        const gone = await store.delete(keyOfTest(created));
        expect(gone.metadata.uid).toBe(created.metadata.uid);
        expect(await failureOf(store.get(keyOfTest(created)))).toBe('NotFound');
        const [event] = await watch.untilEvents(1);
        expect(event.type).toBe('DELETED');
        expect(event.object.metadata).toMatchObject({ name: 'a', uid: created.metadata.uid, labels: { app: 'x' } });
        expect(event.revision).toBe(rv(event.object));
        expect(event.revision).toBe(await store.revision());
        expect((await store.list('Widget')).items).toEqual([]);
      });

      it('with finalizers only marks the object; removing the last finalizer then deletes it', async () => {
        const created = await store.create(testObject('Widget', 'a', { finalizers: ['kern.dev/one', 'kern.dev/two'] }));
        const watch = record({ kind: 'Widget' });
        const marked = await store.delete(keyOfTest(created));
        expect(marked.metadata.deletionTimestamp).toEqual(expect.any(String));
        expect(Number.isNaN(Date.parse(marked.metadata.deletionTimestamp!))).toBe(false);
        expect(await store.get(keyOfTest(created))).toEqual(marked);
        const [modified] = await watch.untilEvents(1);
        expect(modified.type).toBe('MODIFIED');
        expect(modified.object.metadata.deletionTimestamp).toBe(marked.metadata.deletionTimestamp);

        const again = await store.delete(keyOfTest(created));
        expect(again.metadata.deletionTimestamp).toBe(marked.metadata.deletionTimestamp);

        // No new finalizer once deletion started (Kubernetes refuses it too), even in exchange for one removed.
        expect(await failureOf(store.update({ ...marked, metadata: { ...marked.metadata, finalizers: ['kern.dev/two', 'kern.dev/late'] } }))).toBe('Forbidden');
        expect((await store.get(keyOfTest(created))).metadata.finalizers).toEqual(['kern.dev/one', 'kern.dev/two']);

        const one = await store.update({ ...marked, metadata: { ...marked.metadata, finalizers: ['kern.dev/two'] } });
        expect(one.metadata.deletionTimestamp).toBe(marked.metadata.deletionTimestamp);
        expect((await store.get(keyOfTest(created))).metadata.finalizers).toEqual(['kern.dev/two']);

        await store.update({ ...one, metadata: { ...one.metadata, finalizers: [] } });
        expect(await failureOf(store.get(keyOfTest(created)))).toBe('NotFound');
        await watch.untilEvents(3);
        await settle();
        expect(watch.events.map((e) => e.type)).toEqual(['MODIFIED', 'MODIFIED', 'DELETED']);
        expect(watch.events[2].object.metadata.uid).toBe(created.metadata.uid);
      });

      it.each([
        ['resourceVersion', { resourceVersion: '1000000' }],
        ['uid', { uid: 'someone-else' }],
      ])('fails with Conflict when the %s precondition does not hold, and keeps the object', async (_, preconditions) => {
        const created = await store.create(testObject('Widget', 'a'));
        expect(await failureOf(store.delete(keyOfTest(created), preconditions))).toBe('Conflict');
        expect(await store.get(keyOfTest(created))).toEqual(created);
      });

      it('deletes when the preconditions hold', async () => {
        const created = await store.create(testObject('Widget', 'a'));
        await store.delete(keyOfTest(created), { resourceVersion: created.metadata.resourceVersion, uid: created.metadata.uid });
        expect(await failureOf(store.get(keyOfTest(created)))).toBe('NotFound');
      });

      it('fails with NotFound for an absent object', async () => {
        expect(await failureOf(store.delete({ kind: 'Widget', namespace: 'default', name: 'ghost' }))).toBe('NotFound');
      });
    });

    describe('revision', () => {
      it('starts at 0 in an empty store', async () => {
        expect(await store.revision()).toBe(0);
      });

      it('rises with every write, across kinds and namespaces', async () => {
        const a = await store.create(testObject('Widget', 'a', { namespace: 'one' }));
        const b = await store.create(testObject('Gadget', 'b', { namespace: 'two' }));
        const c = await store.update({ ...a, spec: { size: 9 } });
        const d = await store.create(testObject('Widget', 'c', { namespace: '' }));
        const e = await store.delete(keyOfTest(b));
        const revisions = [a, b, c, d, e].map(rv);
        revisions.forEach((r, i) => { if (i > 0) expect(r).toBeGreaterThan(revisions[i - 1]); });
        expect(await store.revision()).toBe(rv(e));
      });

      it('does not move on failed writes', async () => {
        const a = await store.create(testObject('Widget', 'a'));
        await failureOf(store.create(testObject('Widget', 'a')));
        await failureOf(store.update({ ...a, metadata: { ...a.metadata, resourceVersion: '999999' } }));
        await failureOf(store.delete({ kind: 'Widget', namespace: 'default', name: 'ghost' }));
        expect(await store.revision()).toBe(rv(a));
      });
    });

    describe('watch', () => {
      it('from now delivers later changes in order, each with its revision', async () => {
        await store.create(testObject('Widget', 'before'));
        const watch = record({});
        const a = await store.create(testObject('Widget', 'a'));
        const b = await store.update({ ...a, spec: { size: 2 } });
        const c = await store.delete(keyOfTest(a));
        const events = await watch.untilEvents(3);
        await settle();
        expect(summary(events)).toEqual(['ADDED a', 'MODIFIED a', 'DELETED a']);
        expect(events.map((e) => e.revision)).toEqual([a, b, c].map(rv));
        events.forEach((e) => expect(e.revision).toBe(rv(e.object)));
        expect(events[1].object.spec).toEqual({ size: 2 });
      });

      it('from a revision replays history in order, then continues live', async () => {
        const a = await store.create(testObject('Widget', 'a'));
        const b = await store.create(testObject('Widget', 'b'));
        await store.update({ ...a, spec: { size: 2 } });
        await store.delete(keyOfTest(b));
        const watch = record({ fromRevision: rv(a) });
        await watch.untilEvents(3);
        await store.create(testObject('Widget', 'c'));
        const events = await watch.untilEvents(4);
        await settle();
        expect(summary(events)).toEqual(['ADDED b', 'MODIFIED a', 'DELETED b', 'ADDED c']);
      });

      it('from a revision while writes race with its start: no gap and no duplicate', async () => {
        const seed: KernObject[] = [];
        for (let i = 0; i < 5; i++) seed.push(await store.create(testObject('Widget', `seed${i}`)));
        const from = rv(seed[1]);
        const written: KernObject[] = [...seed];
        const recorders: Recorder[] = [];
        for (let i = 0; i < 60; i++) {
          if (i % 10 === 0) recorders.push(record({ fromRevision: from }));
          written.push(i % 3 === 2
            ? await store.update({ ...written[written.length - 1], metadata: { ...written[written.length - 1].metadata, resourceVersion: undefined }, spec: { size: i } })
            : await store.create(testObject('Widget', `w${i}`)));
          if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
        const expected = written.map(rv).filter((r) => r > from);
        const last = expected[expected.length - 1];
        for (const watch of recorders) {
          const events = await watch.untilRevision(last);
          expect(events.map((e) => e.revision)).toEqual(expected);
        }
        await settle();
        for (const watch of recorders) expect(watch.events).toHaveLength(expected.length);
      });

      it.each<[string, StoreWatchOptions, string[]]>([
        ['kind', { kind: 'Gadget' }, ['ADDED g-a', 'ADDED g-b', 'DELETED g-a', 'DELETED g-b']],
        ['namespace', { namespace: 'a' }, ['ADDED w-a', 'ADDED g-a', 'MODIFIED w-a', 'DELETED g-a']],
        ['kind and namespace', { kind: 'Widget', namespace: 'b' }, ['ADDED w-b']],
        // The MODIFIED of w-a adds canary=yes: for a watch selecting on it,
        // w-a leaves (DELETED) or enters (ADDED) there, as in Kubernetes.
        ['label selector', { labelSelector: parseLabelSelector('tier in (web),!canary') }, ['ADDED w-a', 'ADDED g-b', 'DELETED w-a', 'DELETED g-b']],
        ['label selector the update enters', { labelSelector: parseLabelSelector('canary=yes') }, ['ADDED w-a']],
        ['label selector and kind', { kind: 'Widget', labelSelector: parseLabelSelector('tier=web') }, ['ADDED w-a', 'MODIFIED w-a']],
      ])('filters by %s, live and replayed', async (_, filter, expected) => {
        const before = rv(await store.create(testObject('Other', 'first')));
        const live = record(filter);
        const wa = await store.create(testObject('Widget', 'w-a', { namespace: 'a', labels: { tier: 'web' } }));
        await store.create(testObject('Widget', 'w-b', { namespace: 'b', labels: { tier: 'db' } }));
        await store.create(testObject('Gadget', 'g-a', { namespace: 'a', labels: { tier: 'db' } }));
        await store.create(testObject('Gadget', 'g-b', { namespace: 'b', labels: { tier: 'web' } }));
        await store.update({ ...wa, metadata: { ...wa.metadata, labels: { tier: 'web', canary: 'yes' } } });
        await store.delete({ kind: 'Gadget', namespace: 'a', name: 'g-a' });
        await store.delete({ kind: 'Gadget', namespace: 'b', name: 'g-b' });
        const replayed = record({ ...filter, fromRevision: before });
        await live.untilEvents(expected.length);
        await replayed.untilEvents(expected.length);
        await settle();
        expect(summary(live.events)).toEqual(expected);
        expect(summary(replayed.events)).toEqual(expected);
      });

      it('replays with filters from an early revision', async () => {
        const before = rv(await store.create(testObject('Other', 'first')));
        await store.create(testObject('Widget', 'a', { labels: { tier: 'web' } }));
        await store.create(testObject('Widget', 'b', { labels: { tier: 'db' } }));
        await store.create(testObject('Gadget', 'c', { labels: { tier: 'web' } }));
        await store.create(testObject('Widget', 'd', { labels: { tier: 'web' } }));
        const watch = record({ kind: 'Widget', labelSelector: parseLabelSelector('tier=web'), fromRevision: before });
        await watch.untilEvents(2);
        await settle();
        expect(summary(watch.events)).toEqual(['ADDED a', 'ADDED d']);
      });

      it('resumes after a reconnect with exactly the events it missed', async () => {
        const first = record({ kind: 'Widget' });
        const a = await store.create(testObject('Widget', 'a'));
        await store.create(testObject('Widget', 'b'));
        const seen = await first.untilEvents(2);
        const lastSeen = seen[seen.length - 1].revision;
        first.stop();
        first.stop();

        await store.update({ ...a, spec: { size: 2 } });
        await store.delete({ kind: 'Widget', namespace: 'default', name: 'b' });
        await store.create(testObject('Gadget', 'not-for-me'));
        await store.create(testObject('Widget', 'c'));

        const second = record({ kind: 'Widget', fromRevision: lastSeen });
        await second.untilEvents(3);
        await store.create(testObject('Widget', 'd'));
        await second.untilEvents(4);
        await settle();
        expect(first.events).toHaveLength(2);
        expect(summary(second.events)).toEqual(['MODIFIED a', 'DELETED b', 'ADDED c', 'ADDED d']);
      });

      it('stop ends delivery and is idempotent', async () => {
        const watch = record({});
        await store.create(testObject('Widget', 'a'));
        await watch.untilEvents(1);
        watch.stop();
        watch.stop();
        await store.create(testObject('Widget', 'b'));
        await settle();
        expect(watch.events).toHaveLength(1);
        expect(watch.errors).toEqual([]);
      });

      it('from a compacted revision fails with TooOld through onError; from the compaction point it works', async () => {
        const written: KernObject[] = [];
        for (let i = 0; i < 10; i++) written.push(await store.create(testObject('Widget', `w${i}`)));
        await store.compact(rv(written[4]));

        const tooOld = record({ fromRevision: rv(written[2]) });
        expect(await failureOf(Promise.reject(await tooOld.untilError()))).toBe('TooOld');
        await settle();
        expect(tooOld.events).toEqual([]);
        expect(tooOld.errors).toHaveLength(1);

        const fromCompaction = record({ fromRevision: rv(written[4]) });
        const events = await fromCompaction.untilEvents(5);
        expect(events.map((e) => e.revision)).toEqual(written.slice(5).map(rv));

        expect((await store.list('Widget')).items).toHaveLength(10);
        await store.compact(rv(written[1]));
        expect(await failureOf(store.compact((await store.revision()) + 100))).toBe('Invalid');
      });
    });

    describe('concurrent writers', () => {
      /** Read-modify-write loops that retry on Conflict; returns how many conflicts they met. */
      async function incrementConcurrently(stores: StoreDriver[], key: ObjectKey): Promise<number> {
        let conflicts = 0;
        const loop = async (s: StoreDriver) => {
          for (let done = 0; done < increments;) {
            const current = await s.get<KernObject<{ count: number }>>(key);
            await new Promise((resolve) => setImmediate(resolve));
            try {
              await s.update({ ...current, spec: { count: current.spec!.count + 1 } });
              done++;
            } catch (err) {
              if (!isKernelError(err) || err.kind !== 'Conflict') throw err;
              conflicts++;
            }
          }
        };
        await Promise.all(Array.from({ length: writers }, (_, i) => loop(stores[i % stores.length])));
        return conflicts;
      }

      it(`${writers} parallel read-modify-write loops lose no update`, async () => {
        const counter = await store.create(testObject('Widget', 'counter', { spec: { count: 0 } }));
        const watch = record({ kind: 'Widget' });
        await incrementConcurrently([store], keyOfTest(counter));
        const total = writers * increments;
        const final = await store.get<KernObject<{ count: number }>>(keyOfTest(counter));
        expect(final.spec!.count).toBe(total);
        expect(final.metadata.generation).toBe(1 + total);
        const events = await watch.untilEvents(total);
        expect(events.map((e) => (e.object.spec as { count: number }).count)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      });

      it('parallel creates of one key: exactly one wins', async () => {
        const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.create(testObject('Widget', 'contested', { spec: { by: i } }))));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const failures = await Promise.all(results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => failureOf(Promise.reject(r.reason))));
        expect(new Set(failures)).toEqual(new Set(['AlreadyExists']));
      });

      describe('two instances over the same data (when the factory offers openSecond)', () => {
        async function second(): Promise<StoreDriver | undefined> {
          if (!sut.openSecond) return undefined;
          const s = await sut.openSecond();
          extraStores.push(s);
          return s;
        }

        it('share objects and one global revision', async () => {
          const other = await second();
          if (!other) return;
          const a = await store.create(testObject('Widget', 'a'));
          const b = await other.create(testObject('Widget', 'b'));
          expect(rv(b)).toBeGreaterThan(rv(a));
          expect(await other.get(keyOfTest(a))).toEqual(a);
          expect(await store.get(keyOfTest(b))).toEqual(b);
          expect(await store.revision()).toBe(rv(b));
          expect(await failureOf(other.create(testObject('Widget', 'a')))).toBe('AlreadyExists');
        });

        it('writers on both lose no update, and a watch on one sees every change in order', async () => {
          const other = await second();
          if (!other) return;
          const counter = await store.create(testObject('Widget', 'counter', { spec: { count: 0 } }));
          const watchHere = record({ kind: 'Widget' });
          const watchThere = record({ kind: 'Widget' }, other);
          await incrementConcurrently([store, other], keyOfTest(counter));
          const total = writers * increments;
          expect((await other.get<KernObject<{ count: number }>>(keyOfTest(counter))).spec!.count).toBe(total);
          const counts = Array.from({ length: total }, (_, i) => i + 1);
          for (const watch of [watchHere, watchThere]) {
            const events = await watch.untilEvents(total);
            expect(events.map((e) => (e.object.spec as { count: number }).count)).toEqual(counts);
          }
        });

        it('a watch resumed on the other instance continues without gap', async () => {
          const other = await second();
          if (!other) return;
          const first = record({});
          await store.create(testObject('Widget', 'a'));
          await other.create(testObject('Widget', 'b'));
          const seen = await first.untilEvents(2);
          first.stop();
          await store.create(testObject('Widget', 'c'));
          await other.create(testObject('Widget', 'd'));
          const resumed = record({ fromRevision: seen[1].revision }, other);
          await resumed.untilEvents(2);
          await settle();
          expect(summary(resumed.events)).toEqual(['ADDED c', 'ADDED d']);
        });
      });
    });

    describe('close', () => {
      it.each<[string, (s: StoreDriver) => Promise<unknown>]>([
        ['create', (s) => s.create(testObject('Widget', 'b'))],
        ['get', (s) => s.get({ kind: 'Widget', namespace: 'default', name: 'a' })],
        ['list', (s) => s.list('Widget')],
        ['update', (s) => s.update(testObject('Widget', 'a'))],
        ['delete', (s) => s.delete({ kind: 'Widget', namespace: 'default', name: 'a' })],
        ['revision', (s) => s.revision()],
        ['compact', (s) => s.compact(1)],
      ])('then %s fails with Unavailable', async (_, call) => {
        await store.create(testObject('Widget', 'a'));
        await store.close();
        expect(await failureOf(call(store))).toBe('Unavailable');
      });

      it('then watch reports Unavailable through onError', async () => {
        await store.close();
        const watch = record({});
        expect(await failureOf(Promise.reject(await watch.untilError()))).toBe('Unavailable');
      });

      it('ends open watches with Unavailable, and closing twice is fine', async () => {
        const watch = record({});
        await store.close();
        expect(await failureOf(Promise.reject(await watch.untilError()))).toBe('Unavailable');
        await store.close();
      });
    });
  });
}
