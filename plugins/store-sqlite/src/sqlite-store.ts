import type Database from 'better-sqlite3';
import {
  KernObject,
  KernelError,
  ObjectKey,
  StoreDeleteOptions,
  StoreDriver,
  StoreListOptions,
  StoreListResult,
  StoreUpdateOptions,
  StoreWatch,
  StoreWatchEvent,
  StoreWatchOptions,
  WatchEventType,
  checkStorable,
  describeKey,
  errors,
  isKernelError,
  keyOf,
  matchesLabels,
  prepareCreate,
  prepareDelete,
  prepareUpdate,
  sameLabels,
  storedForm,
} from '@kern/sdk';
import { decodeContinue, encodeContinue } from './continue-token';
import { GroupCommit, Outcome } from './group-commit';
import { openStateDatabase } from './state-database';
import { ObjectRow, Statements, prepareStatements } from './statements';
import { HistoryEvent, HistoryFilter, WatchHub } from './watch-hub';

export interface SqliteStoreOptions {
  /** The database file; it and its directory are created when missing. */
  path: string;
  /**
   * Revisions of history kept for watches to resume from; older history is
   * compacted automatically. Default 100000; 0 keeps everything.
   */
  historyRevisions?: number;
  /** How often (ms) watchers look for writes other processes made to the file. Default 50. */
  pollIntervalMs?: number;
  /** How long (ms) a write waits for another process's lock before failing with Unavailable. Default 5000. */
  busyTimeoutMs?: number;
}

export const SQLITE_STORE_DEFAULTS = {
  historyRevisions: 100_000,
  pollIntervalMs: 50,
  busyTimeoutMs: 5000,
} as const;

/** Writes of this instance between two checks for automatic compaction. */
const COMPACTION_CHECK_INTERVAL = 1000;

/** What a write hands back: the caller's result and the change to fan out. */
interface WriteResult {
  object: KernObject;
  event?: HistoryEvent;
}

/**
 * One write, run inside the batch transaction. It may run twice (see the
 * constructor): all it changes is rows, and it must throw before it changes
 * any when it fails for a reason of its own (Conflict, NotFound...).
 */
type WriteOp = () => WriteResult;

/**
 * The embedded state store: one SQLite file (WAL, synchronous=NORMAL) holding
 * the objects and a change history whose newest row is the global revision.
 *
 * A write takes the next revision, applies the sdk's object rules and writes
 * the object and its history row. Writes that arrive close together are
 * group-committed (see GroupCommit for when a batch closes) in one IMMEDIATE
 * transaction, which reads the revision once; a failing write fails alone.
 * Watchers get the changes right after the commit, before the writers'
 * promises resolve. Several processes may share the file: writes serialize
 * on SQLite's lock, and while any watch is open the store polls
 * `PRAGMA data_version` to pick up the others' commits.
 */
export class SqliteStore implements StoreDriver {
  readonly name = 'sqlite';
  readonly path: string;
  private readonly db: Database.Database;
  private readonly sql: Statements;
  private readonly hub: WatchHub;
  private readonly historyRevisions: number;
  private readonly pollIntervalMs: number;
  private poller?: NodeJS.Timeout;
  private seenDataVersion = 0;
  private writesSinceCompactionCheck = 0;
  /** The store's revision inside the running batch transaction; meaningless outside one. */
  private batchRevision = 0;
  /** The running write changed a row (see the batch transaction). */
  private opChangedRows = false;
  private closed = false;

  private readonly writes: GroupCommit<WriteOp, KernObject>;
  private readonly batchTx: Database.Transaction<(ops: WriteOp[], guarded: boolean) => Outcome<WriteResult>[]>;
  private readonly opTx: Database.Transaction<(op: WriteOp) => WriteResult>;
  private readonly compactTx: Database.Transaction<(revision: number) => void>;

  constructor(options: SqliteStoreOptions) {
    if (!options?.path || typeof options.path !== 'string') throw errors.invalid('path', 'is required: the state database file');
    this.path = options.path;
    this.historyRevisions = nonNegativeInteger(options.historyRevisions, 'historyRevisions', SQLITE_STORE_DEFAULTS.historyRevisions);
    this.pollIntervalMs = nonNegativeInteger(options.pollIntervalMs, 'pollIntervalMs', SQLITE_STORE_DEFAULTS.pollIntervalMs) || 1;
    const busyTimeoutMs = nonNegativeInteger(options.busyTimeoutMs, 'busyTimeoutMs', SQLITE_STORE_DEFAULTS.busyTimeoutMs);
    this.db = openStateDatabase(this.path, { busyTimeoutMs });
    this.sql = prepareStatements(this.db);
    this.hub = new WatchHub(
      { read: (after, upTo, filter) => this.readHistory(after, upTo, filter) },
      this.sql.revision.get() ?? 0,
      { onBusy: () => this.startPolling(), onIdle: () => this.stopPolling() },
    );
    // A write that fails leaves the others of its batch intact. Every
    // failure of a write's own (Conflict, AlreadyExists, NotFound) comes
    // before it changed a row, and SQLite undoes a failed statement by
    // itself; so a batch runs with no savepoints, which cost about 10 µs a
    // write. A write that fails after changing rows (only a fault could do
    // that) undoes the batch, which runs again with a savepoint per write.
    // When SQLite itself abandoned the transaction (I/O error, disk full),
    // the whole batch fails.
    this.opTx = this.db.transaction((op: WriteOp) => op());
    this.batchTx = this.db.transaction((ops: WriteOp[], guarded: boolean) => this.runWrites(ops, guarded));
    this.compactTx = this.db.transaction((revision: number) => this.compactInTx(revision));
    this.writes = new GroupCommit((ops) => this.commitBatch(ops));
  }

  async create<T extends KernObject>(obj: T): Promise<T> {
    checkObject(obj);
    return this.write(() => this.createInTx(obj)) as Promise<T>;
  }

  async get<T extends KernObject>(key: ObjectKey): Promise<T> {
    this.checkOpen();
    checkKey(key);
    const data = this.guard(() => this.sql.getObject.get(key.kind, key.namespace || '', key.name));
    if (data === undefined) throw errors.notFound(describeKey(key));
    return JSON.parse(data) as T;
  }

  async list<T extends KernObject>(kind: string, options: StoreListOptions = {}): Promise<StoreListResult<T>> {
    this.checkOpen();
    if (!kind || typeof kind !== 'string') throw errors.invalid('kind', 'is required to list objects');
    const limit = options.limit;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
      throw errors.invalid('limit', `must be a non-negative integer, not ${String(limit)}`);
    }
    const after = options.continue ? decodeContinue(options.continue) : undefined;
    const namespace = options.namespace || undefined;
    const selector = options.labelSelector?.length ? options.labelSelector : undefined;
    const read = this.db.transaction(() => {
      const revision = this.sql.revision.get() ?? 0;
      const rows = this.objectRows(kind, namespace, after);
      const items: T[] = [];
      let last: ObjectRow | undefined;
      for (const row of rows) {
        const object = JSON.parse(row.data) as T;
        if (selector && !matchesLabels(selector, object.metadata.labels)) continue;
        if (limit && items.length === limit) {
          // One more match exists: the page is full and another follows.
          return { items, revision, continue: encodeContinue(last!) };
        }
        items.push(object);
        last = row;
      }
      return { items, revision };
    });
    return this.guard(() => read());
  }

  async update<T extends KernObject>(obj: T, options: StoreUpdateOptions = {}): Promise<T> {
    if (options.subresource !== undefined && options.subresource !== 'status') {
      throw errors.invalid('subresource', `must be "status" or absent, not "${String(options.subresource)}"`);
    }
    checkObject(obj);
    return this.write(() => this.updateInTx(obj, options)) as Promise<T>;
  }

  async delete<T extends KernObject>(key: ObjectKey, options: StoreDeleteOptions = {}): Promise<T> {
    checkKey(key);
    return this.write(() => this.deleteInTx(key, options)) as Promise<T>;
  }

  watch(options: StoreWatchOptions, onEvent: (e: StoreWatchEvent) => void, onError?: (err: Error) => void): StoreWatch {
    options = options ?? {};
    const failLater = (err: Error): StoreWatch => {
      setImmediate(() => onError?.(err));
      return { stop: () => undefined };
    };
    if (this.closed) return failLater(closedError());
    const from = options.fromRevision;
    if (from !== undefined && (!Number.isInteger(from) || from < 0)) {
      return failLater(errors.invalid('fromRevision', `must be a non-negative integer, not ${String(from)}`));
    }
    try {
      // Catch up with other processes first, so "from now" means now.
      this.hub.sync(this.sql.revision.get() ?? 0);
      this.seenDataVersion = this.sql.dataVersion.get() ?? 0;
    } catch (err) {
      return failLater(toStoreError(err));
    }
    return this.hub.watch({ ...options, namespace: options.namespace || undefined }, onEvent, onError);
  }

  async revision(): Promise<number> {
    this.checkOpen();
    return this.guard(() => this.sql.revision.get() ?? 0);
  }

  async compact(revision: number): Promise<void> {
    this.checkOpen();
    if (!Number.isInteger(revision) || revision < 0) {
      throw errors.invalid('revision', `must be a non-negative integer, not ${String(revision)}`);
    }
    this.guard(() => this.compactTx.immediate(revision));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.writes.flush();
    this.closed = true;
    this.hub.failAll(errors.unavailable('the sqlite store was closed while watching: watch again once it is back'));
    this.stopPolling();
    this.db.close();
  }

  // --- writes (each runs inside the batch transaction) --------------------------

  private createInTx(obj: KernObject): WriteResult {
    const revision = this.nextRevision();
    const { data, object } = storedForm(prepareCreate(obj, revision));
    const inserted = this.changing(this.sql.insertObject.run(object.kind, object.metadata.namespace ?? '', object.metadata.name, revision, data));
    if (inserted.changes === 0) throw errors.alreadyExists(describeKey(keyOf(object)), { field: 'metadata.name' });
    return { object, event: this.record(revision, 'ADDED', object, data) };
  }

  private updateInTx(incoming: KernObject, options: StoreUpdateOptions): WriteResult {
    const key = keyOf(incoming);
    const current = this.readCurrent(key);
    const revision = this.nextRevision();
    const outcome = prepareUpdate(current, incoming, revision, options);
    const { data, object } = storedForm(outcome.object);
    // Only a change of labels can move the object in or out of a watch's selection.
    const previous = sameLabels(current.metadata.labels, object.metadata.labels) ? undefined : current.metadata.labels ?? {};
    if (outcome.action === 'delete') {
      this.changing(this.sql.deleteObject.run(key.kind, key.namespace ?? '', key.name));
      return { object, event: this.record(revision, 'DELETED', object, data, previous) };
    }
    this.changing(this.sql.updateObject.run(revision, data, key.kind, key.namespace ?? '', key.name));
    return { object, event: this.record(revision, 'MODIFIED', object, data, previous) };
  }

  private deleteInTx(key: ObjectKey, options: StoreDeleteOptions): WriteResult {
    const current = this.readCurrent(key);
    const revision = this.nextRevision();
    const outcome = prepareDelete(current, revision, options);
    if (outcome.action === 'none') return { object: current }; // parsed for this call alone
    const { data, object } = storedForm(outcome.object);
    const ns = key.namespace || '';
    if (outcome.action === 'mark') {
      this.changing(this.sql.updateObject.run(revision, data, key.kind, ns, key.name));
      return { object, event: this.record(revision, 'MODIFIED', object, data) };
    }
    this.changing(this.sql.deleteObject.run(key.kind, ns, key.name));
    return { object, event: this.record(revision, 'DELETED', object, data) };
  }

  private compactInTx(revision: number): void {
    if (revision <= (this.sql.compacted.read.get() ?? 0)) return;
    const newest = this.sql.revision.get() ?? 0;
    if (revision > newest) throw errors.invalid('revision', `${revision} is newer than the store's revision ${newest}`);
    this.sql.deleteEventsThrough.run(revision);
    this.sql.compacted.write.run(revision);
  }

  /** The revision the running write records at: one past the batch's newest (a write that failed took none). */
  private nextRevision(): number {
    return this.batchRevision + 1;
  }

  /** Writes the history row, which also makes `revision` the store's revision; returns the event to fan out. */
  private record(revision: number, type: WatchEventType, object: KernObject, data: string, previous?: Record<string, string>): HistoryEvent {
    const namespace = object.metadata.namespace ?? '';
    const previousLabels = previous ? JSON.stringify(previous) : null;
    this.changing(this.sql.insertEvent.run(revision, type, object.kind, namespace, object.metadata.name, data, previousLabels));
    return { revision, type, kind: object.kind, namespace, data, previousLabels, previous, object };
  }

  /**
   * Runs a batch's writes in order, reading the revision first (the
   * IMMEDIATE transaction holds the write lock, so no other process moves it
   * meanwhile). Unguarded, a write that fails after changing rows throws
   * UndoBatch; guarded, each write has its own savepoint.
   */
  private runWrites(ops: WriteOp[], guarded: boolean): Outcome<WriteResult>[] {
    this.batchRevision = this.sql.revision.get() ?? 0;
    return ops.map((op): Outcome<WriteResult> => {
      this.opChangedRows = false;
      try {
        const value = guarded ? this.opTx(op) : op();
        if (value.event) this.batchRevision = value.event.revision;
        return { ok: true, value };
      } catch (error) {
        if (!this.db.inTransaction) throw error;
        if (!guarded && this.opChangedRows) throw new UndoBatch(error);
        return { ok: false, error: toStoreError(error) };
      }
    });
  }

  /** Notes that a write statement of the running write changed rows. */
  private changing(result: Database.RunResult): Database.RunResult {
    if (result.changes > 0) this.opChangedRows = true;
    return result;
  }

  private readCurrent(key: ObjectKey): KernObject {
    const data = this.sql.getObject.get(key.kind, key.namespace || '', key.name);
    if (data === undefined) throw errors.notFound(describeKey(key));
    return JSON.parse(data) as KernObject;
  }

  // --- plumbing ----------------------------------------------------------------

  /** Queues a write for the next group commit. */
  private write(op: WriteOp): Promise<KernObject> {
    this.checkOpen();
    return this.writes.submit(op);
  }

  /** Commits a batch of writes in one transaction, then fans the changes out in order. */
  private commitBatch(ops: WriteOp[]): Outcome<KernObject>[] {
    if (this.closed) throw closedError();
    let outcomes: Outcome<WriteResult>[];
    try {
      outcomes = this.batchTx.immediate(ops, false);
    } catch (err) {
      if (!(err instanceof UndoBatch)) throw toStoreError(err);
      // Between the two runs the lock is free: another process's write may
      // come first (this batch then waits for it, as any write does).
      outcomes = this.guard(() => this.batchTx.immediate(ops, true));
    }
    let newest = 0;
    for (const o of outcomes) {
      if (!o.ok || !o.value.event) continue;
      this.hub.committed(o.value.event);
      newest = o.value.event.revision;
      this.writesSinceCompactionCheck++;
    }
    if (newest) this.maybeCompact(newest);
    return outcomes.map((o) => (o.ok ? { ok: true, value: o.value.object } : o));
  }

  private maybeCompact(revision: number): void {
    if (this.historyRevisions === 0 || this.writesSinceCompactionCheck < COMPACTION_CHECK_INTERVAL) return;
    this.writesSinceCompactionCheck = 0;
    const target = revision - this.historyRevisions;
    if (target <= 0) return;
    try {
      this.compactTx.immediate(target);
    } catch {
      // The write already committed; compaction is retried at the next check.
    }
  }

  private objectRows(kind: string, namespace: string | undefined, after: { namespace: string; name: string } | undefined): Iterable<ObjectRow> {
    if (namespace === undefined) {
      if (!after) return this.sql.listAll.iterate({ kind });
      return this.sql.listAllAfter.iterate({ kind, ns: after.namespace, name: after.name });
    }
    // A token from an all-namespace list may point into another namespace.
    if (!after || after.namespace < namespace) return this.sql.listNamespace.iterate({ kind, ns: namespace });
    if (after.namespace > namespace) return [];
    return this.sql.listNamespaceAfter.iterate({ kind, ns: namespace, name: after.name });
  }

  private readHistory(after: number, upTo: number, filter: HistoryFilter = {}): HistoryEvent[] {
    // One read transaction, so the compaction check and the rows agree even
    // while another process compacts.
    return this.db.transaction(() => {
      const compacted = this.sql.compacted.read.get() ?? 0;
      if (after < compacted) {
        throw errors.tooOld(
          `history before revision ${compacted + 1} was compacted, so a watch cannot resume from ${after}: list again and watch from the list's revision`,
          { field: 'fromRevision' },
        );
      }
      const range = { after, upTo };
      const ns = filter.namespace;
      if (filter.kind !== undefined && ns !== undefined) return this.sql.eventsOfKindInNamespace.all({ ...range, kind: filter.kind, ns });
      if (filter.kind !== undefined) return this.sql.eventsOfKind.all({ ...range, kind: filter.kind });
      if (ns !== undefined) return this.sql.eventsOfNamespace.all({ ...range, ns });
      return this.sql.eventsAll.all(range);
    })();
  }

  private startPolling(): void {
    if (this.poller || this.closed) return;
    this.seenDataVersion = this.sql.dataVersion.get() ?? 0;
    this.poller = setInterval(() => this.poll(), this.pollIntervalMs);
    this.poller.unref();
  }

  private stopPolling(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
  }

  /** Looks for commits of other connections; cheap when there are none. */
  private poll(): void {
    if (this.closed) return;
    try {
      const version = this.sql.dataVersion.get() ?? 0;
      if (version === this.seenDataVersion) return;
      this.seenDataVersion = version;
      this.hub.sync(this.sql.revision.get() ?? 0);
    } catch (err) {
      // A locked or failing file is retried at the next tick; nothing was lost.
      void err;
    }
  }

  private checkOpen(): void {
    if (this.closed) throw closedError();
  }

  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw toStoreError(err);
    }
  }
}

/** A write failed after changing rows, which only a savepoint per write undoes: the batch runs again, guarded. */
class UndoBatch extends Error {
  constructor(cause: unknown) {
    super('a write of the batch failed after changing rows', { cause });
  }
}

function closedError(): KernelError {
  return errors.unavailable('the sqlite store is closed');
}

function checkObject(obj: KernObject): void {
  checkStorable(obj);
  const ns = obj.metadata.namespace;
  if (ns !== undefined && ns !== null && typeof ns !== 'string') throw errors.invalid('metadata.namespace', 'must be a string');
}

function checkKey(key: ObjectKey): void {
  if (!key || typeof key !== 'object') throw errors.invalid('key', 'must name kind, namespace and name');
  if (!key.kind || typeof key.kind !== 'string') throw errors.invalid('kind', 'is required');
  if (!key.name || typeof key.name !== 'string') throw errors.invalid('metadata.name', 'is required');
  if (key.namespace !== undefined && typeof key.namespace !== 'string') throw errors.invalid('metadata.namespace', 'must be a string');
}

function nonNegativeInteger(value: number | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) throw errors.invalid(field, `must be a non-negative integer, not ${String(value)}`);
  return value;
}

/** Maps SQLite failures onto the kernel's error kinds; KernelErrors pass through. */
function toStoreError(err: unknown): KernelError {
  if (isKernelError(err)) return err;
  const code = (err as { code?: unknown })?.code;
  const message = (err as Error)?.message ?? String(err);
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || (typeof code === 'string' && code.startsWith('SQLITE_BUSY'))) {
    return errors.unavailable(`the state database is locked by another writer (${message}): retry`, { cause: err });
  }
  if (code === 'SQLITE_FULL') return new KernelError('ResourceExhausted', `the state database disk is full: ${message}`, { cause: err });
  if (typeof code === 'string' && code.startsWith('SQLITE_READONLY')) {
    return errors.unavailable(`the state database is read-only: ${message}`, { cause: err });
  }
  if (err instanceof TypeError && /database connection is not open/.test(message)) return closedError();
  if (err instanceof TypeError && /circular|BigInt/i.test(message)) return errors.invalid('object', `must be plain JSON: ${message}`);
  return errors.internal(`state database failure: ${message}`, { cause: err });
}
