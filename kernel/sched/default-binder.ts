import {
  Disposable, Informer, KernObject, Logger, Node, Pod, PodCondition, Syscalls, WorkQueue, controllerKey, isConflict, isNotFound,
  parseCpuMillis, parseMemoryBytes,
} from '@kern/sdk';

interface Fit { node: Node; freeCpu: number; freeMem: number }

/**
 * Binds pods that name no node to a Ready node with room for their requests
 * (least requested CPU first). A minimal placement until the scheduling
 * framework lands; it binds by setting `spec.nodeName`.
 */
export class DefaultBinder {
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly queue = new WorkQueue<string>({ baseDelayMs: 1000, maxDelayMs: 30_000 });
  private readonly disposables: Disposable[] = [];

  constructor(private readonly syscalls: Syscalls, private readonly logger: Logger) {
    this.pods = new Informer<Pod>(syscalls, { kind: 'Pod' });
    this.nodes = new Informer<Node>(syscalls, { kind: 'Node' });
  }

  async start(): Promise<void> {
    const enqueue = (p: Pod) => { if (!p.spec?.nodeName && !p.metadata.deletionTimestamp) this.queue.add(controllerKey(p)); };
    const retryAll = () => this.pods.list().forEach(enqueue);
    this.disposables.push(
      this.pods.onAdd(enqueue), this.pods.onUpdate((_o, p) => enqueue(p)),
      this.nodes.onAdd(retryAll), this.nodes.onUpdate((o, n) => { if (readyOf(o) !== readyOf(n)) retryAll(); }),
    );
    this.nodes.start();
    this.pods.start();
    await Promise.all([this.nodes.waitForSync(30_000), this.pods.waitForSync(30_000)]);
    this.queue.start((key) => this.bind(key), 1);
  }

  async stop(): Promise<void> {
    for (const d of this.disposables.reverse()) await d.dispose();
    this.pods.stop();
    this.nodes.stop();
    await this.queue.shutdown();
  }

  private async bind(key: string): Promise<void> {
    const [namespace, name] = key.split('/');
    const pod = this.pods.get(namespace, name);
    if (!pod || pod.spec?.nodeName || pod.metadata.deletionTimestamp) return;
    const fits = this.candidates(pod);
    if (fits.length === 0) {
      await this.markUnschedulable(pod);
      return;
    }
    fits.sort((a, b) => b.freeCpu - a.freeCpu || b.freeMem - a.freeMem);
    try {
      await this.syscalls.call('state.update', { object: { ...pod, spec: { ...pod.spec!, nodeName: fits[0].node.metadata.name } } as KernObject });
    } catch (e) {
      if (isNotFound(e)) return;
      if (isConflict(e)) { this.queue.add(key); return; }
      throw e;
    }
  }

  private candidates(pod: Pod): Fit[] {
    const want = requests(pod);
    const used = new Map<string, { cpu: number; mem: number; pods: number }>();
    for (const p of this.pods.list()) {
      const n = p.spec?.nodeName;
      if (!n || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
      const r = requests(p);
      const u = used.get(n) ?? { cpu: 0, mem: 0, pods: 0 };
      used.set(n, { cpu: u.cpu + r.cpu, mem: u.mem + r.mem, pods: u.pods + 1 });
    }
    const out: Fit[] = [];
    for (const node of this.nodes.list()) {
      if (readyOf(node) !== 'True' || node.spec?.unschedulable) continue;
      if (!matchesSelector(node, pod.spec?.nodeSelector)) continue;
      const alloc = node.status?.allocatable ?? {};
      const u = used.get(node.metadata.name) ?? { cpu: 0, mem: 0, pods: 0 };
      const freeCpu = (alloc.cpu ? parseCpuMillis(alloc.cpu) : Infinity) - u.cpu;
      const freeMem = (alloc.memory ? parseMemoryBytes(alloc.memory) : Infinity) - u.mem;
      const freePods = (alloc.pods ? Number(alloc.pods) : Infinity) - u.pods;
      if (freeCpu >= want.cpu && freeMem >= want.mem && freePods >= 1) out.push({ node, freeCpu, freeMem });
    }
    return out;
  }

  private async markUnschedulable(pod: Pod): Promise<void> {
    const message = `0/${this.nodes.list().length} nodes are available: none is Ready with enough free cpu, memory and pod slots`;
    const prev = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (prev?.status === 'False' && prev.message === message) return;
    const cond: PodCondition = { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastTransitionTime: new Date().toISOString() };
    const conditions = [...(pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled'), cond];
    await this.syscalls.call('state.update', {
      object: { ...pod, metadata: { ...pod.metadata, resourceVersion: undefined }, status: { ...pod.status, phase: 'Pending', conditions } } as KernObject,
      subresource: 'status',
    }).catch((e) => { if (!isNotFound(e)) throw e; });
    this.logger.info({ pod: controllerKey(pod) }, message);
  }
}

function readyOf(n: Node): string | undefined {
  return n.status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

function matchesSelector(node: Node, selector: Record<string, string> | undefined): boolean {
  const labels = node.metadata.labels ?? {};
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

/** Sum of container requests (limits when no request is given, as Kubernetes defaults them). */
export function requests(pod: Pod): { cpu: number; mem: number } {
  let cpu = 0;
  let mem = 0;
  for (const c of pod.spec?.containers ?? []) {
    const r = { ...c.resources?.limits, ...c.resources?.requests };
    if (r.cpu) cpu += parseCpuMillis(r.cpu);
    if (r.memory) mem += parseMemoryBytes(r.memory);
  }
  return { cpu, mem };
}
