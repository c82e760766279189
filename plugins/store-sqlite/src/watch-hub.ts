import {
  KernObject,
  LabelSelector,
  StoreWatch,
  StoreWatchEvent,
  StoreWatchOptions,
  WatchEventType,
  errors,
  selectedEventType,
  copyAsJson,
  shareWatchObject,
} from '@kern/sdk';

/** One committed change, as the history table holds it. */
export interface HistoryEvent {
  revision: number;
  type: WatchEventType;
  kind: string;
  /** '' for cluster-scoped objects. */
  namespace: string;
  /** The object JSON. */
  data: string;
  /** The written object when this process wrote it (saves a parse for label matching); the writer owns it. */
  object?: KernObject;
  /**
   * For an update that changed the labels: those before it (JSON), so a
   * label-selected watch sees the object enter or leave its selection (see
   * selectedEventType); null otherwise, and for history written before the
   * store kept them.
   */
  previousLabels: string | null;
  /** `previousLabels` parsed: set by the writer, or on first use (once per event, not per watcher). */
  previous?: Record<string, string>;
  /**
   * One object for `data` that every watcher of this event receives (see
   * sharedObject): watch objects are read-only (see StoreWatchEvent), so a
   * pod event is made once instead of once per in-process informer.
   */
  shared?: KernObject;
}

export interface HistoryFilter {
  kind?: string;
  namespace?: string;
}

/** Read access to the change history that the hub replays from. */
export interface History {
  /**
   * Events with `after < revision <= upTo`, in revision order, narrowed by
   * `filter`. Throws TooOld when history after `after` was compacted away.
   */
  read(after: number, upTo: number, filter?: HistoryFilter): HistoryEvent[];
}

/** Largest revision window a catching-up watcher reads in one go. */
const REPLAY_PAGE = 1000;

interface Watcher {
  readonly kind?: string;
  /** undefined = every namespace; '' = cluster-scoped objects only. */
  readonly namespace?: string;
  readonly selector?: LabelSelector;
  readonly onEvent: (e: StoreWatchEvent) => void;
  readonly onError?: (err: Error) => void;
  /** Highest revision delivered to (or skipped by) this watcher. */
  cursor: number;
  /** False while replaying history; live fan-out skips it until caught up. */
  live: boolean;
  stopped: boolean;
}

export interface WatchHubHooks {
  /** The first watcher arrived: start looking for writes of other processes. */
  onBusy(): void;
  /** The last watcher left. */
  onIdle(): void;
}

/**
 * In-process fan-out of committed changes to watchers, in revision order,
 * exactly once each.
 *
 * `head` is the newest revision handed to the fan-out queue. A new watcher
 * from revision R replays (R, head] from history in pages, then turns live;
 * live events at or below a watcher's cursor are dropped, so replay and live
 * delivery neither overlap nor leave a gap. Because the database calls are
 * synchronous, nothing can commit between "read history up to head" and
 * "turn live". Writes made from inside a callback are queued behind the event
 * being delivered, so every watcher sees the same order.
 */
export class WatchHub {
  private head: number;
  private readonly watchers = new Set<Watcher>();
  private readonly queue: HistoryEvent[] = [];
  private draining = false;

  constructor(private readonly history: History, head: number, private readonly hooks: WatchHubHooks) {
    this.head = head;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  get headRevision(): number {
    return this.head;
  }

  /** This process committed `event`; fill any gap left by other writers first. */
  committed(event: HistoryEvent): void {
    if (this.watchers.size === 0) {
      this.head = Math.max(this.head, event.revision);
      return;
    }
    if (event.revision <= this.head) return;
    if (event.revision > this.head + 1) this.pull(event.revision - 1);
    this.enqueue([event]);
  }

  /** The store is at `revision` (possibly advanced by other writers): deliver what is missing. */
  sync(revision: number): void {
    if (revision <= this.head) return;
    if (this.watchers.size === 0) {
      this.head = revision;
      return;
    }
    this.pull(revision);
  }

  watch(options: StoreWatchOptions, onEvent: (e: StoreWatchEvent) => void, onError?: (err: Error) => void): StoreWatch {
    const from = options.fromRevision ?? 0;
    const watcher: Watcher = {
      kind: options.kind,
      namespace: options.namespace,
      selector: options.labelSelector?.length ? options.labelSelector : undefined,
      onEvent,
      onError,
      cursor: from > 0 ? from : this.head,
      live: !(from > 0 && from < this.head),
      stopped: false,
    };
    this.watchers.add(watcher);
    if (this.watchers.size === 1) this.hooks.onBusy();
    if (!watcher.live) setImmediate(() => this.replay(watcher));
    return { stop: () => this.remove(watcher) };
  }

  /** Ends every watch with `err` (store closing, history lost). */
  failAll(err: Error): void {
    for (const w of [...this.watchers]) this.fail(w, err);
  }

  private pull(upTo: number): void {
    let events: HistoryEvent[];
    try {
      events = this.history.read(this.head, upTo);
    } catch (err) {
      // Another writer compacted history this process had not seen yet:
      // nobody can be told what changed, so every watcher must start over.
      this.head = upTo;
      this.failAll(err as Error);
      return;
    }
    this.enqueue(events);
    this.head = upTo;
  }

  private enqueue(events: HistoryEvent[]): void {
    if (events.length === 0) return;
    for (const e of events) this.queue.push(e);
    this.head = Math.max(this.head, events[events.length - 1].revision);
    if (this.draining) return;
    this.draining = true;
    try {
      for (let e = this.queue.shift(); e; e = this.queue.shift()) {
        for (const w of this.watchers) if (w.live) this.deliver(w, e);
      }
    } finally {
      this.draining = false;
    }
  }

  private replay(w: Watcher): void {
    if (w.stopped) return;
    const upTo = Math.min(this.head, w.cursor + REPLAY_PAGE);
    let events: HistoryEvent[];
    try {
      events = this.history.read(w.cursor, upTo, { kind: w.kind, namespace: w.namespace });
    } catch (err) {
      this.fail(w, err as Error);
      return;
    }
    for (const e of events) this.deliver(w, e);
    if (w.stopped) return;
    w.cursor = Math.max(w.cursor, upTo);
    if (w.cursor >= this.head) w.live = true;
    else setImmediate(() => this.replay(w));
  }

  private deliver(w: Watcher, e: HistoryEvent): void {
    if (w.stopped || e.revision <= w.cursor) return;
    w.cursor = e.revision;
    if (w.kind !== undefined && w.kind !== e.kind) return;
    if (w.namespace !== undefined && w.namespace !== e.namespace) return;
    let type: WatchEventType | undefined = e.type;
    if (w.selector) {
      if (e.previousLabels !== null) e.previous ??= JSON.parse(e.previousLabels) as Record<string, string>;
      type = selectedEventType(w.selector, e.type, (e.object ?? sharedObject(e)).metadata.labels, e.previous);
      if (type === undefined) return;
    }
    const object = sharedObject(e);
    try {
      w.onEvent({ type, object, revision: e.revision });
    } catch (err) {
      this.fail(w, err instanceof Error ? err : errors.internal(`watch callback threw ${String(err)}`));
    }
  }

  private fail(w: Watcher, err: Error): void {
    if (w.stopped) return;
    this.remove(w);
    try {
      w.onError?.(err);
    } catch {
      // The watcher is already gone; its error handler failing changes nothing.
    }
  }

  private remove(w: Watcher): void {
    if (w.stopped) return;
    w.stopped = true;
    this.watchers.delete(w);
    if (this.watchers.size === 0) this.hooks.onIdle();
  }
}

/**
 * The event's object as watchers get it: made once per event, shared (see
 * shareWatchObject). A copy of the writer's object when there is one (faster
 * than parsing): live events are delivered while the commit still runs, and
 * the writer's caller gets that object only when its promise resolves after
 * the commit, so it is still as written.
 */
function sharedObject(e: HistoryEvent): KernObject {
  e.shared ??= shareWatchObject(e.object ? copyAsJson(e.object) : JSON.parse(e.data) as KernObject, e.data);
  return e.shared;
}
