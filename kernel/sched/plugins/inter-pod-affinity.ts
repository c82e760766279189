import {
  CycleState, FilterPlugin, LabelSelector, NodeInfo, NodeInfoLister, PlacedPod, Pod, PodAffinityTerm, PreFilterExtensions, ScorePlugin, SchedReasons, SchedulerHandle, Status, matchesLabels, selectorFromSpec,
} from '@kern/sdk';
import { SUCCESS } from '../sdk-values';

const STATE = 'InterPodAffinity/prefilter';
const SCORE_STATE = 'InterPodAffinity/prescore';

/** `key=value` of a topology domain. */
const pair = (key: string, value: string) => `${key}\u0000${value}`;

/** True when `target` is one of the pods `term` (declared by a pod in `ownerNamespace`) selects. */
export function termMatches(term: PodAffinityTerm, ownerNamespace: string | undefined, target: Pod): boolean {
  const namespaces = term.namespaces?.length ? term.namespaces : [ownerNamespace ?? 'default'];
  if (!namespaces.includes(target.metadata.namespace ?? 'default')) return false;
  if (!term.labelSelector) return false;
  let selector = parsedSelectors.get(term.labelSelector);
  if (!selector) parsedSelectors.set(term.labelSelector, (selector = selectorFromSpec(term.labelSelector)));
  return matchesLabels(selector, target.metadata.labels);
}

/** Parsed selectors by the term's selector object (pods are immutable snapshots in the cache). */
const parsedSelectors = new WeakMap<object, LabelSelector>();

interface PreFilterState {
  /** Domains where an existing pod's required anti-affinity selects the incoming pod. */
  existingAnti: Map<string, number>;
  /** Per required affinity term, domains holding a pod it selects. */
  affinity: Map<string, number>[];
  /** Per required anti-affinity term, domains holding a pod it selects. */
  anti: Map<string, number>[];
  affinityTerms: PodAffinityTerm[];
  antiTerms: PodAffinityTerm[];
  /** No pod anywhere matches the affinity terms, but the pod matches its own: the first of a group may go anywhere. */
  selfAffinityAllowed: boolean;
}

const add = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);

type Visit = (existing: Pod, nodeLabels: Record<string, string>) => void;

/**
 * Calls `visitOwner` for the existing pods whose own terms may select `pod`
 * (`owners`, narrowed by the pod's labels) and `visitCandidate` for the
 * existing pods the incoming `terms` may select, each with its node's
 * labels. With the cache's indexes (and every term keyed by matchLabels) it
 * looks only at those pods; otherwise it scans every node.
 */
function visitRelevantPods(
  nodes: NodeInfoLister, pod: Pod, terms: PodAffinityTerm[],
  owners: ((labels: Record<string, string>) => Iterable<PlacedPod>) | undefined,
  visitOwner: Visit, visitCandidate: Visit,
): void {
  const labelsOf = (nodeName: string) => { const n = nodes.get(nodeName); return n ? n.labels : undefined; };
  if (owners && nodes.podsWithLabel && terms.every((t) => Object.keys(t.labelSelector?.matchLabels ?? {}).length > 0)) {
    for (const { pod: existing, nodeName } of owners(pod.metadata.labels ?? {})) {
      const labels = labelsOf(nodeName);
      if (labels) visitOwner(existing, labels);
    }
    const seen = new Set<Pod>();
    for (const term of terms) {
      const [k, v] = Object.entries(term.labelSelector!.matchLabels!)[0];
      for (const { pod: existing, nodeName } of nodes.podsWithLabel(k, v)) {
        if (seen.has(existing)) continue;
        seen.add(existing);
        const labels = labelsOf(nodeName);
        if (labels) visitCandidate(existing, labels);
      }
    }
    return;
  }
  for (const info of nodes.list()) {
    const labels = info.labels;
    for (const existing of info.podsWithAffinity.values()) visitOwner(existing, labels);
    if (terms.length === 0) continue;
    for (const existing of info.pods.values()) visitCandidate(existing, labels);
  }
}

/** No pod anywhere matches the affinity terms, but the pod matches its own: the first of a group may go anywhere. */
function selfAffinityAllowed(s: PreFilterState, pod: Pod): boolean {
  return s.affinityTerms.length > 0 && s.affinity.every((m) => m.size === 0) && s.affinityTerms.every((t) => termMatches(t, pod.metadata.namespace, pod));
}

/** Adds `n` to a domain's count; a count that reaches 0 is dropped (filters test for presence). */
function bump(m: Map<string, number>, k: string, n: number): void {
  const next = (m.get(k) ?? 0) + n;
  if (next > 0) m.set(k, next);
  else m.delete(k);
}

/** Which count of a PreFilterState a domain goes in: existing pods' anti-affinity, or the pod's own term `i`. */
type Tally = { kind: 'existingAnti' } | { kind: 'affinity' | 'anti'; i: number };

function tallyMap(s: PreFilterState, t: Tally): Map<string, number> {
  return t.kind === 'existingAnti' ? s.existingAnti : s[t.kind][t.i];
}

const EXISTING_ANTI: Tally = { kind: 'existingAnti' };
const OWN_TERM_KINDS = ['affinity', 'anti'] as const;

/**
 * The domains `owner`, on a node with `labels`, counts in for `pod` as an
 * existing pod: those of its required anti-affinity terms that select `pod`.
 */
function ownerDomains(pod: Pod, owner: Pod, labels: Record<string, string>, visit: (t: Tally, key: string) => void): void {
  for (const term of owner.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
    const v = labels[term.topologyKey];
    if (v !== undefined && termMatches(term, owner.metadata.namespace, pod)) visit(EXISTING_ANTI, pair(term.topologyKey, v));
  }
}

/**
 * The domains `candidate`, on a node with `labels`, counts in for `pod`'s own
 * required terms (in `s`): those of the terms that select it.
 */
function candidateDomains(s: PreFilterState, pod: Pod, candidate: Pod, labels: Record<string, string>, visit: (t: Tally, key: string) => void): void {
  const ns = pod.metadata.namespace;
  for (const kind of OWN_TERM_KINDS) {
    const terms = kind === 'affinity' ? s.affinityTerms : s.antiTerms;
    for (let i = 0; i < terms.length; i++) {
      const v = labels[terms[i].topologyKey];
      if (v !== undefined && termMatches(terms[i], ns, candidate)) visit({ kind, i }, pair(terms[i].topologyKey, v));
    }
  }
}

/**
 * The preFilter state with `other` counted (`sign` 1) or not (-1) on
 * `nodeInfo`'s node. Copies what it changes: cycle state values are shared
 * with the copies preemption makes.
 */
function updateWithPod(state: CycleState, pod: Pod, other: Pod, nodeInfo: NodeInfo, sign: 1 | -1): Status {
  const s = state.read<PreFilterState>(STATE);
  if (!s) return SUCCESS;
  const labels = nodeInfo.labels;
  // The domains to change first, so a pod that matches nothing copies nothing.
  const changes: [Tally, string][] = [];
  const collect = (t: Tally, key: string) => { changes.push([t, key]); };
  // preFilter counts every pod both ways; an extension adds or takes away one.
  ownerDomains(pod, other, labels, collect);
  candidateDomains(s, pod, other, labels, collect);
  if (changes.length === 0) return SUCCESS;
  const next: PreFilterState = { ...s, existingAnti: new Map(s.existingAnti), affinity: s.affinity.map((m) => new Map(m)), anti: s.anti.map((m) => new Map(m)) };
  for (const [t, key] of changes) bump(tallyMap(next, t), key, sign);
  next.selfAffinityAllowed = selfAffinityAllowed(next, pod);
  state.write(STATE, next);
  return SUCCESS;
}

/**
 * Required and preferred pod affinity and anti-affinity over any topology
 * key, including the symmetric rule that existing pods' required
 * anti-affinity keeps the incoming pod away. Cost per attempt: O(pods with
 * affinity terms) for pods without terms, O(pods) for pods with terms.
 */
export class InterPodAffinity implements FilterPlugin, ScorePlugin {
  readonly name = 'InterPodAffinity';

  preFilter(state: CycleState, pod: Pod, handle: SchedulerHandle): Status {
    const affinityTerms = pod.spec?.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    const antiTerms = pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    const s: PreFilterState = {
      existingAnti: new Map(), affinity: affinityTerms.map(() => new Map()), anti: antiTerms.map(() => new Map()),
      affinityTerms, antiTerms, selfAffinityAllowed: false,
    };
    const nodes = handle.nodes;
    let anyExistingAnti = false;
    const count = (t: Tally, key: string) => {
      add(tallyMap(s, t), key);
      if (t.kind === 'existingAnti') anyExistingAnti = true;
    };
    const visitExisting = (existing: Pod, labels: Record<string, string>) => ownerDomains(pod, existing, labels, count);
    const visitCandidate = (existing: Pod, labels: Record<string, string>) => candidateDomains(s, pod, existing, labels, count);
    const terms = [...affinityTerms, ...antiTerms];
    visitRelevantPods(nodes, pod, terms, nodes.podsWithRequiredAntiAffinity?.bind(nodes), visitExisting, visitCandidate);
    if (!anyExistingAnti && affinityTerms.length === 0 && antiTerms.length === 0) return Status.skip();
    s.selfAffinityAllowed = selfAffinityAllowed(s, pod);
    state.write(STATE, s);
    return SUCCESS;
  }

  /** Preemption's trial evictions and nominated pods change which domains hold matching pods. */
  readonly preFilterExtensions: PreFilterExtensions = {
    addPod: (state, pod, other, nodeInfo) => updateWithPod(state, pod, other, nodeInfo, 1),
    removePod: (state, pod, other, nodeInfo) => updateWithPod(state, pod, other, nodeInfo, -1),
  };

  filter(state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status {
    const s = state.read<PreFilterState>(STATE);
    if (!s) return SUCCESS;
    const labels = nodeInfo.labels;
    for (let i = 0; i < s.antiTerms.length; i++) {
      const v = labels[s.antiTerms[i].topologyKey];
      if (v !== undefined && (s.anti[i].get(pair(s.antiTerms[i].topologyKey, v)) ?? 0) > 0) return Status.unschedulable(SchedReasons.PodAntiAffinityMismatch);
    }
    if (s.existingAnti.size > 0) {
      for (const key in labels) {
        if ((s.existingAnti.get(pair(key, labels[key])) ?? 0) > 0) return Status.unschedulable(SchedReasons.ExistingPodsAntiAffinityMismatch);
      }
    }
    if (s.affinityTerms.length > 0) {
      for (let i = 0; i < s.affinityTerms.length; i++) {
        const key = s.affinityTerms[i].topologyKey;
        const v = labels[key];
        if (v === undefined) return Status.unresolvable(SchedReasons.PodAffinityMismatch);
        if (!s.selfAffinityAllowed && !((s.affinity[i].get(pair(key, v)) ?? 0) > 0)) return Status.unresolvable(SchedReasons.PodAffinityMismatch);
      }
    }
    return SUCCESS;
  }

  preScore(state: CycleState, pod: Pod, _nodes: readonly NodeInfo[], handle: SchedulerHandle): Status {
    const preferred = pod.spec?.affinity?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    const preferredAnti = pod.spec?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    const weights = new Map<string, number>();
    const ns = pod.metadata.namespace;
    const nodes = handle.nodes;
    let any = false;
    // symmetric: existing pods' preferred terms that select the incoming pod
    const visitExisting = (existing: Pod, labels: Record<string, string>) => {
      const a = existing.spec?.affinity;
      for (const w of a?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
        const v = labels[w.podAffinityTerm.topologyKey];
        if (v !== undefined && termMatches(w.podAffinityTerm, existing.metadata.namespace, pod)) { add(weights, pair(w.podAffinityTerm.topologyKey, v), w.weight); any = true; }
      }
      for (const w of a?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
        const v = labels[w.podAffinityTerm.topologyKey];
        if (v !== undefined && termMatches(w.podAffinityTerm, existing.metadata.namespace, pod)) { add(weights, pair(w.podAffinityTerm.topologyKey, v), -w.weight); any = true; }
      }
    };
    const visitCandidate = (existing: Pod, labels: Record<string, string>) => {
      for (const w of preferred) {
        const v = labels[w.podAffinityTerm.topologyKey];
        if (v !== undefined && termMatches(w.podAffinityTerm, ns, existing)) { add(weights, pair(w.podAffinityTerm.topologyKey, v), w.weight); any = true; }
      }
      for (const w of preferredAnti) {
        const v = labels[w.podAffinityTerm.topologyKey];
        if (v !== undefined && termMatches(w.podAffinityTerm, ns, existing)) { add(weights, pair(w.podAffinityTerm.topologyKey, v), -w.weight); any = true; }
      }
    };
    const terms = [...preferred, ...preferredAnti].map((w) => w.podAffinityTerm);
    visitRelevantPods(nodes, pod, terms, nodes.podsWithPreferredAffinity?.bind(nodes), visitExisting, visitCandidate);
    if (!any) return Status.skip();
    state.write(SCORE_STATE, weights);
    return SUCCESS;
  }

  score(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): number {
    const weights = state.read<Map<string, number>>(SCORE_STATE);
    if (!weights) return 0;
    let sum = 0;
    for (const [key, v] of Object.entries(nodeInfo.labels)) sum += weights.get(pair(key, v)) ?? 0;
    return sum;
  }

  normalize(_state: CycleState, _pod: Pod, scores: Map<string, number>): void {
    let min = Infinity;
    let max = -Infinity;
    for (const v of scores.values()) { min = Math.min(min, v); max = Math.max(max, v); }
    for (const [k, v] of scores) scores.set(k, max === min ? 0 : Math.round(100 * (v - min) / (max - min)));
  }
}
