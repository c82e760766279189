import { randomUUID } from 'node:crypto';
import { errors } from '../errors';
import { KernObject, describeKey, keyOf } from '../resources/meta';
import { copyAsJson, shallowCopy } from './json-copy';
import { StoreUpdateOptions } from './store-driver';

/**
 * The per-object half of the store contract, shared by every store driver so
 * they agree byte for byte: a driver runs these inside its own transaction and
 * stores what they return.
 *
 * What they return is assembled, not copied: it may share nested values with
 * their arguments. A driver keeps and hands out only {@link storedForm}'s
 * JSON and its private copy equal to that JSON, never the returned object
 * itself. (A deep copy up front would be a second copy per write.)
 */

let isoMillis = -1;
let isoText = '';
/** The time now as ISO 8601; made once per millisecond (writes come several per millisecond). */
function nowIso(): string {
  const ms = Date.now();
  if (ms !== isoMillis) {
    isoMillis = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/** A JSON-clean deep copy, so callers never share objects with the store. */
export function cloneObject<T>(obj: T): T {
  return JSON.parse(JSON.stringify(obj)) as T;
}

/** Checks the fields a store needs (kind, apiVersion, metadata.name). */
export function checkStorable(obj: KernObject): void {
  if (!obj || typeof obj !== 'object') throw errors.invalid('object', 'must be a JSON object');
  if (!obj.kind || typeof obj.kind !== 'string') throw errors.invalid('kind', 'is required');
  if (!obj.apiVersion || typeof obj.apiVersion !== 'string') throw errors.invalid('apiVersion', 'is required');
  if (!obj.metadata || typeof obj.metadata !== 'object') throw errors.invalid('metadata', 'is required');
  if (!obj.metadata.name || typeof obj.metadata.name !== 'string') throw errors.invalid('metadata.name', 'is required');
}

/**
 * What a driver stores for a prepared object: its JSON, and a private copy
 * equal to parsing that JSON, to hand out (copied from `prepared`, which is
 * faster than parsing; JSON.stringify has vetted it first).
 */
export function storedForm<T>(prepared: T): { data: string; object: T } {
  const data = JSON.stringify(prepared);
  const object = copyAsJson(prepared);
  if (object !== null && typeof object === 'object') writtenJson.set(object, data);
  return { data, object };
}

/** The JSON each private copy from storedForm equals. */
const writtenJson = new WeakMap<object, string>();

/**
 * The JSON a write's result equals (see storedForm); undefined for
 * any other object. The result is the caller's to change, so this is only
 * for replying with it at once: an API server saves serializing it again.
 */
export function writtenJsonOf(object: unknown): string | undefined {
  return object !== null && typeof object === 'object' ? writtenJson.get(object) : undefined;
}

/** The object as stored by a create at `revision` (shares nested values with `obj`: see storedForm). */
export function prepareCreate<T extends KernObject>(obj: T, revision: number): T {
  checkStorable(obj);
  const out = withMetadata(obj);
  const md = out.metadata;
  md.uid = randomUUID();
  md.creationTimestamp = nowIso();
  md.generation = 1;
  md.resourceVersion = String(revision);
  if (md.deletionTimestamp !== undefined) delete md.deletionTimestamp;
  if (!md.namespace) delete md.namespace;
  return out;
}

/**
 * A shallow copy of `obj` with a shallow copy of its metadata (when that is
 * an object: validation names a bad one later), to set metadata fields on.
 */
export function withMetadata<T extends KernObject>(obj: T): T {
  const out = shallowCopy(obj);
  if (obj.metadata && typeof obj.metadata === 'object') out.metadata = shallowCopy(obj.metadata);
  return out;
}

const FIXED_KEYS = new Set(['apiVersion', 'kind', 'metadata', 'status']);

export type UpdateOutcome<T> = { action: 'update'; object: T } | { action: 'delete'; object: T };

/**
 * What an update of `current` with `incoming` at `revision` stores (sharing
 * nested values with both: see storedForm). Throws Conflict on a
 * resourceVersion or uid mismatch. When the object was marked for deletion
 * and the update removes its last finalizer, the outcome is a delete.
 */
export function prepareUpdate<T extends KernObject>(current: T, incoming: T, revision: number, options: StoreUpdateOptions = {}): UpdateOutcome<T> {
  checkStorable(incoming);
  const inMd = incoming.metadata;
  if (inMd.resourceVersion && inMd.resourceVersion !== current.metadata.resourceVersion) {
    throw errors.conflict(
      `${describeKey(keyOf(current))} was changed since you read it (resourceVersion ${inMd.resourceVersion}, now ${current.metadata.resourceVersion}): read it again and retry`,
      { field: 'metadata.resourceVersion' },
    );
  }
  if (inMd.uid && inMd.uid !== current.metadata.uid) {
    throw errors.conflict(`${describeKey(keyOf(current))} has uid ${current.metadata.uid}, not ${inMd.uid}: it was deleted and re-created`, { field: 'metadata.uid' });
  }
  const next = withMetadata(current);
  if (options.subresource === 'status') {
    next.status = incoming.status;
    if (next.status === undefined) delete next.status;
  } else {
    const md = next.metadata;
    const take = <K extends 'labels' | 'annotations' | 'finalizers' | 'ownerReferences'>(k: K) => {
      if (inMd[k] === undefined || inMd[k] === null) delete md[k];
      else md[k] = inMd[k];
    };
    take('labels'); take('annotations'); take('finalizers'); take('ownerReferences');
    if (current.metadata.deletionTimestamp) {
      // Finalizers may only be removed once deletion started: a new one could hold the object forever.
      const added = (md.finalizers ?? []).find((f) => !(current.metadata.finalizers ?? []).includes(f));
      if (added !== undefined) {
        throw errors.forbidden(`${describeKey(keyOf(current))} is being deleted, so no finalizer can be added (got "${added}"): only remove finalizers now`, { field: 'metadata.finalizers' });
      }
    }
    // Everything beside metadata and status is desired state (spec, or data
    // for ConfigMap-like kinds): take it whole from the incoming object.
    const bodyKeys = (o: object) => Object.keys(o).filter((k) => !FIXED_KEYS.has(k));
    const specChanged = JSON.stringify(current.spec) !== JSON.stringify(incoming.spec);
    const target = next as unknown as Record<string, unknown>;
    bodyKeys(next).forEach((k) => delete target[k]);
    bodyKeys(incoming).forEach((k) => { target[k] = (incoming as unknown as Record<string, unknown>)[k]; });
    if (specChanged) md.generation = (current.metadata.generation ?? 1) + 1;
  }
  next.metadata.resourceVersion = String(revision);
  if (next.metadata.deletionTimestamp && !(next.metadata.finalizers?.length)) {
    return { action: 'delete', object: next };
  }
  return { action: 'update', object: next };
}

export type DeleteOutcome<T> = { action: 'delete'; object: T } | { action: 'mark'; object: T } | { action: 'none'; object: T };

/**
 * What a delete of `current` at `revision` does: remove it, or (with
 * finalizers) mark it with deletionTimestamp, or nothing when already marked.
 * The object returned shares nested values with `current` (see storedForm).
 */
export function prepareDelete<T extends KernObject>(current: T, revision: number, preconditions: { resourceVersion?: string; uid?: string } = {}): DeleteOutcome<T> {
  if (preconditions.resourceVersion && preconditions.resourceVersion !== current.metadata.resourceVersion) {
    throw errors.conflict(`${describeKey(keyOf(current))} was changed since you read it (resourceVersion ${preconditions.resourceVersion}, now ${current.metadata.resourceVersion})`, { field: 'metadata.resourceVersion' });
  }
  if (preconditions.uid && preconditions.uid !== current.metadata.uid) {
    throw errors.conflict(`${describeKey(keyOf(current))} has uid ${current.metadata.uid}, not ${preconditions.uid}`, { field: 'metadata.uid' });
  }
  if (current.metadata.finalizers?.length) {
    if (current.metadata.deletionTimestamp) return { action: 'none', object: current };
    const marked = withMetadata(current);
    marked.metadata.deletionTimestamp = nowIso();
    marked.metadata.resourceVersion = String(revision);
    return { action: 'mark', object: marked };
  }
  const deleted = withMetadata(current);
  deleted.metadata.resourceVersion = String(revision);
  return { action: 'delete', object: deleted };
}
