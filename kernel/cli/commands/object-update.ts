import { KernObject } from '@kern/sdk';
import { CliContext } from '../cli-context';

export interface ObjectRef {
  kind: string;
  namespace?: string;
  name: string;
}

/**
 * Reads the object, applies `change`, and writes it back; reads and tries
 * again (up to 5 times) when another writer got in between (Conflict).
 */
export async function updateWithRetry<T extends KernObject>(ctx: CliContext, ref: ObjectRef, change: (obj: T) => void): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const obj = (await ctx.client.syscall('state.get', ref)) as T;
    change(obj);
    try {
      return (await ctx.client.syscall('state.update', { object: obj })) as T;
    } catch (e) {
      if ((e as { kind?: string }).kind !== 'Conflict' || attempt >= 5) throw e;
    }
  }
}
