import { Disposable, KernObject, KindInfo, ObjectKey, WatchArgs } from '@kern/sdk';
import { StateService } from '../state/state-service';
import { SyscallTable } from './syscall-table';

/** Wires the `state.*` syscalls to the state service. */
export function registerStateSyscalls(table: SyscallTable, state: StateService): Disposable[] {
  const a = <T>(args: unknown) => args as T;
  return [
    table.register('state.create', (args) => state.create(a<{ object: KernObject }>(args).object)),
    table.register('state.get', (args) => state.get(a<ObjectKey>(args))),
    table.register('state.list', (args) => state.list(a<{ kind: string }>(args))),
    table.register('state.update', (args) => state.update(a<{ object: KernObject; subresource?: 'status' }>(args))),
    table.register('state.delete', (args) => state.delete(a<ObjectKey>(args))),
    table.register('state.apply', (args) => state.apply(a<{ object: KernObject }>(args).object)),
    table.register('state.kinds', async () => state.kinds.list()),
    table.register('state.registerKind', async (args) => { state.kinds.register(a<KindInfo>(args)); return args; }),
    table.registerWatch((args: WatchArgs, onEvent, onError) => state.watch(args, onEvent, onError)),
  ];
}
