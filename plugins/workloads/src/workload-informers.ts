import { DaemonSet, Deployment, Disposable, Informer, KernObject, Logger, Node, Pod, ReplicaSet, Syscalls } from '@kern/sdk';

/**
 * The caches the workload controllers share: one list+watch per kind for
 * the whole plugin, not one per controller.
 */
export class WorkloadInformers implements Disposable {
  readonly pods: Informer<Pod>;
  readonly replicaSets: Informer<ReplicaSet>;
  readonly deployments: Informer<Deployment>;
  readonly daemonSets: Informer<DaemonSet>;
  readonly nodes: Informer<Node>;

  constructor(syscalls: Syscalls, logger?: Logger) {
    const onError = (kind: string) => (err: Error, source: string) => {
      if (source === 'handler') logger?.warn({ kind, err: err.message }, 'workload event handler failed');
      else logger?.debug({ kind, err: err.message, source }, 'informer re-listing');
    };
    this.pods = new Informer<Pod>(syscalls, { kind: 'Pod', onError: onError('Pod') });
    this.replicaSets = new Informer<ReplicaSet>(syscalls, { kind: 'ReplicaSet', onError: onError('ReplicaSet') });
    this.deployments = new Informer<Deployment>(syscalls, { kind: 'Deployment', onError: onError('Deployment') });
    this.daemonSets = new Informer<DaemonSet>(syscalls, { kind: 'DaemonSet', onError: onError('DaemonSet') });
    this.nodes = new Informer<Node>(syscalls, { kind: 'Node', onError: onError('Node') });
  }

  /** The caches by kind, for the garbage collector to share. */
  byKind(): ReadonlyMap<string, Informer<KernObject>> {
    return new Map<string, Informer<KernObject>>([
      ['Pod', this.pods], ['ReplicaSet', this.replicaSets], ['Deployment', this.deployments], ['DaemonSet', this.daemonSets], ['Node', this.nodes],
    ] as [string, Informer<KernObject>][]);
  }

  private all(): Informer<KernObject>[] {
    return [...this.byKind().values()];
  }

  start(): void {
    for (const i of this.all()) i.start();
  }

  async waitForSync(timeoutMs?: number): Promise<void> {
    await Promise.all(this.all().map((i) => i.waitForSync(timeoutMs)));
  }

  dispose(): void {
    for (const i of this.all()) i.dispose();
  }
}
