import { CycleState, FilterPlugin, NodeInfo, NodeSelectorRequirement, NodeSelectorTerm, Pod, ScorePlugin, SchedReasons, Status } from '@kern/sdk';
import { defaultNormalize } from './normalize';
import { SUCCESS } from '../sdk-values';

export function matchesRequirement(r: NodeSelectorRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = labels[r.key];
  switch (r.operator) {
    case 'In': return has && (r.values ?? []).includes(v);
    case 'NotIn': return !has || !(r.values ?? []).includes(v);
    case 'Exists': return has;
    case 'DoesNotExist': return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || !/^-?\d+$/.test(v) || r.values?.length !== 1 || !/^-?\d+$/.test(r.values[0])) return false;
      const a = Number(v);
      const b = Number(r.values[0]);
      return r.operator === 'Gt' ? a > b : a < b;
    }
    default: return false;
  }
}

/** A term matches when all its expressions and fields do; an empty term matches nothing (as Kubernetes). */
export function matchesTerm(term: NodeSelectorTerm, nodeInfo: NodeInfo): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  return exprs.every((r) => matchesRequirement(r, nodeInfo.labels))
    && fields.every((r) => r.key === 'metadata.name' && matchesRequirement(r, { 'metadata.name': nodeInfo.node.metadata.name }));
}

/** `spec.nodeSelector` and required node affinity (terms ORed). */
export function matchesNodeSelectorAndAffinity(pod: Pod, nodeInfo: NodeInfo): boolean {
  const labels = nodeInfo.labels;
  const selector = pod.spec?.nodeSelector;
  if (selector) for (const k in selector) if (labels[k] !== selector[k]) return false;
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) return required.nodeSelectorTerms.some((t) => matchesTerm(t, nodeInfo));
  return true;
}

/**
 * Filter: `nodeSelector` and required node affinity. Score: the summed
 * weights of matching preferred terms, normalized to [0, 100].
 */
export class NodeAffinity implements FilterPlugin, ScorePlugin {
  readonly name = 'NodeAffinity';

  /** Nothing to filter for a pod without a node selector or required node affinity (as kube-scheduler). */
  preFilter(_state: CycleState, pod: Pod): Status {
    const selector = pod.spec?.nodeSelector;
    const hasSelector = !!selector && Object.keys(selector).length > 0;
    return hasSelector || pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution ? SUCCESS : Status.skip();
  }

  filter(_state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status {
    return matchesNodeSelectorAndAffinity(pod, nodeInfo) ? SUCCESS : Status.unresolvable(SchedReasons.NodeSelectorMismatch);
  }

  preScore(_state: CycleState, pod: Pod): Status {
    return pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length ? SUCCESS : Status.skip();
  }

  score(_state: CycleState, pod: Pod, nodeInfo: NodeInfo): number {
    let sum = 0;
    for (const p of pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
      if (matchesTerm(p.preference, nodeInfo)) sum += p.weight;
    }
    return sum;
  }

  normalize(_state: CycleState, _pod: Pod, scores: Map<string, number>): void {
    defaultNormalize(scores);
  }
}
