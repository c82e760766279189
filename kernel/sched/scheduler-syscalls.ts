import { Disposable, SyscallArgs } from '@kern/sdk';
import { SyscallTable } from '../syscalls/syscall-table';
import { Scheduler } from './scheduler';

/** `sched.explain`, `sched.bind`, `sched.submit` on the scheduler. */
export function registerSchedulerSyscalls(table: SyscallTable, scheduler: Scheduler): Disposable[] {
  return [
    table.register('sched.explain', async (args) => scheduler.explain(args as SyscallArgs<'sched.explain'>)),
    table.register('sched.bind', async (args) => scheduler.bind(args as SyscallArgs<'sched.bind'>)),
    table.register('sched.submit', async (args) => scheduler.submit(args as SyscallArgs<'sched.submit'>)),
  ];
}
