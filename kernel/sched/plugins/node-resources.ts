import { CycleState, FilterPlugin, NodeInfo, Pod, ResourceAmounts, ScorePlugin, SchedReasons, SchedulerHandle, Status } from '@kern/sdk';
import { MAX_SCORE, SUCCESS } from '../sdk-values';

const REQUESTS = 'NodeResourcesFit/requests';

function requestsOf(state: CycleState, pod: Pod, handle: SchedulerHandle): ResourceAmounts {
  let r = state.read<ResourceAmounts>(REQUESTS);
  if (!r) { r = handle.podRequests(pod); state.write(REQUESTS, r); }
  return r;
}

/** The reasons `pod` (asking for `want`) does not fit into what is left on the node; empty when it fits. */
export function insufficientResources(want: ResourceAmounts, nodeInfo: NodeInfo): readonly string[] {
  const { allocatable: a, requested: r } = nodeInfo;
  // Most nodes fit: no array for them (this runs per pod × node).
  let out: string[] | undefined;
  if (r.pods + 1 > a.pods) (out ??= []).push(SchedReasons.TooManyPods);
  if (want.cpu > 0 && r.cpu + want.cpu > a.cpu) (out ??= []).push(SchedReasons.InsufficientCpu);
  if (want.memory > 0 && r.memory + want.memory > a.memory) (out ??= []).push(SchedReasons.InsufficientMemory);
  return out ?? FITS;
}

const FITS: readonly string[] = Object.freeze([]);

/** Requests against allocatable minus what every assigned, non-terminal pod requests. */
export class NodeResourcesFit implements FilterPlugin {
  readonly name = 'NodeResourcesFit';

  preFilter(state: CycleState, pod: Pod, handle: SchedulerHandle): Status {
    state.write(REQUESTS, handle.podRequests(pod));
    return SUCCESS;
  }

  filter(state: CycleState, pod: Pod, nodeInfo: NodeInfo, handle: SchedulerHandle): Status {
    const reasons = insufficientResources(requestsOf(state, pod, handle), nodeInfo);
    return reasons.length ? Status.unschedulable(...reasons) : SUCCESS;
  }
}

function fractions(state: CycleState, pod: Pod, nodeInfo: NodeInfo, handle: SchedulerHandle): { cpu: number; memory: number } {
  const want = requestsOf(state, pod, handle);
  const { allocatable: a, requested: r } = nodeInfo;
  const frac = (used: number, cap: number) => (!Number.isFinite(cap) ? 0 : cap <= 0 ? 1 : Math.min(1, used / cap));
  return { cpu: frac(r.cpu + want.cpu, a.cpu), memory: frac(r.memory + want.memory, a.memory) };
}

/** Prefers the node with the most free cpu and memory after placing the pod (spreads load). */
export class NodeResourcesLeastAllocated implements ScorePlugin {
  readonly name = 'NodeResourcesLeastAllocated';

  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo, handle: SchedulerHandle): number {
    const f = fractions(state, pod, nodeInfo, handle);
    return Math.round(MAX_SCORE * ((1 - f.cpu) + (1 - f.memory)) / 2);
  }
}

/** Prefers nodes whose cpu and memory use stay in proportion after placing the pod. */
export class NodeResourcesBalancedAllocation implements ScorePlugin {
  readonly name = 'NodeResourcesBalancedAllocation';

  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo, handle: SchedulerHandle): number {
    const f = fractions(state, pod, nodeInfo, handle);
    const std = Math.abs(f.cpu - f.memory) / 2;
    return Math.round(MAX_SCORE * (1 - std));
  }
}
