import { Node, Pod, SchedReasons, SchedulerHandle, SchedulingPlugin, StatusCode, podRequests } from '@kern/sdk';
import { MapCycleState, numFeasibleNodesToFind, unschedulableMessage } from '../framework-runtime';
import { NodeInfoImpl } from '../node-info';
import { SchedulerCache } from '../scheduler-cache';
import { InterPodAffinity } from './inter-pod-affinity';
import { NodeAffinity } from './node-affinity';
import { NodeName } from './node-name';
import { NodeResourcesBalancedAllocation, NodeResourcesFit, NodeResourcesLeastAllocated } from './node-resources';
import { NodeUnschedulable } from './node-unschedulable';
import { PodTopologySpread } from './pod-topology-spread';
import { RuntimeClass } from './runtime-class';
import { TaintToleration } from './taint-toleration';

function node(name: string, o: { labels?: Record<string, string>; cpu?: string; memory?: string; spec?: Node['spec']; ready?: 'True' | 'False' } = {}): Node {
  return {
    apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } }, spec: o.spec ?? {},
    status: { allocatable: { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: '110' }, conditions: [{ type: 'Ready', status: o.ready ?? 'True' }] },
  };
}

function pod(name: string, spec: Partial<Pod['spec']> = {}, labels?: Record<string, string>, cpu?: string, memory?: string): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels },
    spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) } } }], ...spec } as Pod['spec'],
  };
}

function cluster(nodes: Node[], placed: [string, Pod][] = []): { infos: NodeInfoImpl[]; handle: SchedulerHandle } {
  // through the cache, as the scheduler keeps it (terminal pods are not counted)
  const cache = new SchedulerCache();
  nodes.forEach((n) => cache.setNode(n));
  for (const [n, p] of placed) cache.setPod({ ...p, spec: { ...p.spec!, nodeName: n } });
  const infos = cache.list() as NodeInfoImpl[];
  const handle: SchedulerHandle = {
    nodes: { list: () => infos, get: (name) => infos.find((i) => i.name === name) },
    podPriority: (p) => p.spec?.priority ?? 0,
    podRequests,
    evict: async () => undefined,
  };
  return { infos, handle };
}

/** Runs preFilter + filter of one plugin over each node: node name → code. */
function filterAll(plugin: SchedulingPlugin, p: Pod, nodes: Node[], placed: [string, Pod][] = []): Record<string, StatusCode | string> {
  const { infos, handle } = cluster(nodes, placed);
  const state = new MapCycleState();
  const pre = plugin.preFilter?.(state, p, handle);
  const out: Record<string, string> = {};
  for (const info of infos) {
    const s = pre?.code === 'Skip' ? { code: 'Success' as const, reasons: [] } : plugin.filter!(state, p, info, handle);
    out[info.name] = s.code === 'Success' ? 'Success' : `${s.code}: ${s.reasons.join(', ')}`;
  }
  return out;
}

function scoreAll(plugin: SchedulingPlugin, p: Pod, nodes: Node[], placed: [string, Pod][] = []): Record<string, number> {
  const { infos, handle } = cluster(nodes, placed);
  const state = new MapCycleState();
  plugin.preFilter?.(state, p, handle);
  if (plugin.preScore && plugin.preScore(state, p, infos, handle).code === 'Skip') return {};
  const scores = new Map(infos.map((i) => [i.name, plugin.score!(state, p, i, handle)]));
  plugin.normalize?.(state, p, scores);
  return Object.fromEntries(scores);
}

const U = 'UnschedulableAndUnresolvable';

describe('filter plugins', () => {
  it.each<[string, SchedulingPlugin, Pod, Node[], [string, Pod][], Record<string, string>]>([
    ['NodeName matches', new NodeName(), pod('p', { nodeName: 'b' }), [node('a'), node('b')], [], { a: `${U}: ${SchedReasons.NodeNameMismatch}`, b: 'Success' }],
    ['NodeUnschedulable cordoned', new NodeUnschedulable(), pod('p'), [node('a', { spec: { unschedulable: true } }), node('b')], [], { a: `${U}: ${SchedReasons.NodeUnschedulable}`, b: 'Success' }],
    ['NodeUnschedulable tolerated', new NodeUnschedulable(), pod('p', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists' }] }), [node('a', { spec: { unschedulable: true } })], [], { a: 'Success' }],
    ['NodeUnschedulable not ready', new NodeUnschedulable(), pod('p'), [node('a', { ready: 'False' })], [], { a: `${U}: ${SchedReasons.NodeNotReady}` }],
    ['NodeResourcesFit cpu and memory', new NodeResourcesFit(), pod('p', {}, undefined, '3', '6Gi'), [node('a'), node('b')], [['a', pod('x', {}, undefined, '2', '4Gi')]],
      { a: `Unschedulable: ${SchedReasons.InsufficientCpu}, ${SchedReasons.InsufficientMemory}`, b: 'Success' }],
    ['NodeResourcesFit ignores terminal pods', new NodeResourcesFit(), pod('p', {}, undefined, '3'), [node('a')], [['a', { ...pod('x', {}, undefined, '2'), status: { phase: 'Succeeded' } }]], { a: 'Success' }],
    ['RuntimeClass named runtime', new RuntimeClass(), pod('p', { runtimeClassName: 'raw-exec' }),
      [node('a', { labels: { 'kern.io/runtime': 'docker' } }), node('b', { labels: { 'kern.io/runtime': 'raw-exec', 'kern.io/runtime-dedicated': 'true' } }), node('c')], [],
      { a: `${U}: ${SchedReasons.RuntimeClassMismatch}`, b: 'Success', c: `${U}: ${SchedReasons.RuntimeClassMismatch}` }],
    ['RuntimeClass default keeps off dedicated nodes', new RuntimeClass(), pod('p'),
      [node('a', { labels: { 'kern.io/runtime': 'docker' } }), node('b', { labels: { 'kern.io/runtime': 'raw-exec', 'kern.io/runtime-dedicated': 'true' } }), node('c')], [],
      { a: 'Success', b: `${U}: ${SchedReasons.RuntimeClassMismatch}`, c: 'Success' }],
    ['nodeSelector', new NodeAffinity(), pod('p', { nodeSelector: { disk: 'ssd' } }), [node('a', { labels: { disk: 'ssd' } }), node('b')], [], { a: 'Success', b: `${U}: ${SchedReasons.NodeSelectorMismatch}` }],
    ...(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'] as const).map((op): [string, SchedulingPlugin, Pod, Node[], [string, Pod][], Record<string, string>] => {
      const values = op === 'Gt' ? ['4'] : op === 'Lt' ? ['8'] : op === 'In' || op === 'NotIn' ? ['6'] : undefined;
      const p = pod('p', { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'cores', operator: op, values }] }] } } } });
      const ok = { In: 'six', NotIn: 'none', Exists: 'six', DoesNotExist: 'none', Gt: 'six', Lt: 'six' }[op];
      const nodes = [node('six', { labels: { cores: '6' } }), node('none')];
      const expected: Record<string, string> = {};
      for (const n of ['six', 'none']) expected[n] = n === ok ? 'Success' : `${U}: ${SchedReasons.NodeSelectorMismatch}`;
      return [`node affinity ${op}`, new NodeAffinity(), p, nodes, [], expected];
    }),
    ['TaintToleration NoSchedule', new TaintToleration(), pod('p'), [node('a', { spec: { taints: [{ key: 'gpu', value: 'yes', effect: 'NoSchedule' }] } }), node('b')], [],
      { a: `${U}: ${SchedReasons.UntoleratedTaint} {gpu: yes}`, b: 'Success' }],
    ['TaintToleration tolerated NoExecute', new TaintToleration(), pod('p', { tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }] }),
      [node('a', { spec: { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] } })], [], { a: 'Success' }],
    ['TaintToleration PreferNoSchedule does not filter', new TaintToleration(), pod('p'), [node('a', { spec: { taints: [{ key: 'k', effect: 'PreferNoSchedule' }] } })], [], { a: 'Success' }],
    ['required pod affinity by zone', new InterPodAffinity(),
      pod('p', { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: 'zone' }] } } }),
      [node('a', { labels: { zone: 'z1' } }), node('b', { labels: { zone: 'z1' } }), node('c', { labels: { zone: 'z2' } })], [['a', pod('cache', {}, { app: 'cache' })]],
      { a: 'Success', b: 'Success', c: `${U}: ${SchedReasons.PodAffinityMismatch}` }],
    ['required anti-affinity by host', new InterPodAffinity(),
      pod('p', { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' }] } } }),
      [node('a'), node('b')], [['a', pod('db', {}, { app: 'db' })]], { a: `Unschedulable: ${SchedReasons.PodAntiAffinityMismatch}`, b: 'Success' }],
    ['existing pods anti-affinity (symmetry)', new InterPodAffinity(), pod('p', {}, { app: 'web' }), [node('a'), node('b')],
      [['a', pod('lonely', { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' }] } } })]],
      { a: `Unschedulable: ${SchedReasons.ExistingPodsAntiAffinityMismatch}`, b: 'Success' }],
    ['topology spread DoNotSchedule', new PodTopologySpread(),
      pod('p', { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'w' } } }] }, { app: 'w' }),
      [node('a', { labels: { zone: 'z1' } }), node('b', { labels: { zone: 'z2' } }), node('c')], [['a', pod('w1', {}, { app: 'w' })]],
      { a: `Unschedulable: ${SchedReasons.TopologySpreadMismatch}`, b: 'Success', c: `${U}: ${SchedReasons.TopologySpreadMissingLabel}` }],
  ])('%s', (_name, plugin, p, nodes, placed, expected) => {
    expect(filterAll(plugin, p, nodes, placed)).toEqual(expected);
  });
});

describe('preFilter extensions (what-if pods for preemption and nominations)', () => {
  const antiTo = (app: string): Partial<Pod['spec']> => ({
    affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app } }, topologyKey: 'kubernetes.io/hostname' }] } },
  });
  const spread = (app: string): Partial<Pod['spec']> => ({
    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app } } }],
  });

  /** preFilter over the cluster, then `change` of `other` on node `on` in a clone; the filter code on that node before and after, and on the original state after. */
  function whatIf(plugin: SchedulingPlugin, p: Pod, nodes: Node[], placed: [string, Pod][], change: 'add' | 'remove', other: Pod, on: string) {
    const { infos, handle } = cluster(nodes, placed);
    const info = infos.find((i) => i.name === on)!;
    const state = new MapCycleState();
    plugin.preFilter!(state, p, handle);
    const before = plugin.filter!(state, p, info, handle).code;
    const trial = state.clone();
    const ext = plugin.preFilterExtensions!;
    expect((change === 'add' ? ext.addPod : ext.removePod)(trial, p, other, info, handle).code).toBe('Success');
    return { before, after: plugin.filter!(trial, p, info, handle).code, original: plugin.filter!(state, p, info, handle).code };
  }

  it('InterPodAffinity: removing the pod its anti-affinity selects lets the pod in; the cycle state is left as it was', () => {
    const db = pod('db', {}, { app: 'db' });
    expect(whatIf(new InterPodAffinity(), pod('p', antiTo('db')), [node('a')], [['a', db]], 'remove', db, 'a'))
      .toEqual({ before: 'Unschedulable', after: 'Success', original: 'Unschedulable' });
  });

  it('InterPodAffinity: removing an existing pod whose anti-affinity selects the pod lets it in (symmetry)', () => {
    const lonely = pod('lonely', antiTo('web'));
    expect(whatIf(new InterPodAffinity(), pod('p', {}, { app: 'web' }), [node('a')], [['a', lonely]], 'remove', lonely, 'a'))
      .toEqual({ before: 'Unschedulable', after: 'Success', original: 'Unschedulable' });
  });

  it('InterPodAffinity: adding a nominated pod with anti-affinity to the pod keeps it out', () => {
    // (as in kube-scheduler, only a plugin whose preFilter did not skip is asked: here the pod has terms of its own)
    expect(whatIf(new InterPodAffinity(), pod('p', antiTo('db'), { app: 'web' }), [node('a')], [], 'add', pod('nominee', antiTo('web')), 'a'))
      .toEqual({ before: 'Success', after: 'Unschedulable', original: 'Success' });
  });

  it('InterPodAffinity: required affinity is met by a pod added to the node, and lost when the only match is removed', () => {
    const affinity: Partial<Pod['spec']> = {
      affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: 'zone' }] } },
    };
    const nodes = [node('a', { labels: { zone: 'z1' } }), node('b', { labels: { zone: 'z2' } })];
    const cache = pod('cache', {}, { app: 'cache' });
    expect(whatIf(new InterPodAffinity(), pod('p', affinity), nodes, [['a', cache]], 'add', pod('cache-2', {}, { app: 'cache' }), 'b'))
      .toMatchObject({ before: 'UnschedulableAndUnresolvable', after: 'Success' });
    // with its only match gone, no pod matches the term anywhere: the pod does not match its own term, so it fits nowhere
    expect(whatIf(new InterPodAffinity(), pod('p', affinity), nodes, [['a', cache]], 'remove', cache, 'a'))
      .toMatchObject({ before: 'Success', after: 'UnschedulableAndUnresolvable' });
  });

  it('PodTopologySpread: counts a removed or added matching pod in its zone', () => {
    const nodes = [node('a', { labels: { zone: 'z1' } }), node('b', { labels: { zone: 'z2' } })];
    const w1 = pod('w1', {}, { app: 'w' });
    expect(whatIf(new PodTopologySpread(), pod('p', spread('w'), { app: 'w' }), nodes, [['a', w1]], 'remove', w1, 'a'))
      .toEqual({ before: 'Unschedulable', after: 'Success', original: 'Unschedulable' });
    expect(whatIf(new PodTopologySpread(), pod('p', spread('w'), { app: 'w' }), nodes, [], 'add', pod('w2', {}, { app: 'w' }), 'a'))
      .toEqual({ before: 'Success', after: 'Unschedulable', original: 'Success' });
    // a pod of another namespace does not count
    const other = { ...pod('w3', {}, { app: 'w' }), metadata: { name: 'w3', namespace: 'other', labels: { app: 'w' } } };
    expect(whatIf(new PodTopologySpread(), pod('p', spread('w'), { app: 'w' }), nodes, [], 'add', other, 'a').after).toBe('Success');
  });
});

describe('score plugins', () => {
  it.each<[string, SchedulingPlugin, Pod, Node[], [string, Pod][], (s: Record<string, number>) => void]>([
    ['LeastAllocated prefers the emptier node', new NodeResourcesLeastAllocated(), pod('p', {}, undefined, '1', '1Gi'), [node('a'), node('b')], [['a', pod('x', {}, undefined, '2', '4Gi')]],
      (s) => expect(s.b).toBeGreaterThan(s.a)],
    ['BalancedAllocation prefers balanced use', new NodeResourcesBalancedAllocation(), pod('p', {}, undefined, '1', '2Gi'), [node('a'), node('b')], [['a', pod('x', {}, undefined, '2')]],
      (s) => expect(s.b).toBeGreaterThan(s.a)],
    ['preferred node affinity', new NodeAffinity(),
      pod('p', { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } }] } } }),
      [node('a', { labels: { disk: 'ssd' } }), node('b')], [], (s) => expect(s).toEqual({ a: 100, b: 0 })],
    ['PreferNoSchedule taint', new TaintToleration(), pod('p'), [node('a', { spec: { taints: [{ key: 'k', effect: 'PreferNoSchedule' }] } }), node('b')], [],
      (s) => expect(s).toEqual({ a: 0, b: 100 })],
    ['PreferNoSchedule taints counted against the most (one of three tolerated)', new TaintToleration(),
      pod('p', { tolerations: [{ key: 'ok', operator: 'Exists', effect: 'PreferNoSchedule' }] }),
      [node('a', { spec: { taints: [{ key: 'k1', effect: 'PreferNoSchedule' }, { key: 'k2', effect: 'PreferNoSchedule' }] } }),
        node('b', { spec: { taints: [{ key: 'k1', effect: 'PreferNoSchedule' }, { key: 'ok', effect: 'PreferNoSchedule' }] } }),
        node('c', { spec: { taints: [{ key: 'ok', effect: 'PreferNoSchedule' }] } })], [],
      (s) => expect(s).toEqual({ a: 0, b: 50, c: 100 })],
    ['preferred anti-affinity', new InterPodAffinity(),
      pod('p', { affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: { labelSelector: { matchLabels: { app: 'w' } }, topologyKey: 'kubernetes.io/hostname' } }] } } }),
      [node('a'), node('b')], [['a', pod('w', {}, { app: 'w' })]], (s) => expect(s).toEqual({ a: 0, b: 100 })],
    ['preferred affinity', new InterPodAffinity(),
      pod('p', { affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: { labelSelector: { matchLabels: { app: 'w' } }, topologyKey: 'kubernetes.io/hostname' } }] } } }),
      [node('a'), node('b')], [['a', pod('w', {}, { app: 'w' })]], (s) => expect(s).toEqual({ a: 100, b: 0 })],
    ['topology spread ScheduleAnyway', new PodTopologySpread(),
      pod('p', { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'w' } } }] }, { app: 'w' }),
      [node('a', { labels: { zone: 'z1' } }), node('b', { labels: { zone: 'z2' } })], [['a', pod('w1', {}, { app: 'w' })]], (s) => expect(s).toEqual({ a: 0, b: 100 })],
  ])('%s', (_name, plugin, p, nodes, placed, check) => {
    check(scoreAll(plugin, p, nodes, placed));
  });
});

describe('preFilter skips', () => {
  // A skipped filter is left out of the attempt: it must be one that would pass every node.
  it.each<[string, SchedulingPlugin, Pod, 'Skip' | 'Success']>([
    ['NodeName without spec.nodeName', new NodeName(), pod('p'), 'Skip'],
    ['NodeName with spec.nodeName', new NodeName(), pod('p', { nodeName: 'a' }), 'Success'],
    ['NodeAffinity without selector or required affinity', new NodeAffinity(), pod('p', { nodeSelector: {} }), 'Skip'],
    ['NodeAffinity with a node selector', new NodeAffinity(), pod('p', { nodeSelector: { disk: 'ssd' } }), 'Success'],
    ['NodeAffinity with required affinity', new NodeAffinity(),
      pod('p', { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'Exists' }] }] } } } }), 'Success'],
    ['NodeAffinity with only preferred affinity', new NodeAffinity(),
      pod('p', { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [{ key: 'disk', operator: 'Exists' }] } }] } } }), 'Skip'],
  ])('%s', (_name, plugin, p, code) => {
    const { handle } = cluster([node('a')]);
    expect(plugin.preFilter!(new MapCycleState(), p, handle).code).toBe(code);
  });
});

describe('framework helpers', () => {
  it.each([[5, 0, 5], [99, 0, 99], [150, 0, 100], [1000, 0, 100], [5000, 0, 100], [5000, 50, 2500], [200, 10, 100], [300, 100, 300]])(
    'numFeasibleNodesToFind(%i, %i) = %i', (total, pct, want) => expect(numFeasibleNodesToFind(total, pct)).toBe(want),
  );

  it('groups reasons by node count', () => {
    expect(unschedulableMessage(5, [
      { code: 'Unschedulable', reasons: ['insufficient memory'] }, { code: 'Unschedulable', reasons: ['insufficient memory'] },
      { code: 'Unschedulable', reasons: ['insufficient memory'] }, { code: 'Unschedulable', reasons: ["didn't match pod anti-affinity rules"] },
      { code: 'Unschedulable', reasons: ["didn't match pod anti-affinity rules"] },
    ])).toBe("0/5 nodes are available: 3 nodes: insufficient memory, 2 nodes: didn't match pod anti-affinity rules.");
  });
});
