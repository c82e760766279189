import { Pod, TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE, Taint, Toleration, tolerates } from '@kern/sdk';

/**
 * Taints the node lifecycle sets when a node stops reporting. A pod without
 * a toleration for them is not evicted for them: after the node-loss grace
 * period the lifecycle marks it Failed (NodeLost) instead, as Kubernetes'
 * default tolerations (DefaultTolerationSeconds) give every pod time first.
 */
export const NODE_LOSS_TAINTS: readonly string[] = [TAINT_NODE_UNREACHABLE, TAINT_NODE_NOT_READY];

/**
 * When a pod on a node with these taints has to leave it (ms since the
 * epoch), as Kubernetes' NoExecute taint manager decides:
 * - a NoExecute taint the pod does not tolerate: at once (`since` of that taint);
 * - tolerated, and the matching tolerations set tolerationSeconds: the
 *   smallest of them after the taint appeared (0 or less: at once);
 * - tolerated without tolerationSeconds: never (undefined), as long as every
 *   NoExecute taint is.
 * The earliest deadline over all NoExecute taints wins. `since` says when a
 * taint appeared on the node.
 */
export function noExecuteDeadline(pod: Pod, taints: readonly Taint[], since: (taint: Taint) => number): number | undefined {
  const tolerations = pod.spec?.tolerations ?? [];
  let deadline: number | undefined;
  for (const taint of taints) {
    if (taint.effect !== 'NoExecute') continue;
    const matching = tolerations.filter((t) => tolerates(t, taint));
    let at: number | undefined;
    if (matching.length === 0) {
      if (NODE_LOSS_TAINTS.includes(taint.key)) continue;
      at = since(taint);
    } else {
      const seconds = minTolerationSeconds(matching);
      if (seconds === undefined) continue;
      at = since(taint) + Math.max(0, seconds) * 1000;
    }
    if (deadline === undefined || at < deadline) deadline = at;
  }
  return deadline;
}

function minTolerationSeconds(tolerations: readonly Toleration[]): number | undefined {
  let min: number | undefined;
  for (const t of tolerations) {
    if (typeof t.tolerationSeconds !== 'number') continue;
    if (min === undefined || t.tolerationSeconds < min) min = t.tolerationSeconds;
  }
  return min;
}
