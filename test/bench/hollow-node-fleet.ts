/**
 * Hollow nodes (as Kubernetes' kubemark has them): a TEST DRIVER that
 * registers many simulated Nodes through the HTTP API, renews their Leases,
 * and reports the pods bound to them as Running without starting anything.
 * Thousands fit in one process. Never loaded by Kern itself.
 */
import { Agent, request } from 'node:http';
import { onJsonLines } from '@kern/sdk';

export interface FleetOptions {
  server: string;
  token: string;
  count: number;
  prefix: string;
  /** Zones the nodes are spread over (label topology.kubernetes.io/zone). */
  zones: number;
  capacity: { cpu: string; memory: string; pods: string };
  /** Lease renewal period; renewals are spread over it. */
  heartbeatSeconds: number;
  /** Report bound pods as Running (one status write each). */
  reportRunning: boolean;
}

interface Reply { status: number; body: string }

/** A keep-alive JSON client with bounded concurrency. */
export class ApiClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });
  private readonly url: URL;

  constructor(server: string, private readonly token: string) {
    this.url = new URL(server);
  }

  send(method: string, path: string, body?: unknown): Promise<Reply> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((ok, fail) => {
      const req = request({
        host: this.url.hostname, port: this.url.port, agent: this.agent, method, path,
        headers: { authorization: `Bearer ${this.token}`, ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { text += c; });
        res.on('end', () => ok({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', fail);
      req.end(data);
    });
  }

  /** A watch: calls `onEvent` per NDJSON event; returns a function that ends it. */
  watch(path: string, onEvent: (e: { type: string; object: any }) => void): () => void {
    const req = request({ host: this.url.hostname, port: this.url.port, agent: false, method: 'GET', path, headers: { authorization: `Bearer ${this.token}` } }, (res) => {
      onJsonLines(res, (v) => onEvent(v as { type: string; object: any }));
    });
    req.on('error', () => undefined);
    req.end();
    return () => req.destroy();
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

export class HollowNodeFleet {
  readonly names: string[];
  private readonly client: ApiClient;
  private readonly mine: Set<string>;
  private stopWatch?: () => void;
  private timer?: NodeJS.Timeout;
  private readonly reported = new Set<string>();
  private pendingReports: any[] = [];
  private reporting = false;
  private stopped = false;

  constructor(private readonly opts: FleetOptions) {
    this.names = Array.from({ length: opts.count }, (_, i) => `${opts.prefix}-${String(i).padStart(5, '0')}`);
    this.mine = new Set(this.names);
    this.client = new ApiClient(opts.server, opts.token);
  }

  /** Registers every node (Ready) and its Lease, then keeps the Leases fresh. */
  async start(): Promise<void> {
    await this.client.send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kern-node-lease' } });
    const now = new Date().toISOString();
    await inParallel(this.names, 8, async (name, ) => {
      const i = Number(name.slice(name.lastIndexOf('-') + 1));
      const node = {
        apiVersion: 'v1', kind: 'Node',
        metadata: { name, labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': `zone-${i % this.opts.zones}`, 'kern.io/hollow': 'true' } },
        spec: {},
        status: {
          capacity: this.opts.capacity, allocatable: this.opts.capacity,
          conditions: [{ type: 'Ready', status: 'True', reason: 'HollowNodeReady', lastHeartbeatTime: now, lastTransitionTime: now }],
        },
      };
      const r = await this.client.send('POST', '/api/v1/nodes', node);
      if (r.status !== 201 && r.status !== 409) throw new Error(`node ${name}: HTTP ${r.status} ${r.body}`);
      await this.renew(name);
    });
    const perTick = Math.max(1, Math.ceil(this.names.length / (this.opts.heartbeatSeconds * 10)));
    let cursor = 0;
    this.timer = setInterval(() => {
      for (let k = 0; k < perTick; k++) {
        void this.renew(this.names[cursor]).catch(() => undefined);
        cursor = (cursor + 1) % this.names.length;
      }
    }, 100);
    if (this.opts.reportRunning) {
      this.stopWatch = this.client.watch('/api/v1/pods?watch=true', (e) => {
        const pod = e.object;
        if (e.type === 'DELETED' || !this.mine.has(pod?.spec?.nodeName) || this.reported.has(pod.metadata.uid)) return;
        this.reported.add(pod.metadata.uid);
        this.pendingReports.push(pod);
        void this.drainReports();
      });
    }
  }

  private async renew(name: string): Promise<void> {
    await this.client.send('PUT', `/apis/coordination.k8s.io/v1/namespaces/kern-node-lease/leases/${name}`, {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: 'kern-node-lease' },
      spec: { holderIdentity: name, leaseDurationSeconds: this.opts.heartbeatSeconds * 4, renewTime: new Date().toISOString() },
    }).then(async (r) => {
      if (r.status === 404) {
        await this.client.send('POST', '/apis/coordination.k8s.io/v1/namespaces/kern-node-lease/leases', {
          apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: 'kern-node-lease' },
          spec: { holderIdentity: name, leaseDurationSeconds: this.opts.heartbeatSeconds * 4, renewTime: new Date().toISOString() },
        });
      }
    });
  }

  /** Writes Running status for bound pods, a few at a time. */
  private async drainReports(): Promise<void> {
    if (this.reporting) return;
    this.reporting = true;
    try {
      while (this.pendingReports.length && !this.stopped) {
        const batch = this.pendingReports.splice(0, 64);
        await inParallel(batch, 4, async (pod) => {
          if (this.stopped) return;
          const now = new Date().toISOString();
          const status = {
            phase: 'Running', startTime: now, hostIP: '127.0.0.1',
            conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'True', lastTransitionTime: now }],
            containerStatuses: (pod.spec.containers ?? []).map((c: any) => ({ name: c.name, image: c.image, ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } } })),
          };
          await this.client.send('PUT', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/status`, { ...pod, metadata: { ...pod.metadata, resourceVersion: undefined }, status });
        });
      }
    } catch (e) {
      // A report cut off by stop() (the kernel is going away) is expected.
      if (!this.stopped) throw e;
    } finally {
      this.reporting = false;
    }
  }

  /** Stops renewing and reporting; reports still queued are dropped. */
  stop(): void {
    this.stopped = true;
    this.pendingReports = [];
    if (this.timer) clearInterval(this.timer);
    this.stopWatch?.();
    this.client.close();
  }
}
