import {
  CycleState, FilterPlugin, NODE_RUNTIME_DEDICATED_LABEL, NODE_RUNTIME_LABEL, NodeInfo, Pod, SchedReasons, Status,
} from '@kern/sdk';

/**
 * A pod with `spec.runtimeClassName` fits only nodes whose agent runs that
 * runtime driver (label `kern.io/runtime`); a pod without one never lands on
 * a node dedicated to another runtime, so installing a second runtime driver
 * does not change where existing workloads go.
 */
export class RuntimeClass implements FilterPlugin {
  readonly name = 'RuntimeClass';

  filter(_state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status {
    const labels = nodeInfo.labels;
    const wanted = pod.spec?.runtimeClassName;
    if (wanted) return labels[NODE_RUNTIME_LABEL] === wanted ? Status.success() : Status.unresolvable(SchedReasons.RuntimeClassMismatch);
    return labels[NODE_RUNTIME_DEDICATED_LABEL] === 'true' ? Status.unresolvable(SchedReasons.RuntimeClassMismatch) : Status.success();
  }
}
