import { Node, NodeInfo, NodeInfoLister, PlacedPod, Pod, PodAffinityTerm, ResourceAmounts, controllerKey, isTerminalPod, podRequests } from '@kern/sdk';
import { NodeInfoImpl } from './node-info';

/**
 * NodeInfos kept current from Pod and Node informer events, plus pods the
 * scheduler has assumed on a node while their bind is in flight. Every
 * update is O(1) in the number of pods, so a scheduling attempt never
 * rescans the cluster.
 */
export class SchedulerCache implements NodeInfoLister {
  private readonly nodes = new Map<string, NodeInfoImpl>();
  /** Pod key → node it is counted on. */
  private readonly podNode = new Map<string, string>();
  /** Pod keys assumed (bind in flight or not yet observed). */
  private readonly assumed = new Set<string>();
  private listed: NodeInfoImpl[] | undefined;
  /** `key=value` → pod key → placement: who carries which label. */
  private readonly byLabel = new Map<string, Map<string, PlacedPod>>();
  /** Pods whose required anti-affinity / preferred (anti-)affinity terms may select a label. */
  private readonly antiAffinity = new TermIndex();
  private readonly preferred = new TermIndex();
  /** Pod key → the placement indexed for it, to unindex exactly that. */
  private readonly indexed = new Map<string, PlacedPod>();

  podsWithLabel(key: string, value: string): Iterable<PlacedPod> {
    return this.byLabel.get(`${key}=${value}`)?.values() ?? [];
  }

  podsWithRequiredAntiAffinity(labels?: Record<string, string>): Iterable<PlacedPod> {
    return this.antiAffinity.candidates(labels);
  }

  podsWithPreferredAffinity(labels?: Record<string, string>): Iterable<PlacedPod> {
    return this.preferred.candidates(labels);
  }

  private index(key: string, placed: PlacedPod): void {
    this.unindex(key);
    this.indexed.set(key, placed);
    for (const [k, v] of Object.entries(placed.pod.metadata.labels ?? {})) {
      const pairKey = `${k}=${v}`;
      let m = this.byLabel.get(pairKey);
      if (!m) this.byLabel.set(pairKey, (m = new Map()));
      m.set(key, placed);
    }
    const a = placed.pod.spec?.affinity;
    this.antiAffinity.add(key, placed, a?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []);
    this.preferred.add(key, placed, [
      ...(a?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []),
      ...(a?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []),
    ].map((w) => w.podAffinityTerm));
  }

  private unindex(key: string): void {
    const placed = this.indexed.get(key);
    if (!placed) return;
    this.indexed.delete(key);
    for (const [k, v] of Object.entries(placed.pod.metadata.labels ?? {})) {
      const pairKey = `${k}=${v}`;
      const m = this.byLabel.get(pairKey);
      m?.delete(key);
      if (m?.size === 0) this.byLabel.delete(pairKey);
    }
    this.antiAffinity.remove(key);
    this.preferred.remove(key);
  }

  list(): readonly NodeInfo[] {
    this.listed ??= [...this.nodes.values()].filter((n) => n.exists).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return this.listed;
  }

  get(nodeName: string): NodeInfoImpl | undefined {
    const n = this.nodes.get(nodeName);
    return n?.exists ? n : undefined;
  }

  get nodeCount(): number {
    return this.list().length;
  }

  setNode(node: Node): void {
    const name = node.metadata.name;
    const existing = this.nodes.get(name);
    if (existing) {
      if (!existing.exists) this.listed = undefined;
      existing.setNode(node);
      // keep the sorted list; objects inside it are updated in place
    } else {
      this.nodes.set(name, new NodeInfoImpl(node));
      this.listed = undefined;
    }
  }

  removeNode(name: string): void {
    const n = this.nodes.get(name);
    if (!n) return;
    this.listed = undefined;
    // Pods still naming the node keep it as a placeholder until they go.
    if (n.pods.size > 0) n.exists = false;
    else this.nodes.delete(name);
  }

  /** Applies the observed state of a pod (add or update). Unassigned and terminal pods hold nothing. */
  setPod(pod: Pod): void {
    const key = controllerKey(pod);
    const nodeName = pod.spec?.nodeName;
    if (!nodeName || isTerminalPod(pod)) {
      // an assumed pod whose bind has not been observed yet stays counted
      if (!this.assumed.has(key)) this.removePod(key);
      return;
    }
    const observedBind = this.assumed.delete(key);
    this.place(key, nodeName, pod, observedBind);
  }

  /**
   * Counts `pod` on `nodeName` before the bind is observed, as the object the
   * bind writes: spec.nodeName set and, since the store bumps generation on a
   * spec change, the next generation. So when the bind is observed, place()
   * sees the same scheduling inputs and swaps the object in rather than
   * re-indexing the pod.
   */
  assume(pod: Pod, nodeName: string): void {
    const key = controllerKey(pod);
    this.assumed.add(key);
    const generation = pod.metadata.generation;
    const metadata = generation === undefined ? pod.metadata : { ...pod.metadata, generation: generation + 1 };
    this.place(key, nodeName, { ...pod, metadata, spec: { ...pod.spec!, nodeName } });
  }

  /** Undoes {@link assume} after a failed bind. */
  forget(pod: Pod): void {
    const key = controllerKey(pod);
    if (!this.assumed.delete(key)) return;
    this.removePod(key);
  }

  isAssumed(key: string): boolean {
    return this.assumed.has(key);
  }

  nodeOf(key: string): string | undefined {
    return this.podNode.get(key);
  }

  removePod(key: string): void {
    this.assumed.delete(key);
    const nodeName = this.podNode.get(key);
    if (nodeName === undefined) return;
    this.podNode.delete(key);
    this.unindex(key);
    const n = this.nodes.get(nodeName);
    if (!n) return;
    n.removeKey(key);
    if (!n.exists && n.pods.size === 0) this.nodes.delete(nodeName);
  }

  /**
   * The observed bind of an assumed pod reached the generation assume()
   * expected; check that it changed nothing else the node counts: a bind
   * plugin may write more than nodeName, and a user's update may have raced
   * the bind.
   */
  private bindKeptInputs(key: string, nodeName: string, assumed: Pod, observed: Pod, now: ResourceAmounts): boolean {
    const had = this.nodes.get(nodeName)?.requestsOf(key);
    if (!had || had.cpu !== now.cpu || had.memory !== now.memory) return false;
    // Of affinity, the cache reads only the pod (anti-)affinity terms (hasPodAffinity, index).
    const a = assumed.spec?.affinity;
    const b = observed.spec?.affinity;
    return JSON.stringify([a?.podAffinity, a?.podAntiAffinity]) === JSON.stringify([b?.podAffinity, b?.podAntiAffinity]);
  }

  private place(key: string, nodeName: string, pod: Pod, observedBind = false): void {
    const prev = this.podNode.get(key);
    // An observed bind's requests, parsed once for the check and the count below.
    const requests = observedBind ? podRequests(pod) : undefined;
    if (prev === nodeName) {
      // Most events of a placed pod are status updates: same spec, same
      // labels. Swap the object in and keep the sums and indexes.
      const placed = this.indexed.get(key) as { pod: Pod } | undefined;
      if (placed && sameSchedulingInputs(placed.pod, pod) && (!requests || this.bindKeptInputs(key, nodeName, placed.pod, pod, requests))
        && this.nodes.get(nodeName)?.replacePod(key, pod)) {
        placed.pod = pod;
        return;
      }
    }
    if (prev !== undefined && prev !== nodeName) this.nodes.get(prev)?.removeKey(key);
    let n = this.nodes.get(nodeName);
    if (!n) {
      n = new NodeInfoImpl({ apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName } }, false);
      this.nodes.set(nodeName, n);
    }
    n.addPod(pod, requests);
    this.podNode.set(key, nodeName);
    this.index(key, { pod, nodeName });
  }
}

/**
 * True when `b` counts on a node exactly as `a` does: the same pod (uid) at
 * the same spec generation (requests, affinity, node), with the same labels.
 * An assumed copy's generation is only the one its bind is expected to
 * write; see bindKeptInputs.
 */
function sameSchedulingInputs(a: Pod, b: Pod): boolean {
  const ga = a.metadata.generation;
  if (ga === undefined || ga !== b.metadata.generation || a.metadata.uid !== b.metadata.uid || a.spec?.nodeName !== b.spec?.nodeName) return false;
  const la = a.metadata.labels ?? {};
  const lb = b.metadata.labels ?? {};
  const keys = Object.keys(la);
  if (keys.length !== Object.keys(lb).length) return false;
  return keys.every((k) => la[k] === lb[k]);
}

/**
 * Pods by the labels their affinity terms select: a term with matchLabels is
 * filed under its first `key=value`, one without under "any". A pod with
 * labels L can only be selected by terms filed under a pair of L, or "any".
 */
class TermIndex {
  private readonly byPair = new Map<string, Map<string, PlacedPod>>();
  private readonly any = new Map<string, PlacedPod>();
  private readonly all = new Map<string, PlacedPod>();
  private readonly filed = new Map<string, string[]>();

  add(key: string, placed: PlacedPod, terms: PodAffinityTerm[]): void {
    if (terms.length === 0) return;
    const pairs: string[] = [];
    for (const t of terms) {
      const first = Object.entries(t.labelSelector?.matchLabels ?? {})[0];
      if (!first) { this.any.set(key, placed); continue; }
      const pairKey = `${first[0]}=${first[1]}`;
      let m = this.byPair.get(pairKey);
      if (!m) this.byPair.set(pairKey, (m = new Map()));
      m.set(key, placed);
      pairs.push(pairKey);
    }
    this.filed.set(key, pairs);
    this.all.set(key, placed);
  }

  remove(key: string): void {
    for (const pairKey of this.filed.get(key) ?? []) {
      const m = this.byPair.get(pairKey);
      m?.delete(key);
      if (m?.size === 0) this.byPair.delete(pairKey);
    }
    this.filed.delete(key);
    this.any.delete(key);
    this.all.delete(key);
  }

  candidates(labels?: Record<string, string>): Iterable<PlacedPod> {
    if (!labels) return this.all.values();
    const out = new Set<PlacedPod>(this.any.values());
    for (const [k, v] of Object.entries(labels)) for (const p of this.byPair.get(`${k}=${v}`)?.values() ?? []) out.add(p);
    return out;
  }
}
