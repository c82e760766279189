import { Disposable, ExecArgs, LogsArgs, Node, errors } from '@kern/sdk';
import { SyscallTable } from '../syscalls/syscall-table';
import { NodeAgent } from './node-agent';

/** Wires `compute.*` to the node agent running in this process. */
export function registerComputeSyscalls(table: SyscallTable, agent: NodeAgent, runtimeInfo: () => Promise<unknown>): Disposable[] {
  return [
    table.registerStream('compute.logs', async (args) => agent.logs(args as LogsArgs)),
    table.registerStream('compute.exec', async (args) => agent.exec(args as ExecArgs)),
    table.register('compute.nodeInfo', async (args, caller) => {
      const name = (args as { name?: string }).name ?? agent.nodeName;
      if (name !== agent.nodeName) throw errors.unavailable(`node ${name} is not served by this process`);
      const node = (await table.dispatch('state.get', { kind: 'Node', name }, caller)) as Node;
      return { node, runtime: await runtimeInfo() };
    }),
  ];
}
