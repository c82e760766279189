import { Disposable, ExecArgs, LogsArgs, Node, Pod, errors } from '@kern/sdk';
import { Caller, SyscallTable } from '../syscalls/syscall-table';
import { NodeAgent } from './node-agent';
import { RuntimeAgents } from './runtime-agents';

/**
 * Wires `compute.*` to the node agents running in this process (one per
 * runtime driver): a pod's logs and exec go to the agent of the pod's node.
 */
export function registerComputeSyscalls(table: SyscallTable, agents: RuntimeAgents, primaryNode: string): Disposable[] {
  /** The pod (read as the caller, so its permissions apply) and the agent of its node. */
  const agentOfPod = async (args: { namespace?: string; name?: string }, caller: Caller): Promise<{ agent: NodeAgent; pod: Pod }> => {
    if (!args.name || typeof args.name !== 'string') throw errors.invalid('name', 'is required (the pod name)');
    const pod = (await table.dispatch('state.get', { kind: 'Pod', namespace: args.namespace || 'default', name: args.name }, caller)) as Pod;
    const node = pod.spec?.nodeName;
    if (!node) throw errors.unavailable(`pod "${args.name}" is not scheduled yet`);
    const agent = agents.byNode(node);
    if (!agent) throw errors.unavailable(`pod "${args.name}" is on node ${node}, which is not served by this process`);
    return { agent, pod };
  };
  return [
    table.registerStream('compute.logs', async (args, caller) => {
      const { agent, pod } = await agentOfPod(args as LogsArgs, caller);
      return agent.logs(args as LogsArgs, pod);
    }),
    table.registerStream('compute.exec', async (args, caller) => {
      const { agent, pod } = await agentOfPod(args as ExecArgs, caller);
      return agent.exec(args as ExecArgs, pod);
    }),
    table.register('compute.nodeInfo', async (args, caller) => {
      const name = (args as { name?: string }).name ?? primaryNode;
      const agent = agents.byNode(name);
      if (!agent) throw errors.unavailable(`node ${name} is not served by this process`);
      const node = (await table.dispatch('state.get', { kind: 'Node', name }, caller)) as Node;
      return { node, runtime: await agent.runtimeInfo() };
    }),
  ];
}
