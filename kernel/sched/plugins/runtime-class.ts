import {
  CycleState, FilterPlugin, NodeInfo, Pod, SchedReasons, Status,
} from '@kern/sdk';
import { RUNTIME_DEDICATED_LABEL, RUNTIME_LABEL, SUCCESS } from '../sdk-values';

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
    if (wanted) return labels[RUNTIME_LABEL] === wanted ? SUCCESS : Status.unresolvable(SchedReasons.RuntimeClassMismatch);
    return labels[RUNTIME_DEDICATED_LABEL] === 'true' ? Status.unresolvable(SchedReasons.RuntimeClassMismatch) : SUCCESS;
  }
}
