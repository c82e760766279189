import { CycleState, FilterPlugin, NodeInfo, Pod, SchedReasons, Status, TAINT_NODE_UNSCHEDULABLE, toleratesAny } from '@kern/sdk';
import { SUCCESS } from '../sdk-values';

/**
 * Cordoned nodes (`spec.unschedulable`) take only pods tolerating
 * `node.kubernetes.io/unschedulable`; nodes whose Ready condition is not
 * True take none.
 */
export class NodeUnschedulable implements FilterPlugin {
  readonly name = 'NodeUnschedulable';

  filter(_state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status {
    if (!nodeInfo.ready) return Status.unresolvable(SchedReasons.NodeNotReady);
    if (nodeInfo.unschedulable) {
      const taint = { key: TAINT_NODE_UNSCHEDULABLE, effect: 'NoSchedule' as const };
      if (!toleratesAny(pod.spec?.tolerations, taint)) return Status.unresolvable(SchedReasons.NodeUnschedulable);
    }
    return SUCCESS;
  }
}
