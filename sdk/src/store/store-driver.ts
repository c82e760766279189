import { KernObject, ObjectKey } from '../resources/meta';
import { LabelSelector } from '../selectors';
import { createToken } from '../tokens';

export interface StoreListOptions {
  /** Only objects in this namespace; absent = every namespace. */
  namespace?: string;
  /** Parsed selector (see `parseLabelSelector`); absent = every object. */
  labelSelector?: LabelSelector;
  /** Page size; absent = everything. */
  limit?: number;
  /** Opaque token from a previous page's `continue`; Invalid when it is not one. */
  continue?: string;
}

export interface StoreListResult<T extends KernObject = KernObject> {
  items: T[];
  /** The store revision the list is consistent with; watch from here. */
  revision: number;
  /** Present when more pages remain. */
  continue?: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreWatchEvent<T extends KernObject = KernObject> {
  type: WatchEventType;
  /**
   * The object after the change; for DELETED, its last state. Read-only:
   * every watcher of the event may receive the same object, so copy it
   * before changing anything (`{ ...obj, spec: { ...obj.spec, x } }`).
   */
  object: T;
  /** Revision of this change (equals object.metadata.resourceVersion). */
  revision: number;
}

export interface StoreWatchOptions {
  /** Only this kind; absent = every kind. */
  kind?: string;
  namespace?: string;
  /** Match on the labels of the object after (and for DELETED, before) the change. */
  labelSelector?: LabelSelector;
  /**
   * Deliver every change with a revision strictly greater than this one,
   * replaying history first. Absent or 0 = only changes from now on. A
   * revision older than the compacted history fails with TooOld.
   */
  fromRevision?: number;
}

/** A running watch. `stop` is idempotent. */
export interface StoreWatch {
  stop(): void;
}

export interface StoreUpdateOptions {
  /**
   * `status` writes only `.status` (spec and metadata stay as stored);
   * absent writes metadata (labels, annotations, finalizers, ownerReferences)
   * and spec, and keeps the stored status.
   */
  subresource?: 'status';
}

export interface StoreDeleteOptions {
  /** Precondition: fail with Conflict unless the stored resourceVersion equals this. */
  resourceVersion?: string;
  /** Precondition: fail with Conflict unless the stored uid equals this. */
  uid?: string;
}

/**
 * The state store driver: durable objects with a global revision and watch.
 * Semantics every implementation must have (the sdk's store conformance suite
 * checks them; `object-rules.ts` implements the per-object part):
 *
 * - Every write gets the next global revision; `metadata.resourceVersion` is
 *   that revision as a string.
 * - `create` sets uid, creationTimestamp, generation 1; AlreadyExists when the
 *   key is taken.
 * - `update` is compare-and-set: when the incoming object carries a
 *   resourceVersion that is not the stored one, Conflict and nothing changes.
 *   Without one it is unconditional. `generation` is bumped when spec changes.
 * - `delete` of an object with finalizers only sets deletionTimestamp (a
 *   MODIFIED event); the object goes when an update empties its finalizers.
 * - `watch` delivers changes in revision order, exactly once, resuming from
 *   any revision still in history; older ones fail with TooOld.
 * - All methods are safe to call concurrently; each write is atomic.
 */
export interface StoreDriver {
  /** Driver name, e.g. `sqlite`, `etcd`. */
  readonly name: string;
  create<T extends KernObject>(obj: T): Promise<T>;
  /** NotFound when absent. */
  get<T extends KernObject>(key: ObjectKey): Promise<T>;
  list<T extends KernObject>(kind: string, options?: StoreListOptions): Promise<StoreListResult<T>>;
  update<T extends KernObject>(obj: T, options?: StoreUpdateOptions): Promise<T>;
  /**
   * Deletes, or with finalizers marks for deletion. Returns the object's last
   * state (with deletionTimestamp when only marked). NotFound when absent.
   */
  delete<T extends KernObject>(key: ObjectKey, options?: StoreDeleteOptions): Promise<T>;
  /**
   * Starts a watch. Never throws: every failure (TooOld for a compacted
   * `fromRevision`, Unavailable when the store is or gets closed, an error
   * thrown by `onEvent`) goes to `onError`, never synchronously from inside
   * `watch` itself, after which the watch is stopped.
   */
  watch(options: StoreWatchOptions, onEvent: (e: StoreWatchEvent) => void, onError?: (err: Error) => void): StoreWatch;
  /** The newest revision. */
  revision(): Promise<number>;
  /**
   * Drops history at and below `revision`: a watch from a revision below it
   * gets TooOld (one from `revision` itself still works). A no-op when
   * already compacted that far; Invalid when `revision` is newer than the store.
   */
  compact(revision: number): Promise<void>;
  /**
   * Flushes and releases everything; later calls fail with Unavailable and
   * open watches end with Unavailable. Closing twice is a no-op.
   */
  close(): Promise<void>;
}

export const StoreDriver = createToken<StoreDriver>('driver.store');
