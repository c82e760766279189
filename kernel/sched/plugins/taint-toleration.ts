import { CycleState, FilterPlugin, NodeInfo, Pod, ScorePlugin, SchedReasons, Status, Taint, Toleration, toleratesAny } from '@kern/sdk';
import { MAX_SCORE, SUCCESS } from '../sdk-values';
import { reverseScore } from './normalize';

/** The first taint with one of `effects` that no toleration matches. */
export function untoleratedTaint(taints: readonly Taint[], tolerations: readonly Toleration[], effects: readonly Taint['effect'][]): Taint | undefined {
  return taints.find((taint) => effects.includes(taint.effect) && !toleratesAny(tolerations, taint));
}

const SCORE_STATE = 'TaintToleration/prescore';

interface PreScoreState {
  /** The pod's tolerations that can tolerate a PreferNoSchedule taint. */
  tolerations: Toleration[];
  /** The most untolerated PreferNoSchedule taints on any node being scored. */
  max: number;
}

/** How many of the node's PreferNoSchedule taints none of `tolerations` tolerates. */
function untoleratedPreferNoSchedule(taints: readonly Taint[], tolerations: readonly Toleration[]): number {
  let n = 0;
  for (const taint of taints) if (taint.effect === 'PreferNoSchedule' && !toleratesAny(tolerations, taint)) n++;
  return n;
}

/**
 * Filter: NoSchedule and NoExecute taints must be tolerated. Score: fewer
 * untolerated PreferNoSchedule taints is better, 100 for the fewest and 0
 * for the most (kube-scheduler's reverse normalization). The most is
 * counted in preScore, so each score is final without a normalize pass (a
 * normalize pass builds a map of every scored node per pod).
 */
export class TaintToleration implements FilterPlugin, ScorePlugin {
  readonly name = 'TaintToleration';

  filter(_state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status {
    if (nodeInfo.taints.length === 0) return SUCCESS;
    const taint = untoleratedTaint(nodeInfo.taints, pod.spec?.tolerations ?? [], ['NoSchedule', 'NoExecute']);
    return taint ? Status.unresolvable(`${SchedReasons.UntoleratedTaint} {${taint.key}: ${taint.value ?? ''}}`) : SUCCESS;
  }

  preScore(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): Status {
    const tolerations = (pod.spec?.tolerations ?? []).filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
    let max = 0;
    for (const n of nodes) if (n.taints.length > 0) max = Math.max(max, untoleratedPreferNoSchedule(n.taints, tolerations));
    state.write<PreScoreState>(SCORE_STATE, { tolerations, max });
    return SUCCESS;
  }

  score(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): number {
    const s = state.read<PreScoreState>(SCORE_STATE);
    if (!s || nodeInfo.taints.length === 0) return MAX_SCORE;
    return reverseScore(untoleratedPreferNoSchedule(nodeInfo.taints, s.tolerations), s.max);
  }
}
