import { isNotFound } from '../errors';
import { KernObject, ObjectKey } from '../resources/meta';
import { Syscalls } from '../syscalls';

/** `state.get`, but undefined (not NotFound) when the object is gone: the usual first step of a reconcile. */
export async function getIfExists<T extends KernObject>(syscalls: Syscalls, key: ObjectKey): Promise<T | undefined> {
  try {
    return (await syscalls.call('state.get', key)) as T;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}
