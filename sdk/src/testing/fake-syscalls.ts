import { errors } from '../errors';
import { CORE_KINDS, KindInfo } from '../resources/kinds';
import { KernObject, ObjectKey, ObjectList, describeKey, keyOf } from '../resources/meta';
import { LabelSelector, matchesLabels, parseLabelSelector, sameLabels, selectedEventType } from '../selectors';
import { cloneObject, prepareCreate, prepareDelete, prepareUpdate, storedForm } from '../store/object-rules';
import { shareWatchObject } from '../store/watch-objects';
import { StoreWatchEvent } from '../store/store-driver';
import {
  ListArgs, RESERVED_SYSCALLS, StreamingSyscallName, StreamingSyscallSignatures, SyscallArgs, SyscallName,
  SyscallResult, SyscallWatch, Syscalls, WatchArgs, WatchEvent, syscallAllowed,
} from '../syscalls';

/** Scripts one streaming syscall of a {@link FakeSyscalls}: the chunks to yield for `args`. */
export type FakeStreamHandler<N extends StreamingSyscallName> = (
  args: Parameters<StreamingSyscallSignatures[N]>[0],
) => Iterable<ReturnType<StreamingSyscallSignatures[N]>> | AsyncIterable<ReturnType<StreamingSyscallSignatures[N]>>;

/** How a {@link FakeSyscalls} is set up. */
export interface FakeSyscallsOptions {
  /** Syscall patterns this handle may use, as in a manifest (`state.*`). Default `['*']`. */
  allow?: readonly string[];
}

/** One recorded {@link FakeSyscalls.call}. */
export interface RecordedCall {
  name: SyscallName | StreamingSyscallName | 'state.watch';
  args: unknown;
}

/**
 * An in-memory {@link Syscalls} handle for unit tests of controllers and
 * plugins: the `state.*` syscalls over a map, with a global revision, watch
 * history, compaction and the store's per-object rules (`object-rules.ts`),
 * plus knobs to make things go wrong.
 *
 * Behaviour:
 * - Every write takes the next revision; `metadata.resourceVersion` is it.
 * - `state.list` returns items sorted by namespace/name and the current
 *   revision; `limit`/`continue` page by offset (not a snapshot).
 * - `watch` replays history after `resourceVersion` (absent or `0`: changes
 *   from now on), then streams. Events are delivered asynchronously (on the
 *   microtask queue), in revision order. A revision older than the compacted
 *   one ends the watch with TooOld.
 * - Objects are copied on the way in and out; the caller never shares one
 *   with the fake.
 * - An `onEvent` callback that throws ends its watch: the error goes to
 *   `onError`, as the store contract says.
 * - Streaming syscalls (`stream`) yield what {@link FakeSyscalls.handleStream}
 *   scripted, and fail with NotImplemented when nothing was.
 * - Syscalls outside `allow` fail with Forbidden, reserved ones with
 *   NotImplemented.
 */
export class FakeSyscalls implements Syscalls {
  /** Every call and watch, in order. */
  readonly calls: RecordedCall[] = [];
  private readonly allow: readonly string[];
  private readonly objects = new Map<string, KernObject>();
  private readonly history: FakeEvent[] = [];
  private readonly watches = new Set<FakeWatch>();
  private readonly failures = new Map<string, Error[]>();
  private readonly streams = new Map<string, FakeStreamHandler<never>>();
  private readonly kinds: KindInfo[] = CORE_KINDS.map((k) => ({ ...k }));
  private rev = 0;
  private compacted = 0;
  private paused = false;

  constructor(options: FakeSyscallsOptions = {}) {
    this.allow = options.allow ?? ['*'];
  }

  /** The newest revision (0 before the first write). */
  get revision(): number {
    return this.rev;
  }

  /** Watches that have not ended. */
  get openWatches(): number {
    return this.watches.size;
  }

  async call<N extends SyscallName>(name: N, args: SyscallArgs<N>): Promise<SyscallResult<N>> {
    this.calls.push({ name, args: copy(args) });
    if (!syscallAllowed(this.allow, name)) throw errors.forbidden(`syscall ${name} is not allowed for this plugin: add it to the manifest`);
    const injected = this.failures.get(name)?.shift();
    if (injected) throw injected;
    return copy(this.dispatch(name, args)) as SyscallResult<N>;
  }

  async stream<N extends StreamingSyscallName>(
    name: N, args: Parameters<StreamingSyscallSignatures[N]>[0],
  ): Promise<AsyncIterable<ReturnType<StreamingSyscallSignatures[N]>>> {
    this.calls.push({ name, args: copy(args) });
    if (!syscallAllowed(this.allow, name)) throw errors.forbidden(`syscall ${name} is not allowed for this plugin: add it to the manifest`);
    const injected = this.failures.get(name)?.shift();
    if (injected) throw injected;
    const handler = this.streams.get(name) as FakeStreamHandler<N> | undefined;
    if (!handler) throw errors.notImplemented(`syscall ${name} has no scripted stream: call handleStream('${name}', ...) in the test`);
    const chunks = handler(copy(args));
    return (async function* () {
      for await (const chunk of chunks) yield copy(chunk);
    })();
  }

  /** Scripts what `stream(name, args)` yields. */
  handleStream<N extends StreamingSyscallName>(name: N, handler: FakeStreamHandler<N>): void {
    this.streams.set(name, handler as unknown as FakeStreamHandler<never>);
  }

  watch(args: WatchArgs, onEvent: (e: WatchEvent) => void, onError?: (err: Error) => void): SyscallWatch {
    this.calls.push({ name: 'state.watch', args: copy(args) });
    let selector: LabelSelector = [];
    let refused: Error | undefined;
    try {
      selector = parseLabelSelector(args.labelSelector);
    } catch (e) {
      refused = e as Error;
    }
    if (!syscallAllowed(this.allow, 'state.watch')) {
      refused = errors.forbidden('syscall state.watch is not allowed for this plugin: add it to the manifest');
    }
    refused ??= this.failures.get('state.watch')?.shift();
    const w = new FakeWatch(args, selector, onEvent, onError, () => this.paused, () => this.watches.delete(w));
    this.watches.add(w);
    if (refused) w.fail(refused);
    else this.startWatch(w, args);
    return w;
  }

  /**
   * Makes the next call of `name` fail with `err` (queue several to fail
   * several). `'state.watch'` makes the next watch end with `err` at once.
   */
  failNext(name: SyscallName | StreamingSyscallName | 'state.watch', err: Error): void {
    const list = this.failures.get(name) ?? [];
    list.push(err);
    this.failures.set(name, list);
  }

  /** Drops history at and below `revision` (default: all of it). */
  compact(revision: number = this.rev): void {
    this.compacted = Math.max(this.compacted, Math.min(revision, this.rev));
    while (this.history.length > 0 && this.history[0].revision <= this.compacted) this.history.shift();
  }

  /**
   * Ends every open watch with `err` (default Unavailable); events not yet
   * delivered are lost, as when a connection drops.
   */
  breakWatches(err: Error = errors.unavailable('watch closed by the fake server')): void {
    for (const w of [...this.watches]) w.fail(err);
  }

  /** Holds events back (they queue up) until {@link FakeSyscalls.resumeWatches}. */
  pauseWatches(): void {
    this.paused = true;
  }

  /** Delivers the held-back events and streams again. */
  resumeWatches(): void {
    this.paused = false;
    for (const w of this.watches) w.schedule();
  }

  /** True while events are held back. */
  get watchesPaused(): boolean {
    return this.paused;
  }

  /**
   * Resolves once every deliverable event and watch error has been handed
   * over (and what those callbacks started has had a turn). Uses
   * `setImmediate`: with jest fake timers, leave it unfaked.
   */
  async flush(): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (![...this.watches].some((w) => w.busy())) return;
    }
  }

  private startWatch(w: FakeWatch, args: WatchArgs): void {
    const rv = args.resourceVersion;
    if (rv === undefined || rv === '' || rv === '0') return;
    const from = Number(rv);
    if (!Number.isInteger(from) || from < 0) {
      w.fail(errors.invalid('resourceVersion', `"${rv}" is not a revision (use a resourceVersion from a list or an object)`));
      return;
    }
    if (from < this.compacted) {
      w.fail(errors.tooOld(`resourceVersion ${from} is older than the compacted revision ${this.compacted}: list again and watch from its resourceVersion`));
      return;
    }
    for (const e of this.history) if (e.revision > from) w.offer(e);
  }

  private dispatch(name: SyscallName, args: unknown): unknown {
    switch (name) {
      case 'state.create': return this.create((args as { object: KernObject }).object);
      case 'state.get': return this.mustGet(args as ObjectKey);
      case 'state.list': return this.list(args as ListArgs);
      case 'state.update': return this.update(args as SyscallArgs<'state.update'>);
      case 'state.delete': return this.delete(args as SyscallArgs<'state.delete'>);
      case 'state.apply': return this.apply((args as { object: KernObject }).object);
      case 'state.kinds': return this.kinds;
      case 'state.registerKind': return this.registerKind(args as KindInfo);
      default:
        if ((RESERVED_SYSCALLS as readonly string[]).includes(name)) throw errors.notImplemented(`syscall ${name} is reserved and not implemented yet`);
        throw errors.notImplemented(`syscall ${String(name)} is not known`);
    }
  }

  private create(obj: KernObject): KernObject {
    const { data, object: stored } = storedForm(prepareCreate(obj, this.rev + 1));
    const key = storeKey(keyOf(stored));
    if (this.objects.has(key)) throw errors.alreadyExists(describeKey(keyOf(stored)));
    this.commit('ADDED', stored, data);
    return stored;
  }

  private mustGet(k: ObjectKey): KernObject {
    const obj = this.objects.get(storeKey(k));
    if (!obj) throw errors.notFound(describeKey(k));
    return obj;
  }

  private list(args: ListArgs): ObjectList {
    const selector = parseLabelSelector(args.labelSelector);
    const all = [...this.objects.values()]
      .filter((o) => o.kind === args.kind)
      .filter((o) => !args.namespace || o.metadata.namespace === args.namespace)
      .filter((o) => matchesLabels(selector, o.metadata.labels))
      .sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
    const start = args.continue ? Number(args.continue) : 0;
    if (!Number.isInteger(start) || start < 0) throw errors.invalid('continue', 'is not a token from a previous page');
    const end = args.limit && args.limit > 0 ? start + args.limit : all.length;
    return {
      apiVersion: 'v1',
      kind: `${args.kind}List`,
      metadata: { resourceVersion: String(this.rev), ...(end < all.length ? { continue: String(end) } : {}) },
      items: all.slice(start, end),
    };
  }

  private update(args: SyscallArgs<'state.update'>): KernObject {
    const current = this.mustGet(keyOf(args.object));
    const outcome = prepareUpdate(current, args.object, this.rev + 1, { subresource: args.subresource });
    const { data, object: stored } = storedForm(outcome.object); // the outcome shares with the caller's object and the stored one
    const previous = sameLabels(current.metadata.labels, stored.metadata.labels) ? undefined : current.metadata.labels ?? {};
    this.commit(outcome.action === 'delete' ? 'DELETED' : 'MODIFIED', stored, data, previous);
    return stored;
  }

  private delete(args: SyscallArgs<'state.delete'>): KernObject {
    const current = this.mustGet(args);
    const outcome = prepareDelete(current, this.rev + 1, { resourceVersion: args.resourceVersion });
    const { data, object: stored } = storedForm(outcome.object); // the outcome shares with the caller's object and the stored one
    if (outcome.action === 'mark') this.commit('MODIFIED', stored, data);
    if (outcome.action === 'delete') this.commit('DELETED', stored, data);
    return stored;
  }

  private apply(obj: KernObject): SyscallResult<'state.apply'> {
    const current = this.objects.get(storeKey(keyOf(obj)));
    if (!current) return { object: this.create(obj), action: 'created' };
    const same = (k: 'labels' | 'annotations') => JSON.stringify(current.metadata[k] ?? {}) === JSON.stringify(obj.metadata[k] ?? {});
    if (same('labels') && same('annotations') && JSON.stringify(desiredBody(current)) === JSON.stringify(desiredBody(obj))) {
      return { object: current, action: 'unchanged' };
    }
    const incoming = cloneObject(obj);
    delete incoming.metadata.resourceVersion;
    incoming.metadata.finalizers ??= current.metadata.finalizers;
    incoming.metadata.ownerReferences ??= current.metadata.ownerReferences;
    return { object: this.update({ object: incoming }), action: 'configured' };
  }

  private registerKind(info: KindInfo): KindInfo {
    const i = this.kinds.findIndex((k) => k.kind === info.kind);
    if (i >= 0) this.kinds[i] = { ...info };
    else this.kinds.push({ ...info });
    return info;
  }

  /** Keeps `obj` and fans out one shared read-only copy parsed from `data`, its JSON, as the real store does. */
  private commit(type: StoreWatchEvent['type'], obj: KernObject, data: string, previous?: Record<string, string>): void {
    this.rev += 1;
    const key = storeKey(keyOf(obj));
    if (type === 'DELETED') this.objects.delete(key);
    else this.objects.set(key, obj);
    const event: FakeEvent = { type, object: shareWatchObject(JSON.parse(data) as KernObject, data), revision: this.rev, previous };
    this.history.push(event);
    for (const w of this.watches) w.offer(event);
  }
}

/** A change in the fake's history; `previous`: the labels before it, when it changed them. */
type FakeEvent = StoreWatchEvent & { previous?: Record<string, string> };

/** One open watch on a {@link FakeSyscalls}. */
class FakeWatch implements SyscallWatch {
  private readonly queue: WatchEvent[] = [];
  private closed = false;
  private scheduled = false;

  constructor(
    private readonly args: WatchArgs,
    private readonly selector: LabelSelector,
    private readonly onEvent: (e: WatchEvent) => void,
    private readonly onError: ((err: Error) => void) | undefined,
    private readonly paused: () => boolean,
    private readonly onClose: () => void,
  ) {}

  stop(): void {
    this.closed = true;
    this.queue.length = 0;
    this.onClose();
  }

  busy(): boolean {
    return !this.closed && this.queue.length > 0 && !this.paused();
  }

  offer(e: FakeEvent): void {
    if (this.closed) return;
    const o = e.object;
    if (this.args.kind && o.kind !== this.args.kind) return;
    if (this.args.namespace && o.metadata.namespace !== this.args.namespace) return;
    const type = selectedEventType(this.selector, e.type, o.metadata.labels, e.previous);
    if (type === undefined) return;
    this.queue.push({ type, object: o }); // shared by every watcher, as a real store does
    this.schedule();
  }

  fail(err: Error): void {
    if (this.closed) return;
    this.stop();
    queueMicrotask(() => this.onError?.(err));
  }

  schedule(): void {
    if (this.scheduled || this.closed || this.paused()) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      while (!this.closed && !this.paused() && this.queue.length > 0) {
        try {
          this.onEvent(this.queue.shift() as WatchEvent);
        } catch (err) {
          this.fail(err instanceof Error ? err : new Error(String(err)));
        }
      }
    });
  }
}

/** Everything but metadata and status (spec, or data for ConfigMap-like kinds), keys sorted. */
/** A deep copy that, unlike JSON.parse, lets `undefined` through. */
function copy<T>(value: T): T {
  return value === undefined ? value : cloneObject(value);
}

function desiredBody(obj: KernObject): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(obj).sort()) {
    if (!['apiVersion', 'kind', 'metadata', 'status'].includes(k)) out[k] = (obj as unknown as Record<string, unknown>)[k];
  }
  return out;
}

function storeKey(k: ObjectKey): string {
  return `${k.kind}/${k.namespace ?? ''}/${k.name}`;
}

function sortKey(o: KernObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}
