/**
 * Watch objects are shared: a store hands every watcher of an event the same
 * object, read-only (see StoreWatchEvent). Under KERN_FREEZE_WATCH_EVENTS=1,
 * which the test runs set, that object is deep-frozen, so a consumer that
 * writes into one fails loudly in tests instead of corrupting what the other
 * watchers cache. Stores (and test doubles of them) pass each event's object
 * through here once.
 */
export function shareWatchObject<T>(object: T): T {
  if (FREEZE) deepFreeze(object);
  return object;
}

const FREEZE = process.env.KERN_FREEZE_WATCH_EVENTS === '1';

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}
