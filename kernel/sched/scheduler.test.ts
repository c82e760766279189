import { KernObject, Node, Pod, Syscalls, TAINT_NODE_UNREACHABLE, Toleration } from '@kern/sdk';
import { ApiTestContext, createApiTestContext } from '../../test/helpers/api-test-context';
import { NodeLifecycleController } from './node-lifecycle-controller';
import { Scheduler } from './scheduler';
import { registerSchedulerSyscalls } from './scheduler-syscalls';

function node(name: string, cpu = '4', memory = '8Gi', labels: Record<string, string> = {}): Node {
  return {
    apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } }, spec: {},
    status: { allocatable: { cpu, memory, pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

function pod(name: string, o: { cpu?: string; memory?: string; labels?: Record<string, string>; priority?: number; spec?: Partial<Pod['spec']> } = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: o.labels },
    spec: {
      containers: [{ name: 'main', image: 'busybox', resources: { requests: { ...(o.cpu ? { cpu: o.cpu } : {}), ...(o.memory ? { memory: o.memory } : {}) } } }],
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      ...o.spec,
    } as Pod['spec'],
  };
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Scheduler', () => {
  let ctx: ApiTestContext;
  let sys: Syscalls;
  let scheduler: Scheduler;
  const create = (o: KernObject) => sys.call('state.create', { object: o });
  const getPod = (name: string) => sys.call('state.get', { kind: 'Pod', namespace: 'default', name }) as Promise<Pod>;

  /** Two pods of 1 CPU, priorities 1 and 2, bound on a node of 2 CPU named "only". */
  const fillWithLowPriorityPods = async () => {
    await create(pod('low-1', { cpu: '1', priority: 1 }));
    await create(pod('low-2', { cpu: '1', priority: 2 }));
    await until('low pods bound', async () => (await getPod('low-1')).spec?.nodeName && (await getPod('low-2')).spec?.nodeName);
  };

  /**
   * Node "only" full of low-priority pods, under a scheduler with a long
   * back-off, so a preemptor stays nominated (not bound) for seconds.
   */
  const startFullWithSlowBackoff = async () => {
    scheduler = new Scheduler(ctx.syscalls.handleFor('kernel:scheduler', ['state.*']), ctx.logger, undefined, { queue: { initialBackoffMs: 3000, maxBackoffMs: 3000 } });
    await create(node('only', '2', '4Gi'));
    await scheduler.start();
    await fillWithLowPriorityPods();
  };

  /** The pod once it carries PodScheduled=False. */
  const untilUnschedulable = (name: string) => until(`${name} found unschedulable`, async () => {
    const p = await getPod(name);
    return p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False') && p;
  });

  beforeEach(async () => {
    ctx = await createApiTestContext();
    sys = ctx.syscalls.handleFor('test', ['*']);
    scheduler = new Scheduler(ctx.syscalls.handleFor('kernel:scheduler', ['state.*']), ctx.logger, undefined, { queue: { initialBackoffMs: 100, maxBackoffMs: 500 } });
  });

  afterEach(async () => {
    await scheduler.stop();
    await ctx.cleanup();
  });

  it('spreads 10 pods over the nodes by free resources', async () => {
    for (const n of ['n1', 'n2', 'n3', 'n4', 'n5']) await create(node(n));
    await scheduler.start();
    for (let i = 0; i < 10; i++) await create(pod(`p${i}`, { cpu: '500m', memory: '512Mi' }));
    const placed = await until('10 bound pods', async () => {
      const list = (await sys.call('state.list', { kind: 'Pod', namespace: 'default' })).items as Pod[];
      return list.every((p) => p.spec?.nodeName) && list.length === 10 && list;
    });
    const perNode = new Map<string, number>();
    for (const p of placed) perNode.set(p.spec!.nodeName!, (perNode.get(p.spec!.nodeName!) ?? 0) + 1);
    expect([...perNode.values()].sort()).toEqual([2, 2, 2, 2, 2]);
  });

  it('keeps two pods with required anti-affinity apart', async () => {
    await create(node('a'));
    await create(node('b'));
    await scheduler.start();
    const anti = {
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' }] } },
    };
    await create(pod('db-1', { labels: { app: 'db' }, spec: anti }));
    const first = await until('db-1 bound', async () => (await getPod('db-1')).spec?.nodeName);
    await create(pod('db-2', { labels: { app: 'db' }, spec: anti }));
    const second = await until('db-2 bound', async () => (await getPod('db-2')).spec?.nodeName);
    expect(second).not.toBe(first);
    await create(pod('db-3', { labels: { app: 'db' }, spec: anti }));
    const cond = await until('db-3 unschedulable', async () => (await getPod('db-3')).status?.conditions?.find((c) => c.type === 'PodScheduled'));
    expect(cond.message).toBe("0/2 nodes are available: 2 nodes: didn't match pod anti-affinity rules.");
  });

  it('explains why a too-large pod fits nowhere, in its condition and an event', async () => {
    await create(node('s1', '1', '1Gi'));
    await create(node('s2', '1', '1Gi'));
    await create(node('big', '8', '2Gi'));
    await scheduler.start();
    await create(pod('huge', { cpu: '2', memory: '4Gi' }));
    const cond = await until('PodScheduled=False', async () => (await getPod('huge')).status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False'));
    expect(cond.reason).toBe('Unschedulable');
    expect(cond.message).toBe('0/3 nodes are available: 3 nodes: insufficient memory, 2 nodes: insufficient cpu.');
    const events = await until('a FailedScheduling event', async () => {
      const items = (await sys.call('state.list', { kind: 'Event', namespace: 'default' })).items as unknown as { reason: string; message: string; involvedObject: { name: string } }[];
      return items.length > 0 && items;
    });
    expect(events[0]).toMatchObject({ reason: 'FailedScheduling', message: cond.message, involvedObject: { name: 'huge' } });
  });

  it('does not bind a pod re-created under the same name while its bind was in flight', async () => {
    await scheduler.stop();
    // The scheduler's first bind finds the pod replaced by a bigger one of the same name.
    const inner = ctx.syscalls.handleFor('kernel:scheduler', ['state.*']);
    let raced = false;
    const racing: Syscalls = Object.assign(Object.create(inner) as Syscalls, {
      call: async (name: string, args: unknown) => {
        const object = (args as { object?: Pod }).object;
        if (name === 'state.update' && object?.metadata.name === 'swapped' && object.spec?.nodeName && !raced) {
          raced = true;
          await sys.call('state.delete', { kind: 'Pod', namespace: 'default', name: 'swapped' });
          await create(pod('swapped', { cpu: '3' }));
        }
        return inner.call(name as never, args as never);
      },
    });
    scheduler = new Scheduler(racing, ctx.logger, undefined, { queue: { initialBackoffMs: 100, maxBackoffMs: 500 } });
    await create(node('small', '1', '4Gi'));
    await scheduler.start();
    await create(pod('swapped', { cpu: '500m' }));
    const waiting = await untilUnschedulable('swapped');
    expect(raced).toBe(true);
    expect(waiting.spec?.nodeName).toBeUndefined();
    expect(waiting.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message).toMatch(/Insufficient cpu/i);
  });

  it('serves sched.explain, sched.bind and sched.submit', async () => {
    const disposables = registerSchedulerSyscalls(ctx.syscalls, scheduler);
    try {
      await create(node('x1', '1', '1Gi'));
      await create(node('x2', '4', '8Gi'));
      await scheduler.start();
      const ex = await sys.call('sched.explain', { pod: pod('what-if', { cpu: '2' }) });
      expect(ex.nodeName).toBe('x2');
      expect(ex.nodes.find((n) => n.node === 'x1')).toMatchObject({ verdict: 'Unschedulable', reasons: ['insufficient cpu'] });
      const submitted = await sys.call('sched.submit', { pod: pod('sub', { cpu: '2' }), timeoutSeconds: 20 });
      expect(submitted).toMatchObject({ outcome: 'Scheduled', nodeName: 'x2' });
      const never = await sys.call('sched.submit', { pod: pod('never', { cpu: '64' }), timeoutSeconds: 20 });
      expect(never.outcome).toBe('Unschedulable');
      expect(never.message).toContain('insufficient cpu');
      await expect(sys.call('sched.bind', { namespace: 'default', name: 'never', nodeName: 'x1' })).rejects.toMatchObject({ kind: 'FailedPrecondition' });
    } finally {
      for (const d of disposables) await d.dispose();
    }
  });

  it('preempts lower-priority pods so a high-priority pod fits', async () => {
    await create(node('only', '2', '4Gi'));
    await create({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'high' }, value: 1000 } as KernObject);
    await scheduler.start();
    await fillWithLowPriorityPods();
    await create(pod('vip', { cpu: '1', spec: { priorityClassName: 'high' } }));
    const bound = await until('vip bound', async () => (await getPod('vip')).spec?.nodeName, 30_000);
    expect(bound).toBe('only');
    // only the lowest-priority pod had to go
    await expect(getPod('low-1')).rejects.toMatchObject({ kind: 'NotFound' });
    expect((await getPod('low-2')).spec?.nodeName).toBe('only');
    expect((await getPod('vip')).status?.nominatedNodeName).toBe('only');
  });

  it('keeps the room a preemption made for the preemptor, not for a lower-priority pod that comes first', async () => {
    await startFullWithSlowBackoff();
    await create(pod('vip', { cpu: '1', priority: 1000 }));
    await until('vip nominated', async () => (await getPod('vip')).status?.nominatedNodeName === 'only');
    await create(pod('sneaky', { cpu: '1', priority: 1 }));
    const waiting = await untilUnschedulable('sneaky');
    expect(waiting.spec?.nodeName).toBeUndefined();
    expect(await until('vip bound', async () => (await getPod('vip')).spec?.nodeName, 30_000)).toBe('only');
    expect((await getPod('sneaky')).spec?.nodeName).toBeUndefined();
  });

  it('preempts a lower-priority pod whose anti-affinity (or its own) is what keeps a high-priority pod out', async () => {
    const antiTo = (group: string) => ({
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { group } }, topologyKey: 'kubernetes.io/hostname' }] } },
    });
    await create(node('only', '8', '16Gi'));
    await scheduler.start();
    // Room enough for all; only anti-affinity is in the way. "shy" keeps
    // group=vip away from itself; "vip-2" keeps away from group=low.
    await create(pod('shy', { cpu: '1', priority: 1, spec: antiTo('vip') }));
    await create(pod('low', { cpu: '1', priority: 1, labels: { group: 'low' } }));
    await create(pod('bystander', { cpu: '1', priority: 1 }));
    await until('low pods bound', async () => (await getPod('shy')).spec?.nodeName && (await getPod('low')).spec?.nodeName && (await getPod('bystander')).spec?.nodeName);

    await create(pod('vip-1', { cpu: '1', priority: 1000, labels: { group: 'vip' } }));
    expect(await until('vip-1 bound', async () => (await getPod('vip-1')).spec?.nodeName, 30_000)).toBe('only');
    await expect(getPod('shy')).rejects.toMatchObject({ kind: 'NotFound' });

    await create(pod('vip-2', { cpu: '1', priority: 1000, spec: antiTo('low') }));
    expect(await until('vip-2 bound', async () => (await getPod('vip-2')).spec?.nodeName, 30_000)).toBe('only');
    await expect(getPod('low')).rejects.toMatchObject({ kind: 'NotFound' });
    // the minimum set: a pod in nobody's way stays
    expect((await getPod('bystander')).spec?.nodeName).toBe('only');
  });

  it('does not preempt for a pod whose affinity only a nominated, not yet bound pod would satisfy', async () => {
    await startFullWithSlowBackoff();
    await create(pod('cache', { cpu: '1', priority: 1000, labels: { app: 'cache' } }));
    await until('cache nominated', async () => (await getPod('cache')).status?.nominatedNodeName === 'only');
    await create(pod('needs-cache', {
      cpu: '1', priority: 500,
      spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: 'kubernetes.io/hostname' }] } } },
    }));
    const waiting = await untilUnschedulable('needs-cache');
    expect(waiting.status?.nominatedNodeName).toBeUndefined();
    // low-2 was not evicted for it (cache is not running yet, so the affinity is not met)
    expect((await getPod('low-2')).metadata.deletionTimestamp).toBeUndefined();
  });

  it('two preemptors of the same priority each make their own room (neither waits on the other\'s nomination)', async () => {
    await create(node('only', '2', '4Gi'));
    await scheduler.start();
    await fillWithLowPriorityPods();
    await create(pod('vip-1', { cpu: '1', priority: 1000 }));
    await create(pod('vip-2', { cpu: '1', priority: 1000 }));
    await until('both vips bound', async () => (await getPod('vip-1')).spec?.nodeName && (await getPod('vip-2')).spec?.nodeName, 30_000);
    await expect(getPod('low-1')).rejects.toMatchObject({ kind: 'NotFound' });
    await expect(getPod('low-2')).rejects.toMatchObject({ kind: 'NotFound' });
  });

  it('marks a node with a stale lease NotReady, fails its pods, and restores it when the lease renews', async () => {
    const lifecycle = new NodeLifecycleController(ctx.syscalls.handleFor('kernel:node-lifecycle', ['state.*']), ctx.logger, { nodeLossGraceSeconds: 0.5, monitorPeriodMs: 100 });
    try {
      await create(node('gone'));
      await create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kern-node-lease' } });
      const lease = (renewTime: string) => ({
        apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'gone', namespace: 'kern-node-lease' },
        spec: { holderIdentity: 'gone', leaseDurationSeconds: 1, renewTime },
      });
      await sys.call('state.apply', { object: lease(new Date(Date.now() - 60_000).toISOString()) });
      await create({ ...pod('victim'), spec: { ...pod('victim').spec!, nodeName: 'gone' } });
      // a pod tolerating the unreachable taint stays, as a DaemonSet's do
      await create({ ...pod('keeper'), spec: { ...pod('keeper').spec!, nodeName: 'gone', tolerations: [{ key: TAINT_NODE_UNREACHABLE, operator: 'Exists', effect: 'NoExecute' }] } });
      await lifecycle.start();
      const getNode = () => sys.call('state.get', { kind: 'Node', name: 'gone' }) as Promise<Node>;
      const n = await until('node NotReady', async () => {
        const x = await getNode();
        return x.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'Unknown' && x.spec?.taints?.some((t) => t.key === TAINT_NODE_UNREACHABLE) && x;
      });
      expect(n.spec?.taints).toEqual([expect.objectContaining({ key: TAINT_NODE_UNREACHABLE, effect: 'NoExecute' })]);
      const failed = await until('pod Failed', async () => { const p = await getPod('victim'); return p.status?.phase === 'Failed' && p; });
      expect(failed.status?.reason).toBe('NodeLost');
      expect((await getPod('keeper')).status?.phase).not.toBe('Failed');
      await sys.call('state.apply', { object: lease(new Date(Date.now() + 60_000).toISOString()) });
      const back = await until('node Ready again', async () => {
        const x = await getNode();
        return x.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && !x.spec?.taints?.length && x;
      });
      expect(back.metadata.name).toBe('gone');
    } finally {
      await lifecycle.stop();
    }
  });

  it('evicts for a NoExecute taint: at once without a toleration, after tolerationSeconds with one, never with one without seconds', async () => {
    const lifecycle = new NodeLifecycleController(ctx.syscalls.handleFor('kernel:node-lifecycle', ['state.*']), ctx.logger, { monitorPeriodMs: 100 });
    try {
      await create(node('db'));
      const onDb = (name: string, tolerations: Toleration[]) => create({ ...pod(name), spec: { ...pod(name).spec!, nodeName: 'db', tolerations } });
      await onDb('plain', []);
      await onDb('brief', [{ key: 'dedicated', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 2 }]);
      await onDb('forever', [{ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }]);
      await lifecycle.start();
      const db = (await sys.call('state.get', { kind: 'Node', name: 'db' })) as Node;
      const taintedAt = Date.now();
      await sys.call('state.update', { object: { ...db, spec: { ...db.spec, taints: [{ key: 'dedicated', value: 'db', effect: 'NoExecute' }] } } as KernObject });
      const gone = (name: string) => getPod(name).then(() => false, (e) => e.kind === 'NotFound');
      type Ev = { reason: string; firstTimestamp: string; involvedObject: { name: string } };
      // the event is recorded right after the delete
      const evicted = async (name: string) => ((await sys.call('state.list', { kind: 'Event', namespace: 'default' })).items as unknown as Ev[])
        .find((e) => e.reason === 'TaintManagerEviction' && e.involvedObject.name === name);
      await until('plain evicted', async () => await gone('plain') && evicted('plain'));
      const brief = await until('brief evicted', async () => await gone('brief') && evicted('brief'));
      // not before its 2 s were up
      expect(Date.parse(brief.firstTimestamp) - taintedAt).toBeGreaterThanOrEqual(2000 - 50);
      expect(await evicted('forever')).toBeUndefined();
      expect((await getPod('forever')).spec?.nodeName).toBe('db');
    } finally {
      await lifecycle.stop();
    }
  });
});
