import { LabelSelectorSpec } from '../selectors';
import { KernObject } from './meta';

/** Namespace: a scope for names. Cluster-scoped. */
export type Namespace = KernObject<{ finalizers?: string[] }, { phase?: 'Active' | 'Terminating' }>;

export interface ResourceQuantities {
  /** CPU in cores or millicores: `2`, `500m`. */
  cpu?: string;
  /** Memory with a binary or decimal suffix: `256Mi`, `8Gi`, `1G`. */
  memory?: string;
  pods?: string;
  [name: string]: string | undefined;
}

export interface NodeCondition {
  type: 'Ready' | 'MemoryPressure' | 'DiskPressure' | 'PIDPressure' | 'NetworkUnavailable' | string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  /** When a NoExecute taint was added (set by the kernel). */
  timeAdded?: string;
}

export interface NodeSpec {
  unschedulable?: boolean;
  taints?: Taint[];
  podCIDR?: string;
}

export interface NodeStatus {
  capacity?: ResourceQuantities;
  allocatable?: ResourceQuantities;
  conditions?: NodeCondition[];
  addresses?: { type: 'InternalIP' | 'Hostname' | string; address: string }[];
  nodeInfo?: { kernelVersion?: string; osImage?: string; architecture?: string; operatingSystem?: string; containerRuntimeVersion?: string; kernVersion?: string };
}

/** Node: one machine that runs pods. Cluster-scoped. */
export type Node = KernObject<NodeSpec, NodeStatus>;

export interface EnvVar { name: string; value?: string }
export interface ContainerPort { name?: string; containerPort: number; protocol?: 'TCP' | 'UDP' | 'SCTP'; hostPort?: number }
export interface VolumeMount { name: string; mountPath: string; readOnly?: boolean; subPath?: string }

export interface ExecAction { command: string[] }
export interface HttpGetAction { path?: string; port: number | string; host?: string; scheme?: 'HTTP' | 'HTTPS'; httpHeaders?: { name: string; value: string }[] }
export interface TcpSocketAction { port: number | string; host?: string }

export interface Probe {
  exec?: ExecAction;
  httpGet?: HttpGetAction;
  tcpSocket?: TcpSocketAction;
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  ports?: ContainerPort[];
  resources?: { requests?: ResourceQuantities; limits?: ResourceQuantities };
  volumeMounts?: VolumeMount[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** Init containers only: `Always` makes a sidecar that keeps running. */
  restartPolicy?: 'Always';
}

export interface Volume {
  name: string;
  emptyDir?: { medium?: '' | 'Memory'; sizeLimit?: string };
  hostPath?: { path: string; type?: string };
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  [source: string]: unknown;
}

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

/** One node-selector requirement: `Gt`/`Lt` compare the label as an integer. */
export interface NodeSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';
  values?: string[];
}

/** Requirements ANDed together; `matchFields` supports `metadata.name` only. */
export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

/** Terms ORed together. */
export interface NodeSelector {
  nodeSelectorTerms: NodeSelectorTerm[];
}

export interface PreferredSchedulingTerm {
  /** 1-100. */
  weight: number;
  preference: NodeSelectorTerm;
}

export interface NodeAffinity {
  requiredDuringSchedulingIgnoredDuringExecution?: NodeSelector;
  preferredDuringSchedulingIgnoredDuringExecution?: PreferredSchedulingTerm[];
}

/** Pods matching `labelSelector` (in `namespaces`, default the pod's own) within one `topologyKey` domain. */
export interface PodAffinityTerm {
  labelSelector?: LabelSelectorSpec;
  namespaces?: string[];
  topologyKey: string;
}

export interface WeightedPodAffinityTerm {
  /** 1-100. */
  weight: number;
  podAffinityTerm: PodAffinityTerm;
}

export interface PodAffinity {
  requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];
  preferredDuringSchedulingIgnoredDuringExecution?: WeightedPodAffinityTerm[];
}

export interface Affinity {
  nodeAffinity?: NodeAffinity;
  podAffinity?: PodAffinity;
  podAntiAffinity?: PodAffinity;
}

export interface TopologySpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway';
  labelSelector?: LabelSelectorSpec;
}

/** PriorityClass: a named pod priority. Cluster-scoped; `value` sits at the top level, as in Kubernetes. */
export interface PriorityClass extends KernObject<never, never> {
  value: number;
  globalDefault?: boolean;
  preemptionPolicy?: 'PreemptLowerPriority' | 'Never';
  description?: string;
}

/** Event: something that happened to an object (`involvedObject`), for `kern describe`. */
export interface Event extends KernObject<never, never> {
  involvedObject: { kind: string; namespace?: string; name: string; uid?: string; apiVersion?: string };
  reason: string;
  message: string;
  type?: 'Normal' | 'Warning';
  source?: { component?: string; host?: string };
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  terminationGracePeriodSeconds?: number;
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  affinity?: Affinity;
  tolerations?: Toleration[];
  /** Resolved priority; when absent the scheduler takes it from `priorityClassName` (or the global default class). */
  priority?: number;
  priorityClassName?: string;
  /** `Never` keeps the pod from preempting others. Default: PreemptLowerPriority. */
  preemptionPolicy?: 'PreemptLowerPriority' | 'Never';
  topologySpreadConstraints?: TopologySpreadConstraint[];
  schedulerName?: string;
  /** The runtime driver that runs this pod (e.g. "raw-exec"); absent = each node's default runtime. */
  runtimeClassName?: string;
  hostname?: string;
  subdomain?: string;
}

export type ContainerState =
  | { waiting: { reason?: string; message?: string } }
  | { running: { startedAt: string } }
  | { terminated: { exitCode: number; reason?: string; message?: string; startedAt?: string; finishedAt?: string } };

export interface ContainerStatus {
  name: string;
  image: string;
  ready: boolean;
  started?: boolean;
  restartCount: number;
  state: Partial<{ waiting: { reason?: string; message?: string }; running: { startedAt: string }; terminated: { exitCode: number; reason?: string; message?: string; startedAt?: string; finishedAt?: string } }>;
  lastState?: ContainerStatus['state'];
  containerID?: string;
}

export interface PodCondition {
  type: 'PodScheduled' | 'Initialized' | 'ContainersReady' | 'Ready' | string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface PodStatus {
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  conditions?: PodCondition[];
  hostIP?: string;
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
  /** The node preemption made room on; the pod is bound there once the victims are gone. */
  nominatedNodeName?: string;
  reason?: string;
  message?: string;
  containerStatuses?: ContainerStatus[];
  initContainerStatuses?: ContainerStatus[];
}

/** Pod: a main container plus sidecars sharing one network namespace. */
export type Pod = KernObject<PodSpec, PodStatus>;
