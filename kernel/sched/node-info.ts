import { MutableNodeInfo, Node, Pod, ResourceAmounts, Taint, controllerKey, parseCpuMillis, parseMemoryBytes, podRequests } from '@kern/sdk';

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});
const NO_TAINTS: readonly Taint[] = Object.freeze([]);

/** True when a pod names any (anti-)affinity term InterPodAffinity has to look at. */
export function hasPodAffinity(pod: Pod): boolean {
  const a = pod.spec?.affinity;
  return !!(a?.podAffinity || a?.podAntiAffinity);
}

export function allocatableOf(node: Node): ResourceAmounts {
  const a = node.status?.allocatable ?? {};
  const num = (v: string | undefined, parse: (x: string) => number) => {
    if (v === undefined) return Infinity;
    try { return parse(v); } catch { return 0; }
  };
  return {
    cpu: num(a.cpu, (x) => parseCpuMillis(x)),
    memory: num(a.memory, (x) => parseMemoryBytes(x)),
    pods: num(a.pods, (x) => Number(x)),
  };
}

/**
 * The scheduler's incremental view of one node. Adding or removing a pod is
 * O(1): requests are parsed once per pod and kept beside it.
 */
export class NodeInfoImpl implements MutableNodeInfo {
  readonly pods = new Map<string, Pod>();
  readonly podsWithAffinity = new Map<string, Pod>();
  readonly requested: ResourceAmounts = { cpu: 0, memory: 0, pods: 0 };
  // Set by readNode, from the constructor and setNode.
  node!: Node;
  allocatable!: ResourceAmounts;
  ready!: boolean;
  unschedulable!: boolean;
  labels!: Readonly<Record<string, string>>;
  taints!: readonly Taint[];
  private readonly requests = new Map<string, ResourceAmounts>();

  /** `exists` is false while pods name a node the cache has not seen (yet). */
  constructor(node: Node, public exists = true) {
    this.readNode(node);
  }

  get name(): string {
    return this.node.metadata.name;
  }

  setNode(node: Node): void {
    this.readNode(node);
    this.exists = true;
  }

  /** Keeps the node and what filters read of it for every pod, parsed once per node update. */
  private readNode(node: Node): void {
    this.node = node;
    this.allocatable = allocatableOf(node);
    this.ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    this.unschedulable = !!node.spec?.unschedulable;
    this.labels = node.metadata.labels ?? NO_LABELS;
    this.taints = node.spec?.taints ?? NO_TAINTS;
  }

  addPod(pod: Pod, req: ResourceAmounts = podRequests(pod)): void {
    const key = controllerKey(pod);
    if (this.pods.has(key)) this.removeKey(key);
    this.pods.set(key, pod);
    this.requests.set(key, req);
    if (hasPodAffinity(pod)) this.podsWithAffinity.set(key, pod);
    this.requested.cpu += req.cpu;
    this.requested.memory += req.memory;
    this.requested.pods += req.pods;
  }

  /** Swaps in a newer object of a pod already here whose requests and affinity are unchanged; false when it is not here. */
  replacePod(key: string, pod: Pod): boolean {
    if (!this.pods.has(key)) return false;
    this.pods.set(key, pod);
    if (this.podsWithAffinity.has(key)) this.podsWithAffinity.set(key, pod);
    return true;
  }

  removePod(pod: Pod): void {
    this.removeKey(controllerKey(pod));
  }

  /** What the pod under `key` is counted with here. */
  requestsOf(key: string): Readonly<ResourceAmounts> | undefined {
    return this.requests.get(key);
  }

  removeKey(key: string): void {
    const req = this.requests.get(key);
    if (!req) return;
    this.pods.delete(key);
    this.requests.delete(key);
    this.podsWithAffinity.delete(key);
    this.requested.cpu -= req.cpu;
    this.requested.memory -= req.memory;
    this.requested.pods -= req.pods;
  }

  clone(): NodeInfoImpl {
    const c = new NodeInfoImpl(this.node, this.exists);
    for (const [key, pod] of this.pods) c.addPod(pod, this.requests.get(key));
    return c;
  }
}
