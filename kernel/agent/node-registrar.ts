import {
  KernObject, Logger, Node, NodeCondition, RuntimeDriver, Syscalls, isAlreadyExists, isConflict, isNotFound, parseCpuMillis, parseMemoryBytes,
} from '@kern/sdk';
import { availableMemoryBytes, freeDiskFraction, MachineFacts } from './node-facts';
import { KERN_VERSION } from '../version';

export const LEASE_NAMESPACE = 'kern-node-lease';

export interface NodeRegistrarOptions {
  nodeName: string;
  facts: MachineFacts;
  labels?: Record<string, string>;
  zone?: string;
  /** Overrides of what the machine reports: `{cpu: '4', memory: '8Gi', pods: '110'}`. */
  capacity?: Record<string, string>;
  /** Held back from pods: `{cpu: '100m', memory: '256Mi'}`. */
  reserved?: Record<string, string>;
  leaseDurationSeconds: number;
  dataDir: string;
}

/**
 * Registers this machine as a Node, keeps its conditions current and renews
 * its Lease (the heartbeat the control plane watches).
 */
export class NodeRegistrar {
  /** The runtime as kubelet names it (`docker://20.10.24`), once its info was read. */
  private runtimeVersion?: string;

  constructor(private readonly syscalls: Syscalls, private readonly runtime: RuntimeDriver, private readonly opts: NodeRegistrarOptions, private readonly logger: Logger) {}

  node(): Node {
    const { facts, nodeName } = this.opts;
    const capacity: Record<string, string> = {
      cpu: String(facts.cpus),
      memory: `${Math.floor(facts.memoryBytes / 1024)}Ki`,
      pods: '110',
      ...this.opts.capacity,
    };
    const allocatable = { ...capacity, ...subtractReserved(capacity, this.opts.reserved ?? {}) };
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: nodeName,
        labels: {
          'kubernetes.io/hostname': nodeName,
          'kubernetes.io/os': facts.os,
          'kubernetes.io/arch': facts.arch,
          ...(this.opts.zone ? { 'topology.kubernetes.io/zone': this.opts.zone } : {}),
          ...this.opts.labels,
        },
      },
      spec: {},
      status: {
        capacity,
        allocatable,
        addresses: [{ type: 'InternalIP', address: facts.address }, { type: 'Hostname', address: facts.hostname }],
        nodeInfo: {
          kernelVersion: facts.kernelVersion, osImage: facts.osImage, architecture: facts.arch, operatingSystem: facts.os, kernVersion: KERN_VERSION,
          ...(this.runtimeVersion ? { containerRuntimeVersion: this.runtimeVersion } : {}),
        },
      },
    };
  }

  /** Creates or refreshes the Node (labels and status), keeping spec a user may have set (taints, unschedulable). */
  async register(): Promise<void> {
    const conditions = await this.conditions(); // first: it learns the runtime's version
    const desired = this.node();
    desired.status!.conditions = conditions;
    try {
      const current = await this.syscalls.call('state.get', { kind: 'Node', name: desired.metadata.name });
      await this.syscalls.call('state.update', { object: { ...current, metadata: { ...current.metadata, labels: { ...current.metadata.labels, ...desired.metadata.labels } } } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      try { await this.syscalls.call('state.create', { object: desired }); } catch (err) { if (!isAlreadyExists(err)) throw err; }
    }
    await this.writeStatus(desired.status!);
    await this.syscalls.call('state.apply', { object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: LEASE_NAMESPACE }, spec: {} } });
    await this.renewLease();
  }

  /** One heartbeat: renew the lease; rewrite node status when a condition changed. */
  async heartbeat(): Promise<void> {
    await this.renewLease();
    const node = (await this.syscalls.call('state.get', { kind: 'Node', name: this.opts.nodeName })) as Node;
    const conditions = await this.conditions(node.status?.conditions);
    const changed = JSON.stringify(strip(conditions)) !== JSON.stringify(strip(node.status?.conditions ?? []));
    if (changed) await this.writeStatus({ ...this.node().status, conditions });
  }

  private async writeStatus(status: NonNullable<Node['status']>): Promise<void> {
    const current = await this.syscalls.call('state.get', { kind: 'Node', name: this.opts.nodeName });
    await this.syscalls.call('state.update', { object: { ...current, metadata: { ...current.metadata, resourceVersion: undefined }, status }, subresource: 'status' });
  }

  private async renewLease(): Promise<void> {
    const now = new Date().toISOString();
    const lease: KernObject = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.opts.nodeName, namespace: LEASE_NAMESPACE },
      spec: { holderIdentity: this.opts.nodeName, leaseDurationSeconds: this.opts.leaseDurationSeconds, renewTime: now },
    };
    for (let i = 0; i < 3; i++) {
      try {
        await this.syscalls.call('state.apply', { object: lease });
        return;
      } catch (e) {
        if (!isConflict(e)) throw e;
      }
    }
  }

  async conditions(previous: NodeCondition[] = []): Promise<NodeCondition[]> {
    const now = new Date().toISOString();
    let runtimeOk = true;
    let runtimeMessage = 'kern agent is posting ready status';
    try {
      const info = await this.runtime.info();
      this.runtimeVersion = `${info.name}://${info.version}`;
    } catch (e) {
      runtimeOk = false;
      runtimeMessage = `container runtime is down: ${(e as Error).message}`;
      this.logger.warn({ err: runtimeMessage }, 'runtime not reachable');
    }
    const memPressure = availableMemoryBytes() < 0.05 * this.opts.facts.memoryBytes;
    const diskPressure = freeDiskFraction(this.opts.dataDir) < 0.1;
    const make = (type: string, ok: boolean, reason: string, message: string): NodeCondition => {
      const status = ok ? 'True' : 'False';
      const prev = previous.find((c) => c.type === type);
      return { type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: prev?.status === status ? prev.lastTransitionTime : now };
    };
    return [
      make('Ready', runtimeOk, runtimeOk ? 'KernletReady' : 'RuntimeDown', runtimeMessage),
      make('MemoryPressure', memPressure, memPressure ? 'LowMemory' : 'SufficientMemory', memPressure ? 'less than 5% of memory is available' : 'memory is sufficient'),
      make('DiskPressure', diskPressure, diskPressure ? 'LowDisk' : 'NoDiskPressure', diskPressure ? 'less than 10% of the data disk is free' : 'disk space is sufficient'),
    ];
  }
}

function strip(conditions: NodeCondition[]): unknown {
  return conditions.map(({ type, status, reason }) => ({ type, status, reason }));
}

function subtractReserved(capacity: Record<string, string>, reserved: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  if (reserved.cpu && capacity.cpu) {
    out.cpu = `${Math.max(0, parseCpuMillis(capacity.cpu, 'capacity.cpu') - parseCpuMillis(reserved.cpu, 'reserved.cpu'))}m`;
  }
  if (reserved.memory && capacity.memory) {
    const bytes = parseMemoryBytes(capacity.memory, 'capacity.memory') - parseMemoryBytes(reserved.memory, 'reserved.memory');
    out.memory = `${Math.max(0, Math.floor(bytes / 1024))}Ki`;
  }
  return out;
}
