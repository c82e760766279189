import { CycleState, FilterPlugin, NodeInfo, Pod, SchedReasons, Status } from '@kern/sdk';
import { SUCCESS } from '../sdk-values';

/** A pod that names a node fits only there. */
export class NodeName implements FilterPlugin {
  readonly name = 'NodeName';

  /** Nothing to check for a pod that names no node. */
  preFilter(_state: CycleState, pod: Pod): Status {
    return pod.spec?.nodeName ? SUCCESS : Status.skip();
  }

  filter(_state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status {
    const want = pod.spec?.nodeName;
    return !want || want === nodeInfo.node.metadata.name ? SUCCESS : Status.unresolvable(SchedReasons.NodeNameMismatch);
  }
}
