import {
  Disposable, Logger, Pod, ReplicaSet, ReplicaSetStatus, Syscalls, WorkQueue, controllerKey, matchesLabels,
  selectorFromSpec, silentLogger, splitControllerKey, ownerKeyOf, controllerOf, ignoreNotFound,
} from '@kern/sdk';
import { WorkloadInformers } from './workload-informers';
import {
  Expectations, isActive, isReady, msUntilAvailable, ownerReference, podFromTemplate, podKey, isTerminating,
  controllerQueue,
} from './workload-helpers';

/** How many pods one reconcile creates or deletes at most (the rest follow in the next pass). */
const BURST = 50;

/**
 * Keeps `spec.replicas` pods matching a ReplicaSet's selector: creates them
 * from the template, deletes the surplus (pods not yet running or ready
 * first), replaces Failed pods, adopts matching orphans and releases pods
 * whose labels stopped matching. Writes status (replicas, ready, available,
 * observedGeneration).
 */
export class ReplicaSetController implements Disposable {
  private readonly queue: WorkQueue<string>;
  private readonly expectations = new Expectations();
  private readonly subscriptions: Disposable[] = [];

  constructor(
    private readonly syscalls: Syscalls,
    private readonly informers: WorkloadInformers,
    private readonly logger: Logger = silentLogger,
  ) {
    this.queue = controllerQueue('replicaSet', this.logger);
  }

  start(concurrency = 2): void {
    const { pods, replicaSets } = this.informers;
    this.subscriptions.push(
      replicaSets.onAdd((rs) => this.queue.add(controllerKey(rs))),
      replicaSets.onUpdate((_o, rs) => this.queue.add(controllerKey(rs))),
      replicaSets.onDelete((rs) => { this.expectations.clear(controllerKey(rs)); }),
      pods.onAdd((p) => {
        this.observe(p, isTerminating(p) ? 'delete' : 'add');
        this.enqueueFor(p);
      }),
      pods.onUpdate((old, p) => {
        if (!isTerminating(old) && isTerminating(p)) this.observe(p, 'delete');
        this.enqueueFor(p);
        if (controllerOf(old)?.uid !== controllerOf(p)?.uid || JSON.stringify(old.metadata.labels) !== JSON.stringify(p.metadata.labels)) this.enqueueFor(old);
      }),
      pods.onDelete((p) => {
        this.observe(p, 'delete');
        this.enqueueFor(p);
      }),
    );
    this.queue.start((key) => this.sync(key), concurrency);
  }

  async dispose(): Promise<void> {
    this.subscriptions.splice(0).forEach((s) => s.dispose());
    await this.queue.shutdown();
  }

  /** Test hook: queue a ReplicaSet by key. */
  enqueue(key: string): void {
    this.queue.add(key);
  }

  private observe(p: Pod, op: 'add' | 'delete'): void {
    for (const owner of this.expectations.observe(podKey(p), op)) this.queue.add(owner);
  }

  /** Queues the pod's controller, or, for an orphan, every ReplicaSet that could adopt it. */
  private enqueueFor(p: Pod): void {
    if (controllerOf(p)) {
      const owner = ownerKeyOf(p, 'ReplicaSet');
      if (owner) this.queue.add(owner);
      return;
    }
    for (const rs of this.informers.replicaSets.list({ namespace: p.metadata.namespace ?? '' })) {
      if (matchesLabels(selectorFromSpec(rs.spec?.selector), p.metadata.labels) && rs.spec?.selector) this.queue.add(controllerKey(rs));
    }
  }

  /** One reconcile of the ReplicaSet under `key`. */
  async sync(key: string): Promise<void> {
    const rs = this.informers.replicaSets.getByKey(key);
    if (!rs) {
      this.expectations.clear(key);
      return;
    }
    const { namespace } = splitControllerKey(key);
    const selector = selectorFromSpec(rs.spec?.selector);
    if (!rs.spec || selector.length === 0) return; // validation refuses these; never select every pod
    const now = Date.now();

    const owned: Pod[] = [];
    for (const pod of this.informers.pods.list({ namespace: namespace ?? '' })) {
      const ref = controllerOf(pod);
      const matches = matchesLabels(selector, pod.metadata.labels);
      if (ref?.uid === rs.metadata.uid) {
        if (matches) owned.push(pod);
        else if (!isTerminating(pod)) await this.release(pod, rs);
      } else if (!ref && matches && !isTerminating(pod) && !isTerminating(rs)) {
        const adopted = await this.adopt(pod, rs);
        if (adopted) owned.push(adopted);
      }
    }

    if (this.expectations.satisfied(key) && !isTerminating(rs)) await this.manage(key, rs, owned);

    const active = owned.filter(isActive);
    let nextCheck: number | undefined;
    let available = 0;
    for (const p of active) {
      const ms = msUntilAvailable(p, rs.spec.minReadySeconds, now);
      if (ms === 0) available++;
      else if (ms !== undefined) nextCheck = Math.min(nextCheck ?? ms, ms);
    }
    const status: ReplicaSetStatus = {
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) => matchesLabels(selectorFromSpec({ matchLabels: rs.spec?.template.metadata?.labels }), p.metadata.labels)).length,
      readyReplicas: active.filter(isReady).length,
      availableReplicas: available,
      observedGeneration: rs.metadata.generation,
    };
    await this.writeStatus(rs, status);
    if (nextCheck !== undefined) this.queue.addAfter(key, nextCheck + 50);
  }

  private async manage(key: string, rs: ReplicaSet, owned: Pod[]): Promise<void> {
    const want = rs.spec?.replicas ?? 1;
    // Failed pods never run again (a lost node, a pod that gave up): remove them, a replacement follows.
    const failed = owned.filter((p) => p.status?.phase === 'Failed' && !isTerminating(p)).slice(0, BURST);
    await Promise.all(failed.map((p) => this.deletePod(key, p)));
    const active = owned.filter(isActive);
    const diff = active.length - want;
    if (diff < 0) {
      const n = Math.min(-diff, BURST);
      const made = await Promise.allSettled(Array.from({ length: n }, () => this.createPod(key, rs)));
      const bad = made.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
      if (bad) throw bad.reason;
      if (-diff > n) this.queue.add(key);
    } else if (diff > 0) {
      const victims = [...active].sort(deletionOrder).slice(0, Math.min(diff, BURST));
      await Promise.all(victims.map((p) => this.deletePod(key, p)));
    }
  }

  private async createPod(key: string, rs: ReplicaSet): Promise<void> {
    const pod = podFromTemplate(rs, rs.spec!.template, rs.metadata.name);
    this.expectations.expect(key, podKey(pod), 'add');
    try {
      await this.syscalls.call('state.create', { object: pod });
    } catch (e) {
      this.expectations.lower(key, podKey(pod));
      throw e;
    }
  }

  private async deletePod(key: string, pod: Pod): Promise<void> {
    this.expectations.expect(key, podKey(pod), 'delete');
    const done = await ignoreNotFound(() => this.syscalls.call('state.delete', { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name }));
    if (!done) this.expectations.lower(key, podKey(pod));
  }

  private async adopt(pod: Pod, rs: ReplicaSet): Promise<Pod | undefined> {
    const next: Pod = { ...pod, metadata: { ...pod.metadata, ownerReferences: [...(pod.metadata.ownerReferences ?? []), ownerReference(rs)] } };
    this.logger.info({ pod: pod.metadata.name, replicaSet: rs.metadata.name }, 'adopting pod');
    return (await ignoreNotFound(() => this.syscalls.call('state.update', { object: next }))) as Pod | undefined;
  }

  private async release(pod: Pod, rs: ReplicaSet): Promise<void> {
    const refs = (pod.metadata.ownerReferences ?? []).filter((r) => r.uid !== rs.metadata.uid);
    const next: Pod = { ...pod, metadata: { ...pod.metadata, ownerReferences: refs } };
    if (refs.length === 0) delete next.metadata.ownerReferences;
    this.logger.info({ pod: pod.metadata.name, replicaSet: rs.metadata.name }, 'releasing pod whose labels no longer match');
    await ignoreNotFound(() => this.syscalls.call('state.update', { object: next }));
  }

  private async writeStatus(rs: ReplicaSet, status: ReplicaSetStatus): Promise<void> {
    if (JSON.stringify(normalize(rs.status)) === JSON.stringify(normalize(status))) return;
    const next: ReplicaSet = { ...rs, metadata: { ...rs.metadata }, status };
    delete next.metadata.resourceVersion; // status is ours alone: write it unconditionally
    await ignoreNotFound(() => this.syscalls.call('state.update', { object: next, subresource: 'status' }));
  }
}

function normalize(s: ReplicaSetStatus | undefined): unknown[] {
  return [s?.replicas ?? 0, s?.fullyLabeledReplicas ?? 0, s?.readyReplicas ?? 0, s?.availableReplicas ?? 0, s?.observedGeneration];
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/**
 * Which pods go first when scaling down, as Kubernetes ranks them: not yet
 * on a node, then Pending before Unknown before Running, not ready before
 * ready, then the youngest.
 */
export function deletionOrder(a: Pod, b: Pod): number {
  const assigned = (p: Pod) => (p.spec?.nodeName ? 1 : 0);
  if (assigned(a) !== assigned(b)) return assigned(a) - assigned(b);
  const phase = (p: Pod) => PHASE_RANK[p.status?.phase ?? 'Pending'] ?? 0;
  if (phase(a) !== phase(b)) return phase(a) - phase(b);
  const ready = (p: Pod) => (isReady(p) ? 1 : 0);
  if (ready(a) !== ready(b)) return ready(a) - ready(b);
  return (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '');
}
