import {
  Disposable, Informer, KernObject, Logger, Node, NodeCondition, Pod, REASON_NODE_LOST, REASON_TAINT_EVICTION, Syscalls, TAINT_NODE_UNREACHABLE, Taint,
  eventObject, isConflict, isNotFound, isTerminalPod, formatTaint, toleratesAny,
} from '@kern/sdk';
import { ClusterInformers, ComponentInformers, informersFor } from './cluster-informers';
import { noExecuteDeadline } from './no-execute';

export const NODE_LEASE_NAMESPACE = 'kern-node-lease';
/** Ready condition reason we set; only a condition carrying it is ours to put back. */
const REASON_STATUS_UNKNOWN = 'NodeStatusUnknown';

export interface NodeLifecycleOptions {
  /** Seconds a NotReady node keeps its pods before they are marked Failed. Default 60. */
  nodeLossGraceSeconds?: number;
  /** How often leases are checked. Default 5000 ms (less when the grace period is short). */
  monitorPeriodMs?: number;
  /** Pod and Node caches shared with other kernel components; whoever passes them starts and stops them. */
  informers?: ClusterInformers;
}

interface LeaseSpec { renewTime?: string; leaseDurationSeconds?: number }

/**
 * Watches node Leases. A node whose lease is older than its duration gets
 * Ready=Unknown and the `node.kubernetes.io/unreachable` NoExecute taint;
 * after the grace period its pods are marked Failed (reason NodeLost) so
 * their controllers replace them. A renewed lease undoes both. Nodes that
 * never had a lease are left alone.
 *
 * It also evicts for NoExecute taints, as Kubernetes' taint manager does: a
 * pod on a node with a NoExecute taint it does not tolerate is deleted at
 * once; one tolerating it with tolerationSeconds is deleted that long after
 * the taint appeared (unless the taint goes first); one tolerating it
 * without tolerationSeconds stays. A pod that tolerates the unreachable
 * taint is left to its tolerations instead of being marked NodeLost.
 */
export class NodeLifecycleController {
  private readonly leases: Informer<KernObject<LeaseSpec>>;
  private readonly nodes: Informer<Node>;
  private readonly pods: Informer<Pod>;
  /** The Pod and Node caches: shared (options.informers) or this component's own. */
  private readonly cluster: ComponentInformers;
  private timer?: NodeJS.Timeout;
  /** Fires at the next tolerationSeconds deadline. */
  private deadlineTimer?: NodeJS.Timeout;
  private busy = false;
  /** A check was asked for while one ran: run another after it. */
  private again = false;
  /** When this controller first saw each NoExecute taint that carries no timeAdded (node, key, value → ms). */
  private readonly taintSeen = new Map<string, number>();
  private readonly graceMs: number;
  private readonly periodMs: number;
  private readonly disposables: Disposable[] = [];

  constructor(private readonly syscalls: Syscalls, private readonly logger: Logger, options: NodeLifecycleOptions = {}) {
    this.graceMs = (options.nodeLossGraceSeconds ?? 60) * 1000;
    this.periodMs = options.monitorPeriodMs ?? Math.max(200, Math.min(5000, this.graceMs / 2));
    const onError = (err: Error) => this.logger.debug({ err: err.message }, 'node lifecycle informer error');
    this.leases = new Informer(syscalls, { kind: 'Lease', namespace: NODE_LEASE_NAMESPACE, onError });
    this.cluster = informersFor(options.informers, syscalls, onError);
    this.nodes = this.cluster.nodes;
    this.pods = this.cluster.pods;
  }

  async start(): Promise<void> {
    this.leases.start();
    this.cluster.startOwned();
    await Promise.all([this.leases.waitForSync(30_000), this.nodes.waitForSync(30_000), this.pods.waitForSync(30_000)]);
    // a renewed lease should bring the node back without waiting for the next tick
    // (only for a node marked unreachable: renewals of healthy nodes, thousands
    // a minute in a big cluster, need no pass over every node)
    this.disposables.push(this.leases.onUpdate((_old, lease) => {
      const node = this.nodes.get(undefined, lease.metadata.name);
      if ((node?.spec?.taints ?? []).some((t) => t.key === TAINT_NODE_UNREACHABLE)) this.tick();
    }));
    // NoExecute taints evict at once: look when a node's NoExecute taints
    // change, or a pod lands on a node with one it must leave for (not on
    // heartbeats, nor on status updates of pods: those change no toleration).
    const onPod = (pod: Pod) => {
      const name = pod.spec?.nodeName;
      const taints = name ? noExecuteTaints(this.nodes.get(undefined, name)) : [];
      if (taints.length > 0 && noExecuteDeadline(pod, taints, () => Date.now()) !== undefined) this.tick();
    };
    this.disposables.push(
      this.nodes.onAdd((node) => { if (noExecuteTaints(node).length > 0) this.tick(); }),
      this.nodes.onUpdate((old, node) => { if (JSON.stringify(noExecuteTaints(old)) !== JSON.stringify(noExecuteTaints(node))) this.tick(); }),
      this.pods.onAdd(onPod),
      this.pods.onUpdate((old, pod) => { if (old.spec?.nodeName !== pod.spec?.nodeName) onPod(pod); }),
    );
    this.tick();
    this.timer = setInterval(() => this.tick(), this.periodMs);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    for (const d of this.disposables) await d.dispose();
    this.leases.stop();
    this.cluster.stopOwned();
  }

  private tick(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.monitor().catch((e) => this.logger.warn({ err: (e as Error).message }, 'node lifecycle check failed')).finally(() => {
      this.busy = false;
      if (this.again) {
        this.again = false;
        this.tick();
      }
    });
  }

  /** One pass: every node with a lease, then the NoExecute evictions (run even when a node's lease handling failed). */
  async monitor(): Promise<void> {
    let failure: unknown;
    try {
      await this.monitorLeases();
    } catch (e) {
      failure = e;
    }
    await this.evictForNoExecuteTaints(Date.now());
    if (failure) throw failure;
  }

  private async monitorLeases(): Promise<void> {
    const now = Date.now();
    for (const lease of this.leases.list()) {
      const node = this.nodes.get(undefined, lease.metadata.name);
      if (!node) continue;
      const renew = Date.parse(lease.spec?.renewTime ?? '');
      const duration = (lease.spec?.leaseDurationSeconds ?? 40) * 1000;
      const stale = !Number.isFinite(renew) || now - renew > duration;
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
      const tainted = (node.spec?.taints ?? []).some((t) => t.key === TAINT_NODE_UNREACHABLE);
      if (stale) {
        if (ready?.status !== 'Unknown' || !tainted) await this.markUnreachable(node);
        const since = Date.parse(ready?.status === 'Unknown' ? ready.lastTransitionTime ?? '' : '') || now;
        if (now - since >= this.graceMs) await this.failPods(node.metadata.name);
      } else if (tainted || (ready?.status === 'Unknown' && ready.reason === REASON_STATUS_UNKNOWN)) {
        await this.markReachable(node);
      }
    }
  }

  /** Deletes the pods whose NoExecute deadline passed; arms a timer for the next one. */
  private async evictForNoExecuteTaints(now: number): Promise<void> {
    let next: number | undefined;
    const present = new Set<string>();
    let byNode: Map<string, Pod[]> | undefined; // built once, on the first tainted node
    for (const node of this.nodes.list()) {
      const taints = noExecuteTaints(node);
      if (taints.length === 0) continue;
      const since = new Map<Taint, number>();
      for (const t of taints) {
        const key = `${node.metadata.name}\u0000${t.key}\u0000${t.value ?? ''}`;
        present.add(key);
        let seen = this.taintSeen.get(key);
        if (seen === undefined) this.taintSeen.set(key, (seen = now));
        const added = Date.parse(t.timeAdded ?? '');
        since.set(t, Number.isFinite(added) ? added : seen);
      }
      byNode ??= podsByNode(this.pods.list({ match: (p) => !!p.spec?.nodeName && !p.metadata.deletionTimestamp && !isTerminalPod(p) }));
      for (const pod of byNode.get(node.metadata.name) ?? []) {
        const at = noExecuteDeadline(pod, taints, (t) => since.get(t) ?? now);
        if (at === undefined) continue;
        if (at > now) next = next === undefined ? at : Math.min(next, at);
        else await this.evict(pod, node.metadata.name, taints.filter((t) => noExecuteDeadline(pod, [t], (x) => since.get(x) ?? now) !== undefined));
      }
    }
    for (const key of this.taintSeen.keys()) if (!present.has(key)) this.taintSeen.delete(key);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    if (next !== undefined) {
      this.deadlineTimer = setTimeout(() => this.tick(), Math.max(0, next - now) + 10);
      this.deadlineTimer.unref?.();
    }
  }

  /** Deletes a pod for `taints`, the NoExecute taints that sent it away (not tolerated, or only for a while). */
  private async evict(pod: Pod, nodeName: string, taints: readonly Taint[]): Promise<void> {
    const which = taints.map(formatTaint).join(', ');
    const message = `deleted: node ${nodeName} has the taint ${which}, which the pod does not tolerate (or tolerated only for its tolerationSeconds)`;
    this.logger.warn({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, node: nodeName }, 'evicting pod for a NoExecute taint');
    try {
      await this.syscalls.call('state.delete', { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, resourceVersion: pod.metadata.resourceVersion });
    } catch (e) {
      if (isNotFound(e) || isConflict(e)) return; // gone, or changed: the next pass decides again
      throw e;
    }
    await this.syscalls.call('state.create', { object: eventObject(pod, { reason: REASON_TAINT_EVICTION, message, type: 'Normal', component: 'node-lifecycle' }) })
      .catch((e) => this.logger.debug({ err: (e as Error).message }, 'could not record event'));
  }

  private async markUnreachable(node: Node): Promise<void> {
    const name = node.metadata.name;
    this.logger.warn({ node: name }, 'node lease expired: marking the node NotReady and unreachable');
    await this.retry(name, async (current) => {
      const taints = current.spec?.taints ?? [];
      if (!taints.some((t) => t.key === TAINT_NODE_UNREACHABLE)) {
        const taint = { key: TAINT_NODE_UNREACHABLE, effect: 'NoExecute' as const, timeAdded: new Date().toISOString() };
        current = (await this.syscalls.call('state.update', { object: { ...current, spec: { ...current.spec, taints: [...taints, taint] } } as KernObject })) as Node;
      }
      const conditions = setReady(current.status?.conditions ?? [], 'Unknown', REASON_STATUS_UNKNOWN, 'kern agent stopped posting node status (lease expired)');
      if (conditions) await this.syscalls.call('state.update', { object: { ...current, status: { ...current.status, conditions } } as KernObject, subresource: 'status' });
    });
  }

  private async markReachable(node: Node): Promise<void> {
    const name = node.metadata.name;
    this.logger.info({ node: name }, 'node lease renewed: node is reachable again');
    await this.retry(name, async (current) => {
      const taints = current.spec?.taints ?? [];
      if (taints.some((t) => t.key === TAINT_NODE_UNREACHABLE)) {
        current = (await this.syscalls.call('state.update', {
          object: { ...current, spec: { ...current.spec, taints: taints.filter((t) => t.key !== TAINT_NODE_UNREACHABLE) } } as KernObject,
        })) as Node;
      }
      const ready = current.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready?.status === 'Unknown' && ready.reason === REASON_STATUS_UNKNOWN) {
        const conditions = setReady(current.status?.conditions ?? [], 'True', 'KernletReady', 'node lease renewed')!;
        await this.syscalls.call('state.update', { object: { ...current, status: { ...current.status, conditions } } as KernObject, subresource: 'status' });
      }
    });
  }

  private async failPods(nodeName: string): Promise<void> {
    const unreachable: Taint = { key: TAINT_NODE_UNREACHABLE, effect: 'NoExecute' };
    // Pods tolerating the unreachable taint are left to their tolerations
    // (see evictForNoExecuteTaints), until they are deleted: a lost node's
    // agent cannot finish that, so they are marked lost like the others.
    const lost = (p: Pod) => p.spec?.nodeName === nodeName && !isTerminalPod(p) && (!toleratesAny(p.spec?.tolerations, unreachable) || !!p.metadata.deletionTimestamp);
    for (const pod of this.pods.list({ match: lost })) {
      this.logger.warn({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, node: nodeName }, 'marking pod Failed: its node was lost');
      await this.syscalls.call('state.update', {
        object: {
          ...pod, metadata: { ...pod.metadata, resourceVersion: undefined },
          status: {
            ...pod.status, phase: 'Failed', reason: REASON_NODE_LOST, message: `node ${nodeName} which was running this pod is unresponsive`,
            conditions: (pod.status?.conditions ?? []).map((c) => (c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False' as const } : c)),
          },
        } as KernObject,
        subresource: 'status',
      }).catch((e) => { if (!isNotFound(e)) throw e; });
    }
  }

  /** Read-modify-write of a node with a few retries on Conflict. */
  private async retry(name: string, fn: (node: Node) => Promise<void>): Promise<void> {
    for (let i = 0; i < 5; i++) {
      try {
        const current = (await this.syscalls.call('state.get', { kind: 'Node', name })) as Node;
        await fn(current);
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e)) throw e;
      }
    }
  }
}

function setReady(conditions: NodeCondition[], status: NodeCondition['status'], reason: string, message: string): NodeCondition[] | undefined {
  const prev = conditions.find((c) => c.type === 'Ready');
  if (prev?.status === status && prev.reason === reason) return undefined;
  const now = new Date().toISOString();
  const next: NodeCondition = { type: 'Ready', status, reason, message, lastHeartbeatTime: prev?.lastHeartbeatTime ?? now, lastTransitionTime: now };
  return [...conditions.filter((c) => c.type !== 'Ready'), next];
}

function noExecuteTaints(node: Node | undefined): Taint[] {
  return (node?.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute');
}

function podsByNode(pods: Pod[]): Map<string, Pod[]> {
  const byNode = new Map<string, Pod[]>();
  for (const p of pods) {
    const name = p.spec!.nodeName!;
    let list = byNode.get(name);
    if (!list) byNode.set(name, (list = []));
    list.push(p);
  }
  return byNode;
}
