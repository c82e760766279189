import { CycleState, FilterPlugin, NodeInfo, Pod, SchedReasons, Status } from '@kern/sdk';

/** A pod that names a node fits only there. */
export class NodeName implements FilterPlugin {
  readonly name = 'NodeName';

  filter(_state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status {
    const want = pod.spec?.nodeName;
    return !want || want === nodeInfo.node.metadata.name ? Status.success() : Status.unresolvable(SchedReasons.NodeNameMismatch);
  }
}
