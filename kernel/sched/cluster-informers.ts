import { Informer, Logger, Node, Pod, Syscalls } from '@kern/sdk';

/**
 * The Pod and Node caches the kernel's scheduling components share: one
 * list+watch per kind, not one per component (each cache costs its upkeep
 * on every pod event, three events per scheduled pod).
 */
export interface ClusterInformers {
  pods: Informer<Pod>;
  nodes: Informer<Node>;
}

/** Creates and starts the shared caches; the caller stops them after their users. */
export function startClusterInformers(syscalls: Syscalls, logger: Logger): ClusterInformers & { stop(): void } {
  const onError = (kind: string) => (err: Error, source: string) => {
    if (source === 'handler') logger.warn({ kind, err: err.message }, 'cluster cache event handler failed');
    else logger.debug({ kind, err: err.message, source }, 'cluster cache re-listing');
  };
  const pods = new Informer<Pod>(syscalls, { kind: 'Pod', onError: onError('Pod') });
  const nodes = new Informer<Node>(syscalls, { kind: 'Node', onError: onError('Node') });
  pods.start();
  nodes.start();
  return { pods, nodes, stop: () => { pods.stop(); nodes.stop(); } };
}
