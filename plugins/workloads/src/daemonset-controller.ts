import {
  DaemonSet, DaemonSetStatus, Disposable, Logger, Node, Pod, PodSpec, Syscalls, Toleration, WorkQueue, controllerKey,
  silentLogger, ownerKeyOf, controllerOf, ignoreNotFound, toleratesAny,
} from '@kern/sdk';
import { WorkloadInformers } from './workload-informers';
import {
  CONTROLLER_REVISION_HASH_LABEL, Expectations, isActive, isReady, isTerminating, msUntilAvailable, podFromTemplate,
  podKey, resolveIntOrPercent, templateHash, controllerQueue,
} from './workload-helpers';

/** Taints every DaemonSet pod tolerates, as in Kubernetes: a node agent's own pods must run on a sick or cordoned node. */
const DAEMON_TOLERATIONS: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
];

interface NodeSelectorRequirement { key: string; operator: string; values?: string[] }

function requirementHolds(r: NodeSelectorRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  switch (r.operator) {
    case 'In': return has && (r.values ?? []).includes(labels[r.key]);
    case 'NotIn': return !has || !(r.values ?? []).includes(labels[r.key]);
    case 'Exists': return has;
    case 'DoesNotExist': return !has;
    case 'Gt': return has && Number(labels[r.key]) > Number(r.values?.[0]);
    case 'Lt': return has && Number(labels[r.key]) < Number(r.values?.[0]);
    default: return false;
  }
}

/**
 * Whether a DaemonSet pod with `spec` belongs on `node`: nodeSelector,
 * required node affinity (matchExpressions on labels, matchFields on
 * metadata.name), and taints with NoSchedule or NoExecute the pod does not
 * tolerate. Unschedulable (cordoned) nodes still run daemons.
 */
export function nodeEligible(spec: PodSpec, node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const terms = (spec.affinity as { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: { matchExpressions?: NodeSelectorRequirement[]; matchFields?: NodeSelectorRequirement[] }[] } } } | undefined)
    ?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms && terms.length > 0) {
    const fields = { 'metadata.name': node.metadata.name };
    const any = terms.some((t) => (t.matchExpressions ?? []).every((r) => requirementHolds(r, labels))
      && (t.matchFields ?? []).every((r) => requirementHolds(r, fields)));
    if (!any) return false;
  }
  const tolerations = [...(spec.tolerations ?? []), ...DAEMON_TOLERATIONS];
  for (const taint of node.spec?.taints ?? []) {
    if (taint.effect === 'PreferNoSchedule') continue;
    if (!toleratesAny(tolerations, taint)) return false;
  }
  return true;
}

/**
 * Runs one pod of a DaemonSet on every eligible node, nodes that join later
 * included; the pod gets `spec.nodeName` directly (no scheduler round
 * trip). RollingUpdate replaces pods of an old template at most
 * `maxUnavailable` (default 1) nodes at a time; OnDelete waits for the
 * user to delete them.
 */
export class DaemonSetController implements Disposable {
  private readonly queue: WorkQueue<string>;
  private readonly expectations = new Expectations();
  private readonly subscriptions: Disposable[] = [];

  constructor(
    private readonly syscalls: Syscalls,
    private readonly informers: WorkloadInformers,
    private readonly logger: Logger = silentLogger,
  ) {
    this.queue = controllerQueue('daemonSet', this.logger);
  }

  start(concurrency = 1): void {
    const { daemonSets, pods, nodes } = this.informers;
    const byPod = (p: Pod) => {
      const owner = ownerKeyOf(p, 'DaemonSet');
      if (owner) this.queue.add(owner);
    };
    const all = () => daemonSets.list().forEach((ds) => this.queue.add(controllerKey(ds)));
    this.subscriptions.push(
      daemonSets.onAdd((ds) => this.queue.add(controllerKey(ds))),
      daemonSets.onUpdate((_o, ds) => this.queue.add(controllerKey(ds))),
      daemonSets.onDelete((ds) => this.expectations.clear(controllerKey(ds))),
      pods.onAdd((p) => { this.observe(p, isTerminating(p) ? 'delete' : 'add'); byPod(p); }),
      pods.onUpdate((o, p) => { if (!isTerminating(o) && isTerminating(p)) this.observe(p, 'delete'); byPod(p); }),
      pods.onDelete((p) => { this.observe(p, 'delete'); byPod(p); }),
      nodes.onAdd(all),
      nodes.onUpdate((o, n) => {
        if (JSON.stringify([o.metadata.labels, o.spec?.taints]) !== JSON.stringify([n.metadata.labels, n.spec?.taints])) all();
      }),
      nodes.onDelete(all),
    );
    this.queue.start((key) => this.sync(key), concurrency);
  }

  async dispose(): Promise<void> {
    this.subscriptions.splice(0).forEach((s) => s.dispose());
    await this.queue.shutdown();
  }

  private observe(p: Pod, op: 'add' | 'delete'): void {
    for (const owner of this.expectations.observe(podKey(p), op)) this.queue.add(owner);
  }

  async sync(key: string): Promise<void> {
    const ds = this.informers.daemonSets.getByKey(key);
    if (!ds || !ds.spec) {
      this.expectations.clear(key);
      return;
    }
    const now = Date.now();
    const hash = templateHash(ds.spec.template);
    const nodes = this.informers.nodes.list();
    const eligible = new Set(nodes.filter((n) => nodeEligible(ds.spec!.template.spec, n)).map((n) => n.metadata.name));
    const owned = this.informers.pods.list({ namespace: ds.metadata.namespace ?? '', match: (p) => controllerOf(p)?.uid === ds.metadata.uid });
    const byNode = new Map<string, Pod[]>();
    for (const p of owned) {
      const node = p.spec?.nodeName ?? '';
      byNode.set(node, [...(byNode.get(node) ?? []), p]);
    }
    const minReady = ds.spec.minReadySeconds;
    const available = (p: Pod) => msUntilAvailable(p, minReady, now) === 0;

    if (this.expectations.satisfied(key) && !isTerminating(ds)) {
      const creates: string[] = [];
      const deletes: Pod[] = [];
      const oldOnNode: { node: string; pod: Pod }[] = [];
      let unavailableNodes = 0;
      for (const node of eligible) {
        const pods = (byNode.get(node) ?? []).filter((p) => !isTerminating(p));
        const failed = pods.filter((p) => p.status?.phase === 'Failed');
        deletes.push(...failed);
        const live = pods.filter(isActive);
        if (live.length === 0) {
          // None yet, or the last one is still going away: create once it is gone.
          if (!(byNode.get(node) ?? []).some((p) => isTerminating(p) && isActive({ ...p, metadata: { ...p.metadata, deletionTimestamp: undefined } }))) creates.push(node);
          unavailableNodes++;
          continue;
        }
        // Keep the newest-template pod, else the oldest; delete duplicates.
        const sorted = [...live].sort((a, b) => Number(hashOf(b) === hash) - Number(hashOf(a) === hash)
          || (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
        deletes.push(...sorted.slice(1));
        const keep = sorted[0];
        if (!available(keep)) unavailableNodes++;
        if (hashOf(keep) !== hash) oldOnNode.push({ node, pod: keep });
      }
      for (const [node, pods] of byNode) {
        if (!eligible.has(node)) deletes.push(...pods.filter((p) => !isTerminating(p)));
      }
      if ((ds.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate' && oldOnNode.length > 0) {
        const maxUnavailable = Math.max(1, resolveIntOrPercent(ds.spec.updateStrategy?.rollingUpdate?.maxUnavailable, 1, eligible.size, false, 'spec.updateStrategy.rollingUpdate.maxUnavailable'));
        // Old pods that are not available anyway go first and cost nothing.
        for (const o of oldOnNode.filter((x) => !available(x.pod))) deletes.push(o.pod);
        let budget = maxUnavailable - unavailableNodes;
        for (const o of oldOnNode.filter((x) => available(x.pod))) {
          if (budget <= 0) break;
          deletes.push(o.pod);
          budget--;
        }
      }
      await Promise.all([
        ...creates.map((node) => this.createPod(key, ds, node, hash)),
        ...[...new Set(deletes)].map((p) => this.deletePod(key, p)),
      ]);
    }
    await this.writeStatus(ds, eligible, byNode, hash, available);
  }

  private async createPod(key: string, ds: DaemonSet, node: string, hash: string): Promise<void> {
    const pod = podFromTemplate(ds, ds.spec!.template, ds.metadata.name);
    pod.metadata.labels = { ...(pod.metadata.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: hash };
    pod.spec = { ...pod.spec!, nodeName: node, tolerations: [...(pod.spec?.tolerations ?? []), ...DAEMON_TOLERATIONS] };
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

  private async writeStatus(ds: DaemonSet, eligible: Set<string>, byNode: Map<string, Pod[]>, hash: string, available: (p: Pod) => boolean): Promise<void> {
    const status: DaemonSetStatus = {
      desiredNumberScheduled: eligible.size,
      currentNumberScheduled: 0,
      numberMisscheduled: 0,
      numberReady: 0,
      updatedNumberScheduled: 0,
      numberAvailable: 0,
      observedGeneration: ds.metadata.generation,
    };
    for (const [node, pods] of byNode) {
      const live = pods.filter(isActive);
      if (live.length === 0) continue;
      if (!eligible.has(node)) { status.numberMisscheduled! += 1; continue; }
      status.currentNumberScheduled! += 1;
      if (live.some(isReady)) status.numberReady! += 1;
      if (live.some(available)) status.numberAvailable! += 1;
      if (live.some((p) => hashOf(p) === hash)) status.updatedNumberScheduled! += 1;
    }
    if (JSON.stringify(ds.status ?? {}) === JSON.stringify(status)) return;
    const next: DaemonSet = { ...ds, metadata: { ...ds.metadata }, status };
    delete next.metadata.resourceVersion;
    await ignoreNotFound(() => this.syscalls.call('state.update', { object: next, subresource: 'status' }));
  }
}

function hashOf(p: Pod): string | undefined {
  return p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL];
}
