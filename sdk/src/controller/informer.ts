import { errors, KernelError, toKernelError } from '../errors';
import { KernObject, OwnerReference } from '../resources/meta';
import { LabelSelector, matchesLabels, parseLabelSelector } from '../selectors';
import { SyscallWatch, Syscalls, WatchEvent } from '../syscalls';
import { Disposable, toDisposable } from '../tokens';
import { exponentialBackoff } from './work-queue';

/**
 * The work-queue key of an object: `namespace/name`, or `name` for a
 * cluster-scoped one. {@link splitControllerKey} undoes it.
 */
export function controllerKey(obj: Pick<KernObject, 'metadata'>): string {
  const { namespace, name } = obj.metadata;
  return namespace ? `${namespace}/${name}` : name;
}

/** The controlling owner reference of `obj` (`ownerReferences[].controller`), if any. */
export function controllerOf(obj: Pick<KernObject, 'metadata'>): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller);
}

/**
 * The {@link controllerKey} of the object's controlling owner
 * (`ownerReferences[].controller`), when that owner is of `kind`; owners
 * live in the dependent's namespace. Undefined otherwise.
 */
export function ownerKeyOf(obj: Pick<KernObject, 'metadata'>, kind: string): string | undefined {
  const ref = controllerOf(obj);
  if (!ref || ref.kind !== kind) return undefined;
  return controllerKey({ metadata: { name: ref.name, namespace: obj.metadata.namespace } });
}

/** Splits a {@link controllerKey} back into namespace (absent when cluster-scoped) and name. */
export function splitControllerKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/**
 * The error an ERROR watch event carries: a KernelError-shaped object, or a
 * Kubernetes `Status` (410 / `Expired` means TooOld).
 */
function watchErrorOf(obj: unknown): KernelError {
  const status = (obj ?? {}) as { code?: unknown; reason?: unknown; message?: unknown };
  const message = typeof status.message === 'string' ? status.message : 'the watch sent an ERROR event';
  if (status.code === 410 || status.reason === 'Expired') return errors.tooOld(message);
  const err = toKernelError(obj);
  return err.kind === 'Internal' ? errors.unavailable(message) : err;
}

/** Defaults of {@link InformerOptions}. */
export const INFORMER_DEFAULTS = {
  relistBaseDelayMs: 100,
  relistMaxDelayMs: 30_000,
} as const;

/** Where an error reported to {@link InformerOptions.onError} came from. */
export type InformerErrorSource = 'list' | 'watch' | 'handler';

/** What an {@link Informer} caches, and how it retries. */
export interface InformerOptions {
  /** The kind to cache, e.g. `Pod`. */
  kind: string;
  /** Only this namespace; absent = every namespace. */
  namespace?: string;
  /** Text form, e.g. `app=web`; absent = every object. Invalid text fails the constructor. */
  labelSelector?: string;
  /** Wait before the first re-list after an error; doubles per failure. Default 100 ms. */
  relistBaseDelayMs?: number;
  /** Upper bound of the re-list back-off. Default 30 000 ms. */
  relistMaxDelayMs?: number;
  /**
   * Gets every list or watch error (the informer recovers by itself; TooOld
   * is routine after compaction) and every error thrown by a handler. For
   * logging; must not throw. Default: ignored.
   */
  onError?: (err: KernelError, source: InformerErrorSource) => void;
}

/** Narrows {@link Informer.list}; every given field must match. */
export interface InformerListFilter<T> {
  namespace?: string;
  /** Text form, e.g. `tier=web`; Invalid when it does not parse. */
  labelSelector?: string;
  match?: (obj: T) => boolean;
}

/** Gets an object that entered the cache (see {@link Informer.onAdd}). */
export type InformerAddHandler<T> = (obj: T) => void | Promise<void>;
/** Gets the previous and the new state of a changed object (see {@link Informer.onUpdate}). */
export type InformerUpdateHandler<T> = (oldObj: T, newObj: T) => void | Promise<void>;
/** Gets the last known state of an object that left the cache (see {@link Informer.onDelete}). */
export type InformerDeleteHandler<T> = (obj: T) => void | Promise<void>;

/**
 * A local, watch-fed cache of one kind (after client-go's shared informer).
 *
 * Contract:
 * - {@link Informer.start} lists (following `continue` pages), fills the
 *   cache, then watches from the list's resourceVersion. Handlers see one add
 *   per listed object, then every change, in revision order.
 * - When the watch ends for any reason (TooOld after compaction, a dropped
 *   connection, an ERROR event) or a list fails, the informer waits
 *   (`relistBaseDelayMs` doubling to `relistMaxDelayMs`) and lists again. It
 *   then emits only the differences from its cache: adds for new objects,
 *   updates for objects whose resourceVersion changed, deletes (with the last
 *   known state) for objects that are gone, so handlers see a consistent
 *   stream with no repeats. The back-off resets once a watch delivers an
 *   event or stays open for `relistMaxDelayMs`.
 * - The cache is updated before the handlers for that change run, so a
 *   handler reading the informer sees the new state.
 * - Objects handed out are the cached ones: treat them as read-only and
 *   clone before changing them.
 * - Handlers run synchronously, in registration order; a handler that throws
 *   (or whose promise rejects) is reported to `onError` and does not stop
 *   the others. Keep them short: enqueue a {@link controllerKey} into a
 *   {@link WorkQueue} and do the work there.
 * - Objects that stop matching the namespace or selector are treated as
 *   deleted, whatever the server sends.
 */
export class Informer<T extends KernObject = KernObject> implements Disposable {
  private readonly cache = new Map<string, T>();
  private readonly selector: LabelSelector;
  private readonly addHandlers = new Set<{ fn: InformerAddHandler<T> }>();
  private readonly updateHandlers = new Set<{ fn: InformerUpdateHandler<T> }>();
  private readonly deleteHandlers = new Set<{ fn: InformerDeleteHandler<T> }>();
  private readonly syncWaiters = new Set<{ resolve: () => void; reject: (e: Error) => void }>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private state: 'new' | 'running' | 'stopped' = 'new';
  /** Bumped whenever a list/watch cycle ends; late callbacks of an old cycle are ignored. */
  private cycle = 0;
  private watchHandle: SyscallWatch | undefined;
  private watchStartedAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private synced = false;
  private lastResourceVersion: string | undefined;

  constructor(private readonly syscalls: Syscalls, private readonly options: InformerOptions) {
    if (!options.kind) throw errors.invalid('kind', 'is required (the kind to cache, e.g. Pod)');
    this.selector = parseLabelSelector(options.labelSelector);
    this.baseDelayMs = options.relistBaseDelayMs ?? INFORMER_DEFAULTS.relistBaseDelayMs;
    this.maxDelayMs = Math.max(this.baseDelayMs, options.relistMaxDelayMs ?? INFORMER_DEFAULTS.relistMaxDelayMs);
  }

  /** True once the first list is in the cache and its adds were handed out. */
  get hasSynced(): boolean {
    return this.synced;
  }

  /** The newest revision the cache reflects (from the last list, event or bookmark). */
  get resourceVersion(): string | undefined {
    return this.lastResourceVersion;
  }

  /**
   * Starts listing and watching in the background. A no-op when running;
   * FailedPrecondition after {@link Informer.stop} (make a new informer).
   */
  start(): void {
    if (this.state === 'stopped') throw errors.failedPrecondition(`informer for ${this.what()} is stopped: make a new one`);
    if (this.state === 'running') return;
    this.state = 'running';
    this.relist();
  }

  /**
   * Stops the watch and any pending re-list. The cache and handlers stay
   * readable; no handler runs any more. Pending {@link Informer.waitForSync}
   * calls fail with Unavailable. Idempotent.
   */
  stop(): void {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.endCycle();
    const err = errors.unavailable(`informer for ${this.what()} was stopped before it synced`);
    for (const w of [...this.syncWaiters]) w.reject(err);
  }

  /** Same as {@link Informer.stop}. */
  dispose(): void {
    this.stop();
  }

  /**
   * Resolves once {@link Informer.hasSynced}. Rejects with Unavailable when
   * the informer is (or gets) stopped first, and with DeadlineExceeded after
   * `timeoutMs` when given. List errors alone do not reject: the informer
   * keeps retrying.
   */
  waitForSync(timeoutMs?: number): Promise<void> {
    if (this.synced) return Promise.resolve();
    if (this.state === 'stopped') {
      return Promise.reject(errors.unavailable(`informer for ${this.what()} was stopped before it synced`));
    }
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = {
        resolve: () => { settle(); resolve(); },
        reject: (e: Error) => { settle(); reject(e); },
      };
      const settle = () => {
        if (timer) clearTimeout(timer);
        this.syncWaiters.delete(waiter);
      };
      this.syncWaiters.add(waiter);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => waiter.reject(new KernelError(
          'DeadlineExceeded', `informer for ${this.what()} did not sync within ${timeoutMs} ms: check that the kind exists and the plugin may list and watch it`,
        )), timeoutMs);
      }
    });
  }

  /** The cached object, or undefined. Pass an empty or absent namespace for cluster-scoped kinds. */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  /** The cached object under a {@link controllerKey}, or undefined. */
  getByKey(key: string): T | undefined {
    return this.cache.get(key);
  }

  /** Cached objects matching `filter`, sorted by {@link controllerKey}. */
  list(filter: InformerListFilter<T> = {}): T[] {
    const selector = parseLabelSelector(filter.labelSelector, 'filter.labelSelector');
    const out: T[] = [];
    for (const key of [...this.cache.keys()].sort()) {
      const obj = this.cache.get(key) as T;
      if (filter.namespace !== undefined && (obj.metadata.namespace ?? '') !== filter.namespace) continue;
      if (!matchesLabels(selector, obj.metadata.labels)) continue;
      if (filter.match && !filter.match(obj)) continue;
      out.push(obj);
    }
    return out;
  }

  /**
   * Calls `handler` for each object that enters the cache. Objects already
   * cached are handed to it before this returns, so a handler registered
   * late sees the same stream as one registered before start.
   */
  onAdd(handler: InformerAddHandler<T>): Disposable {
    const entry = { fn: handler };
    this.addHandlers.add(entry);
    for (const key of [...this.cache.keys()].sort()) this.run(() => entry.fn(this.cache.get(key) as T));
    return toDisposable(() => { this.addHandlers.delete(entry); });
  }

  /** Calls `handler` with the old and new state of each changed object. */
  onUpdate(handler: InformerUpdateHandler<T>): Disposable {
    const entry = { fn: handler };
    this.updateHandlers.add(entry);
    return toDisposable(() => { this.updateHandlers.delete(entry); });
  }

  /** Calls `handler` with the last known state of each object that leaves the cache. */
  onDelete(handler: InformerDeleteHandler<T>): Disposable {
    const entry = { fn: handler };
    this.deleteHandlers.add(entry);
    return toDisposable(() => { this.deleteHandlers.delete(entry); });
  }

  /** One list-then-watch cycle; anything unexpected counts as a failed list. */
  private relist(): void {
    const cycle = this.cycle;
    this.listAndWatch().catch((e) => {
      if (cycle === this.cycle && this.state === 'running') this.retry(e, 'list');
    });
  }

  private async listAndWatch(): Promise<void> {
    const cycle = this.cycle;
    const current = () => cycle === this.cycle && this.state === 'running';
    let items: T[];
    let resourceVersion: string;
    try {
      ({ items, resourceVersion } = await this.listAll());
    } catch (e) {
      if (current()) this.retry(e, 'list');
      return;
    }
    if (!current()) return;
    this.replace(items, resourceVersion);
    if (!current()) return; // a handler stopped the informer
    if (!this.synced) {
      this.synced = true;
      for (const w of [...this.syncWaiters]) w.resolve();
    }
    try {
      this.watchStartedAt = Date.now();
      this.watchHandle = this.syscalls.watch(
        { kind: this.options.kind, namespace: this.options.namespace, labelSelector: this.options.labelSelector, resourceVersion },
        (e) => { if (current()) this.handleEvent(e as WatchEvent<T>); },
        (err) => { if (current()) this.retry(err, 'watch'); },
      );
    } catch (e) {
      if (current()) this.retry(e, 'watch');
    }
  }

  private async listAll(): Promise<{ items: T[]; resourceVersion: string }> {
    const items: T[] = [];
    let resourceVersion: string | undefined;
    let token: string | undefined;
    do {
      const page = await this.syscalls.call('state.list', {
        kind: this.options.kind, namespace: this.options.namespace, labelSelector: this.options.labelSelector,
        ...(token ? { continue: token } : {}),
      });
      resourceVersion ??= page.metadata.resourceVersion;
      items.push(...(page.items as T[]));
      token = page.metadata.continue;
    } while (token);
    return { items, resourceVersion };
  }

  /** Makes the cache equal to a fresh list, emitting the differences. */
  private replace(items: T[], resourceVersion: string): void {
    const seen = new Set<string>();
    for (const obj of items) {
      if (!this.matches(obj)) continue;
      const key = controllerKey(obj);
      seen.add(key);
      const old = this.cache.get(key);
      if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) continue;
      this.upsert(key, obj);
    }
    for (const [key, old] of [...this.cache]) {
      if (!seen.has(key)) this.remove(key, old);
    }
    this.lastResourceVersion = resourceVersion;
  }

  private handleEvent(e: WatchEvent<T>): void {
    if (e.type === 'ERROR') {
      this.retry(watchErrorOf(e.object), 'watch');
      return;
    }
    this.lastResourceVersion = e.object?.metadata?.resourceVersion ?? this.lastResourceVersion;
    if (e.type === 'BOOKMARK') return;
    this.failures = 0;
    const key = controllerKey(e.object);
    const old = this.cache.get(key);
    if (e.type === 'DELETED' || !this.matches(e.object)) {
      if (old) this.remove(key, e.type === 'DELETED' ? e.object : old);
      return;
    }
    this.upsert(key, e.object);
  }

  private upsert(key: string, obj: T): void {
    const old = this.cache.get(key);
    this.cache.set(key, obj);
    if (old) for (const h of [...this.updateHandlers]) this.run(() => h.fn(old, obj));
    else for (const h of [...this.addHandlers]) this.run(() => h.fn(obj));
  }

  private remove(key: string, last: T): void {
    this.cache.delete(key);
    for (const h of [...this.deleteHandlers]) this.run(() => h.fn(last));
  }

  private matches(obj: T): boolean {
    if (this.options.namespace && obj.metadata.namespace !== this.options.namespace) return false;
    return matchesLabels(this.selector, obj.metadata.labels);
  }

  /** Ends the current cycle and lists again after the back-off. */
  private retry(err: unknown, source: 'list' | 'watch'): void {
    const wasHealthy = source === 'watch' && Date.now() - this.watchStartedAt >= this.maxDelayMs;
    this.endCycle();
    this.report(toKernelError(err), source);
    if (this.state !== 'running') return; // onError stopped us
    this.failures = wasHealthy ? 1 : this.failures + 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.relist();
    }, exponentialBackoff(this.failures, this.baseDelayMs, this.maxDelayMs));
  }

  private endCycle(): void {
    this.cycle += 1;
    this.watchHandle?.stop();
    this.watchHandle = undefined;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private run(fn: () => void | Promise<void>): void {
    try {
      const result = fn();
      if (result && typeof result.then === 'function') result.then(undefined, (e) => this.report(toKernelError(e), 'handler'));
    } catch (e) {
      this.report(toKernelError(e), 'handler');
    }
  }

  private report(err: KernelError, source: InformerErrorSource): void {
    try {
      this.options.onError?.(err, source);
    } catch {
      // onError is for logging; see InformerOptions.onError
    }
  }

  private what(): string {
    const where = this.options.namespace ? ` in namespace ${this.options.namespace}` : '';
    const sel = this.options.labelSelector ? ` matching "${this.options.labelSelector}"` : '';
    return `${this.options.kind}${where}${sel}`;
  }
}
