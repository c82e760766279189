import { Node, Pod, Taint } from '../resources/core';
import { Disposable, createToken } from '../tokens';

/**
 * Outcome codes of an extension point. Expected outcomes ("does not fit")
 * are Status values, never exceptions; a plugin that throws is treated as
 * returning `Error`.
 */
export type StatusCode =
  /** The pod passes this point. */
  | 'Success'
  /** The pod does not fit now, but may once something changes (preemption may help). */
  | 'Unschedulable'
  /** The pod does not fit, and evicting pods cannot change that (preemption skips the node). */
  | 'UnschedulableAndUnresolvable'
  /** Something went wrong; the attempt is retried with back-off. */
  | 'Error'
  /** PreFilter/PreScore: the plugin has nothing to do for this pod; its Filter/Score is not called. */
  | 'Skip';

/** The result of one extension point call. `reasons` are user-facing, see {@link SchedReasons}. */
export interface Status {
  code: StatusCode;
  reasons: string[];
  /** The plugin that produced a non-Success status (filled in by the runtime). */
  plugin?: string;
}

// Success and Skip carry nothing, so one frozen value each serves every call:
// filters run per pod × node, and a fresh object per verdict shows up in profiles.
const SUCCESS: Status = Object.freeze({ code: 'Success', reasons: Object.freeze([]) as unknown as string[] });
const SKIP: Status = Object.freeze({ code: 'Skip', reasons: Object.freeze([]) as unknown as string[] });

/** Helpers to build {@link Status} values. Success and Skip are shared, frozen values: copy before changing. */
export const Status = {
  success: (): Status => SUCCESS,
  skip: (): Status => SKIP,
  unschedulable: (...reasons: string[]): Status => ({ code: 'Unschedulable', reasons }),
  unresolvable: (...reasons: string[]): Status => ({ code: 'UnschedulableAndUnresolvable', reasons }),
  error: (message: string): Status => ({ code: 'Error', reasons: [message] }),
  isSuccess: (s: Status | undefined): boolean => !s || s.code === 'Success',
  /** Unschedulable or UnschedulableAndUnresolvable. */
  isRejection: (s: Status | undefined): boolean => !!s && (s.code === 'Unschedulable' || s.code === 'UnschedulableAndUnresolvable'),
};

/** Resources in base units: cpu in millicores, memory in bytes, pods as a count. */
export interface ResourceAmounts {
  cpu: number;
  memory: number;
  pods: number;
}

/**
 * One node as the scheduler sees it: the Node, every pod assigned to it
 * (bound, assumed but not yet bound, pending and running; terminal pods are
 * not counted) and the sum of their requests. Maintained incrementally by
 * the scheduler; plugins must treat it as read-only.
 */
export interface NodeInfo {
  readonly node: Node;
  /**
   * The node's Ready condition is True, and `spec.unschedulable` (cordoned):
   * read once per node update, so filters need not walk the node object for
   * every pod (at thousands of nodes those reads are cache misses).
   */
  readonly ready: boolean;
  readonly unschedulable: boolean;
  /**
   * `node.metadata.labels` and `node.spec.taints`, read once per node update
   * (empty when the node has none: a shared, frozen value, like the rest of
   * a NodeInfo not to be changed by plugins).
   */
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly Taint[];
  /** Pods assigned to this node, by `namespace/name`. */
  readonly pods: ReadonlyMap<string, Pod>;
  /** Sum of the requests of {@link NodeInfo.pods}. */
  readonly requested: Readonly<ResourceAmounts>;
  /** `status.allocatable` parsed; a missing resource is Infinity. */
  readonly allocatable: Readonly<ResourceAmounts>;
  /** Pods with affinity or anti-affinity terms (a subset of {@link NodeInfo.pods}), so InterPodAffinity need not scan every pod. */
  readonly podsWithAffinity: ReadonlyMap<string, Pod>;
  /** A copy that PostFilter (preemption) may change with {@link NodeInfo.removePod}/{@link NodeInfo.addPod}. */
  clone(): MutableNodeInfo;
}

/** A {@link NodeInfo} copy preemption uses to try evictions. */
export interface MutableNodeInfo extends NodeInfo {
  addPod(pod: Pod): void;
  removePod(pod: Pod): void;
}

/**
 * Read access to the scheduler's snapshot of the cluster for one cycle.
 * Valid only during the cycle it was handed out in.
 */
/** A pod counted on a node, as the indexes of {@link NodeInfoLister} return them. */
export interface PlacedPod {
  pod: Pod;
  nodeName: string;
}

export interface NodeInfoLister {
  /** Every node (not only the sampled ones). */
  list(): readonly NodeInfo[];
  get(nodeName: string): NodeInfo | undefined;
  /**
   * Optional index: the counted pods carrying label `key=value`, so
   * affinity checks need not scan every pod. Absent = scan `list()`.
   */
  podsWithLabel?(key: string, value: string): Iterable<PlacedPod>;
  /**
   * Optional index: the counted pods that declare required pod
   * anti-affinity, narrowed to those with a term that may select a pod with
   * `labels` when given (a superset: callers still check each term).
   */
  podsWithRequiredAntiAffinity?(labels?: Record<string, string>): Iterable<PlacedPod>;
  /** Optional index: like {@link podsWithRequiredAntiAffinity}, for preferred affinity and anti-affinity terms. */
  podsWithPreferredAffinity?(labels?: Record<string, string>): Iterable<PlacedPod>;
}

/**
 * Per-cycle scratch space shared by the plugins of one scheduling attempt:
 * a PreFilter stores what its Filter reads back. Keys should be prefixed by
 * the plugin name. Cleared after each attempt.
 */
export interface CycleState {
  read<T>(key: string): T | undefined;
  write<T>(key: string, value: T): void;
  delete(key: string): void;
  /** A copy, for preemption's what-if runs (values are shared, copy them before changing). */
  clone(): CycleState;
}

/**
 * What the runtime hands each scheduling plugin: a curated view, never the
 * scheduler itself.
 */
export interface SchedulerHandle {
  /** The cluster snapshot of the current cycle. */
  readonly nodes: NodeInfoLister;
  /** The effective priority of a pod (spec.priority, its PriorityClass, the global default, or 0). */
  podPriority(pod: Pod): number;
  /** Pod requests summed as the scheduler counts them. */
  podRequests(pod: Pod): ResourceAmounts;
  /** Deletes a pod (preemption); resolves once the delete is accepted. */
  evict(pod: Pod, reason: string): Promise<void>;
}

/** Every scheduling plugin has a unique name (used in logs, status and the explain output). */
export interface SchedulerPlugin {
  readonly name: string;
}

/**
 * Runs once per attempt before filtering. Computes what Filter needs into
 * the CycleState. Return `Skip` when Filter has nothing to check for this
 * pod; a rejection ends the attempt for every node (the reasons apply to all).
 */
export interface PreFilterPlugin extends SchedulerPlugin {
  preFilter(state: CycleState, pod: Pod, handle: SchedulerHandle): Status;
  /** For a preFilter that counts other pods: keeps those counts right on what-if nodes (see {@link PreFilterExtensions}). */
  preFilterExtensions?: PreFilterExtensions;
}

/**
 * What a plugin whose preFilter counts other pods (inter-pod affinity,
 * topology spread) implements so its Filter stays right when the framework
 * tries a node with pods other than the cluster has: preemption takes
 * lower-priority pods off a node and puts some back, and pods nominated to
 * a node count as if they were there. `nodeInfo` is the node the pod is
 * added to or removed from. The state is the caller's copy of the cycle's,
 * but its values are shared: replace a value, never change it in place.
 */
export interface PreFilterExtensions {
  addPod(state: CycleState, podToSchedule: Pod, podToAdd: Pod, nodeInfo: NodeInfo, handle: SchedulerHandle): Status;
  removePod(state: CycleState, podToSchedule: Pod, podToRemove: Pod, nodeInfo: NodeInfo, handle: SchedulerHandle): Status;
}

/**
 * Decides whether `pod` may run on one node. Called for many nodes per
 * attempt, possibly not all (sampling), and again by preemption on
 * what-if copies of a NodeInfo: it must be pure, fast and must not write
 * the CycleState. Return `Unschedulable` when evicting pods could help,
 * `UnschedulableAndUnresolvable` when nothing but a cluster change could.
 */
export interface FilterPlugin extends SchedulerPlugin {
  filter(state: CycleState, pod: Pod, nodeInfo: NodeInfo, handle: SchedulerHandle): Status;
}

/** What a PostFilter decided. */
export interface PostFilterResult {
  /** The node made ready for the pod (preemption's nominated node). */
  nominatedNodeName?: string;
  /** Pods evicted for it. */
  victims?: Pod[];
}

/**
 * Runs when no node passed Filter. The default one preempts: it evicts the
 * smallest set of lower-priority pods on one node so the pod fits there.
 * `Success` with a result means the cluster was changed in the pod's favour;
 * the pod is still re-queued and scheduled in a later attempt.
 */
export interface PostFilterPlugin extends SchedulerPlugin {
  postFilter(state: CycleState, pod: Pod, filtered: ReadonlyMap<string, Status>, handle: SchedulerHandle): Promise<{ status: Status; result?: PostFilterResult }>;
}

/**
 * Ranks feasible nodes. `score` returns a number for one node; after all
 * nodes, `normalize` (when present) may rewrite the scores in place, and
 * then each must lie in [0, {@link MAX_NODE_SCORE}]. The runtime multiplies
 * by the plugin's weight and sums over plugins; the highest total wins.
 * An optional `preScore` runs once before (return `Skip` to be left out).
 */
export interface ScorePlugin extends SchedulerPlugin {
  preScore?(state: CycleState, pod: Pod, nodes: readonly NodeInfo[], handle: SchedulerHandle): Status;
  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo, handle: SchedulerHandle): number;
  normalize?(state: CycleState, pod: Pod, scores: Map<string, number>): void;
}

export const MAX_NODE_SCORE = 100;

/**
 * Reserve happens after a node is chosen and before binding; the scheduler
 * has already assumed the pod on the node in its cache. `unreserve` undoes
 * it when a later step fails; it must be idempotent and must not fail.
 */
export interface ReservePlugin extends SchedulerPlugin {
  reserve(state: CycleState, pod: Pod, nodeName: string): Promise<Status> | Status;
  unreserve(state: CycleState, pod: Pod, nodeName: string): void;
}

/**
 * Binds the pod to the node. Plugins are tried in order; `Skip` passes to
 * the next one; the last is the default binder (CAS update of spec.nodeName).
 */
export interface BindPlugin extends SchedulerPlugin {
  bind(state: CycleState, pod: Pod, nodeName: string): Promise<Status>;
}

/** One plugin may implement several extension points; `weight` applies to Score (default 1). */
export type SchedulingPlugin = SchedulerPlugin & Partial<
  Pick<PreFilterPlugin, 'preFilter' | 'preFilterExtensions'> & Pick<FilterPlugin, 'filter'> & Pick<PostFilterPlugin, 'postFilter'>
  & Pick<ScorePlugin, 'preScore' | 'score' | 'normalize'> & Pick<ReservePlugin, 'reserve' | 'unreserve'> & Pick<BindPlugin, 'bind'>
> & { weight?: number };

/**
 * The extension point through which plugins add scheduling plugins. A
 * registered plugin runs after the built-in ones of each extension point,
 * from the next scheduling attempt on; `dispose()` removes it. Names must be
 * unique (AlreadyExists otherwise).
 */
export interface SchedulerPluginRegistry {
  register(plugin: SchedulingPlugin): Disposable;
  /** Names of the active plugins, built-in first. */
  names(): string[];
}

export const SchedulerPluginRegistry = createToken<SchedulerPluginRegistry>('sched.plugin-registry');

/** One node's outcome in a `sched.explain` dry run. */
export interface NodeVerdict {
  node: string;
  /** `Feasible`, `Unschedulable` or `UnschedulableAndUnresolvable`; `Chosen` for the winner. */
  verdict: 'Chosen' | 'Feasible' | 'Unschedulable' | 'UnschedulableAndUnresolvable' | 'NotEvaluated';
  /** Weighted total (feasible nodes only). */
  score?: number;
  /** Per-plugin weighted scores. */
  scores?: Record<string, number>;
  reasons: string[];
}

/** Result of `sched.explain`. */
export interface ScheduleExplanation {
  pod: { namespace: string; name: string };
  /** The node a real attempt would choose now, if any. */
  nodeName?: string;
  /** The "0/N nodes are available: ..." message when none fits. */
  message?: string;
  priority: number;
  nodes: NodeVerdict[];
}

/** Result of `sched.submit` and `sched.bind`. */
export interface ScheduleResult {
  namespace: string;
  name: string;
  /** Set when bound. */
  nodeName?: string;
  /** `Scheduled`, `Unschedulable` or `Timeout` (still pending when the wait ended). */
  outcome: 'Scheduled' | 'Unschedulable' | 'Timeout';
  message?: string;
}
