import {
  CycleState, FilterPlugin, LabelSelector, NodeInfo, Pod, PreFilterExtensions, ScorePlugin, SchedReasons, SchedulerHandle, Status, TopologySpreadConstraint, matchesLabels, selectorFromSpec,
} from '@kern/sdk';
import { matchesNodeSelectorAndAffinity } from './node-affinity';
import { reverseNormalize } from './normalize';
import { SUCCESS } from '../sdk-values';

const STATE = 'PodTopologySpread/prefilter';
const SCORE_STATE = 'PodTopologySpread/prescore';

interface Counts {
  constraints: TopologySpreadConstraint[];
  selectors: LabelSelector[];
  /** Per constraint: matching pods per topology value (every eligible domain present, possibly 0). */
  counts: Map<string, number>[];
  /** Whether the incoming pod itself matches each constraint's selector. */
  self: boolean[];
}

/** Whether `other` counts toward constraint `selector` for `pod`: same namespace, selected by its labels. */
function countsFor(pod: Pod, other: Pod, selector: LabelSelector): boolean {
  return (other.metadata.namespace ?? 'default') === (pod.metadata.namespace ?? 'default') && matchesLabels(selector, other.metadata.labels);
}

function countMatching(pod: Pod, constraints: TopologySpreadConstraint[], handle: SchedulerHandle): Counts {
  const selectors = constraints.map((c) => selectorFromSpec(c.labelSelector));
  const counts = constraints.map(() => new Map<string, number>());
  for (const info of handle.nodes.list()) {
    // only domains of nodes the pod could go to by node affinity count (as Kubernetes)
    if (!matchesNodeSelectorAndAffinity(pod, info)) continue;
    const labels = info.labels;
    constraints.forEach((c, i) => {
      const v = labels[c.topologyKey];
      if (v === undefined) return;
      let n = counts[i].get(v) ?? 0;
      for (const p of info.pods.values()) if (countsFor(pod, p, selectors[i])) n++;
      counts[i].set(v, n);
    });
  }
  return { constraints, selectors, counts, self: selectors.map((s) => matchesLabels(s, pod.metadata.labels)) };
}

/**
 * The hard-constraint counts with `other` counted (`sign` 1) or not (-1) on
 * `nodeInfo`'s node, when it counts (see countsFor) and the node is one the
 * pod could go to. Copies what it changes (cycle state values are shared).
 */
function updateWithPod(state: CycleState, pod: Pod, other: Pod, nodeInfo: NodeInfo, sign: 1 | -1): Status {
  const s = state.read<Counts>(STATE);
  if (!s) return SUCCESS;
  if (!matchesNodeSelectorAndAffinity(pod, nodeInfo)) return SUCCESS;
  const labels = nodeInfo.labels;
  const counts = s.counts.map((m, i) => {
    const v = labels[s.constraints[i].topologyKey];
    if (v === undefined || !countsFor(pod, other, s.selectors[i])) return m;
    return new Map(m).set(v, Math.max(0, (m.get(v) ?? 0) + sign));
  });
  state.write(STATE, { ...s, counts });
  return SUCCESS;
}

/**
 * Spreads pods matching each constraint's selector over the domains of its
 * topology key: DoNotSchedule constraints filter (skip ≤ maxSkew),
 * ScheduleAnyway constraints score (fewer matching pods is better).
 */
export class PodTopologySpread implements FilterPlugin, ScorePlugin {
  readonly name = 'PodTopologySpread';

  preFilter(state: CycleState, pod: Pod, handle: SchedulerHandle): Status {
    const hard = (pod.spec?.topologySpreadConstraints ?? []).filter((c) => c.whenUnsatisfiable !== 'ScheduleAnyway');
    if (hard.length === 0) return Status.skip();
    state.write(STATE, countMatching(pod, hard, handle));
    return SUCCESS;
  }

  /** Preemption's trial evictions and nominated pods change the counts per domain. */
  readonly preFilterExtensions: PreFilterExtensions = {
    addPod: (state, pod, other, nodeInfo) => updateWithPod(state, pod, other, nodeInfo, 1),
    removePod: (state, pod, other, nodeInfo) => updateWithPod(state, pod, other, nodeInfo, -1),
  };

  filter(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): Status {
    const s = state.read<Counts>(STATE);
    if (!s) return SUCCESS;
    const labels = nodeInfo.labels;
    for (let i = 0; i < s.constraints.length; i++) {
      const c = s.constraints[i];
      const v = labels[c.topologyKey];
      if (v === undefined) return Status.unresolvable(SchedReasons.TopologySpreadMissingLabel);
      let min = Infinity;
      for (const n of s.counts[i].values()) min = Math.min(min, n);
      if (!Number.isFinite(min)) min = 0;
      const here = (s.counts[i].get(v) ?? 0) + (s.self[i] ? 1 : 0);
      if (here - min > c.maxSkew) return Status.unschedulable(SchedReasons.TopologySpreadMismatch);
    }
    return SUCCESS;
  }

  preScore(state: CycleState, pod: Pod, _nodes: readonly NodeInfo[], handle: SchedulerHandle): Status {
    const soft = (pod.spec?.topologySpreadConstraints ?? []).filter((c) => c.whenUnsatisfiable === 'ScheduleAnyway');
    if (soft.length === 0) return Status.skip();
    state.write(SCORE_STATE, countMatching(pod, soft, handle));
    return SUCCESS;
  }

  score(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): number {
    const s = state.read<Counts>(SCORE_STATE);
    if (!s) return 0;
    const labels = nodeInfo.labels;
    let sum = 0;
    s.constraints.forEach((c, i) => {
      const v = labels[c.topologyKey];
      sum += v === undefined ? 0 : (s.counts[i].get(v) ?? 0);
    });
    return sum;
  }

  normalize(_state: CycleState, _pod: Pod, scores: Map<string, number>): void {
    reverseNormalize(scores);
  }
}
