import { Informer, InformerOptions, Logger, Node, Pod, Syscalls } from '@kern/sdk';

/**
 * The Pod and Node caches the kernel's scheduling components share: one
 * list+watch per kind, not one per component (each cache costs its upkeep
 * on every pod event, three events per scheduled pod).
 */
export interface ClusterInformers {
  pods: Informer<Pod>;
  nodes: Informer<Node>;
}

/** A component's Pod and Node caches; start and stop act only on caches it opened itself. */
export interface ComponentInformers extends ClusterInformers {
  startOwned(): void;
  stopOwned(): void;
}

/** `shared` when given (its owner starts and stops it), else the component's own caches. */
export function informersFor(shared: ClusterInformers | undefined, syscalls: Syscalls, onError: InformerOptions['onError']): ComponentInformers {
  if (shared) return { ...shared, startOwned: () => undefined, stopOwned: () => undefined };
  const pods = new Informer<Pod>(syscalls, { kind: 'Pod', onError });
  const nodes = new Informer<Node>(syscalls, { kind: 'Node', onError });
  return {
    pods,
    nodes,
    startOwned: () => { pods.start(); nodes.start(); },
    stopOwned: () => { pods.stop(); nodes.stop(); },
  };
}

/** Creates and starts the shared caches; the caller stops them after their users. */
export function startClusterInformers(syscalls: Syscalls, logger: Logger): ClusterInformers & { stop(): void } {
  const caches = informersFor(undefined, syscalls, (err, source) => {
    if (source === 'handler') logger.warn({ err: err.message }, 'cluster cache event handler failed');
    else logger.debug({ err: err.message, source }, 'cluster cache re-listing');
  });
  caches.startOwned();
  return { pods: caches.pods, nodes: caches.nodes, stop: caches.stopOwned };
}
