import { isNotFound } from '../errors';
import { KernObject, ObjectKey } from '../resources/meta';
import { Syscalls } from '../syscalls';

/** Runs `fn`, treating NotFound as done (the object is already gone): undefined then. */
export async function ignoreNotFound<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** `state.get`, but undefined (not NotFound) when the object is gone: the usual first step of a reconcile. */
export function getIfExists<T extends KernObject>(syscalls: Syscalls, key: ObjectKey): Promise<T | undefined> {
  return ignoreNotFound(() => syscalls.call('state.get', key) as Promise<T>);
}
