import { CycleState, FilterPlugin, MAX_NODE_SCORE, NodeInfo, Pod, ScorePlugin, SchedReasons, Status, Taint, Toleration, toleratesAny } from '@kern/sdk';

/** The first taint with one of `effects` that no toleration matches. */
export function untoleratedTaint(taints: readonly Taint[], tolerations: readonly Toleration[], effects: readonly Taint['effect'][]): Taint | undefined {
  return taints.find((taint) => effects.includes(taint.effect) && !toleratesAny(tolerations, taint));
}

/**
 * Filter: NoSchedule and NoExecute taints must be tolerated. Score: fewer
 * untolerated PreferNoSchedule taints is better.
 */
export class TaintToleration implements FilterPlugin, ScorePlugin {
  readonly name = 'TaintToleration';

  filter(_state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status {
    const taint = untoleratedTaint(nodeInfo.taints, pod.spec?.tolerations ?? [], ['NoSchedule', 'NoExecute']);
    return taint ? Status.unresolvable(`${SchedReasons.UntoleratedTaint} {${taint.key}: ${taint.value ?? ''}}`) : Status.success();
  }

  score(_state: CycleState, pod: Pod, nodeInfo: NodeInfo): number {
    const tolerations = (pod.spec?.tolerations ?? []).filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
    return nodeInfo.taints.filter((taint) => taint.effect === 'PreferNoSchedule' && !toleratesAny(tolerations, taint)).length;
  }

  normalize(_state: CycleState, _pod: Pod, scores: Map<string, number>): void {
    reverseNormalize(scores);
  }
}

/** Maps counts where fewer is better onto [0, 100], 100 for the fewest. */
export function reverseNormalize(scores: Map<string, number>): void {
  let max = 0;
  for (const v of scores.values()) max = Math.max(max, v);
  for (const [k, v] of scores) scores.set(k, max === 0 ? MAX_NODE_SCORE : Math.round(MAX_NODE_SCORE * (max - v) / max));
}

/** Maps scores onto [0, 100] relative to the best one. */
export function defaultNormalize(scores: Map<string, number>): void {
  let max = 0;
  for (const v of scores.values()) max = Math.max(max, v);
  for (const [k, v] of scores) scores.set(k, max === 0 ? 0 : Math.round(MAX_NODE_SCORE * v / max));
}
