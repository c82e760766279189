/**
 * Watch objects are shared: a store hands every watcher of an event the same
 * object, read-only (see StoreWatchEvent). Under KERN_FREEZE_WATCH_EVENTS=1,
 * which the test runs set, that object is deep-frozen, so a consumer that
 * writes into one fails loudly in tests instead of corrupting what the other
 * watchers cache. Stores (and test doubles of them) pass each event's object
 * through here once.
 */
export function shareWatchObject<T>(object: T, json?: string): T {
  if (FREEZE) deepFreeze(object);
  if (json !== undefined && object !== null && typeof object === 'object') jsonOf.set(object, json);
  return object;
}

/** The JSON of shared watch objects: what the store parsed them from, or serialized once. */
const jsonOf = new WeakMap<object, string>();

/**
 * A shared watch object as JSON, for the API servers that send it to many
 * watchers: the text the store parsed it from when the store passed that to
 * {@link shareWatchObject}, else serialized on first use and kept. Being
 * read-only, the object never drifts from its JSON.
 */
export function watchObjectJson(object: object): string {
  let json = jsonOf.get(object);
  if (json === undefined) {
    json = JSON.stringify(object);
    jsonOf.set(object, json);
  }
  return json;
}

const FREEZE = process.env.KERN_FREEZE_WATCH_EVENTS === '1';

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}
