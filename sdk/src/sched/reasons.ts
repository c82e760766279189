/**
 * Reason strings the default scheduling plugins put in {@link Status.reasons}.
 * They are user-facing (pod conditions, events, `kern explain-schedule`), so
 * they read as the tail of "N nodes: ...", and they are stable: match on the
 * constants, not on copies of the text.
 */
export const SchedReasons = {
  InsufficientCpu: 'insufficient cpu',
  InsufficientMemory: 'insufficient memory',
  TooManyPods: 'too many pods',
  NodeNameMismatch: "didn't match the requested node name",
  NodeUnschedulable: 'node(s) were unschedulable',
  NodeNotReady: 'node(s) were not ready',
  NodeSelectorMismatch: "didn't match pod's node affinity/selector",
  PodAffinityMismatch: "didn't match pod affinity rules",
  PodAntiAffinityMismatch: "didn't match pod anti-affinity rules",
  ExistingPodsAntiAffinityMismatch: "didn't satisfy existing pods anti-affinity rules",
  UntoleratedTaint: 'had untolerated taint',
  TopologySpreadMismatch: "didn't match pod topology spread constraints",
  TopologySpreadMissingLabel: "didn't match pod topology spread constraints (missing required label)",
  NoPreemptionVictims: 'preemption: no lower-priority pods to evict would make room',
  NodeNotFound: 'node not found',
  RuntimeClassMismatch: "didn't run the pod's runtime class",
} as const;

export type SchedReason = (typeof SchedReasons)[keyof typeof SchedReasons];

/**
 * Node labels naming the runtime driver a node's agent uses. A node whose
 * agent runs a runtime other than the kernel's default is dedicated: it takes
 * only pods whose `spec.runtimeClassName` names that runtime.
 */
export const NODE_RUNTIME_LABEL = 'kern.io/runtime';
export const NODE_RUNTIME_DEDICATED_LABEL = 'kern.io/runtime-dedicated';

/** Pod condition reason for a pod no node can take (as Kubernetes). */
export const REASON_UNSCHEDULABLE = 'Unschedulable';
/** Event reason when a scheduling attempt fails. */
export const REASON_FAILED_SCHEDULING = 'FailedScheduling';
/** Event reason when a pod is bound. */
export const REASON_SCHEDULED = 'Scheduled';
/** Event reason on a pod evicted to make room for a higher-priority one. */
export const REASON_PREEMPTED = 'Preempted';
/** Event reason on a pod deleted because its node has a NoExecute taint it does not tolerate (or no longer). */
export const REASON_TAINT_EVICTION = 'TaintManagerEviction';
/** Pod status reason when its node was lost (lease expired past the grace period). */
export const REASON_NODE_LOST = 'NodeLost';
/** Taint a node gets when its lease expires. */
export const TAINT_NODE_UNREACHABLE = 'node.kubernetes.io/unreachable';
/** Taint for a node whose Ready condition is False. */
export const TAINT_NODE_NOT_READY = 'node.kubernetes.io/not-ready';
/** Taint for a cordoned node (`spec.unschedulable`). */
export const TAINT_NODE_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
/** The name pods put in `spec.schedulerName` to be placed by Kern's scheduler (absent means this one too). */
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';
