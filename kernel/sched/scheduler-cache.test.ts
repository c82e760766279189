import { Node, Pod } from '@kern/sdk';
import { SchedulerCache } from './scheduler-cache';

const node = (name: string): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } } });
const pod = (name: string, nodeName: string, labels: Record<string, string>, affinity?: Pod['spec'] extends infer S ? S extends { affinity?: infer A } ? A : never : never): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels },
  spec: { nodeName, containers: [{ name: 'c', image: 'i' }], ...(affinity ? { affinity } : {}) },
});
const names = (it: Iterable<{ pod: Pod }>) => [...it].map((p) => p.pod.metadata.name).sort();

describe('SchedulerCache indexes', () => {
  const cache = new SchedulerCache();
  cache.setNode(node('n1'));
  cache.setNode(node('n2'));
  const anti = (group: string) => ({ podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { group } }, topologyKey: 'kubernetes.io/hostname' }] } });
  const anyTerm = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchExpressions: [{ key: 'tier', operator: 'Exists' as const }] }, topologyKey: 'kubernetes.io/hostname' }] } };
  const pref = { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: { labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' } }] } };
  cache.setPod(pod('a1', 'n1', { group: 'a' }, anti('a')));
  cache.setPod(pod('b1', 'n2', { group: 'b' }, anti('b')));
  cache.setPod(pod('x', 'n2', { app: 'web' }, anyTerm));
  cache.setPod(pod('w', 'n1', { app: 'web' }, pref));

  it('finds pods by label', () => {
    expect(names(cache.podsWithLabel('group', 'a'))).toEqual(['a1']);
    expect(names(cache.podsWithLabel('app', 'web'))).toEqual(['w', 'x']);
  });

  it.each([
    [{ group: 'a' }, ['a1', 'x']],
    [{ group: 'c' }, ['x']],
    [undefined, ['a1', 'b1', 'x']],
  ])('narrows required anti-affinity owners to those that may select %j', (labels, want) => {
    expect(names(cache.podsWithRequiredAntiAffinity(labels))).toEqual(want);
  });

  it('indexes preferred terms and forgets removed pods', () => {
    expect(names(cache.podsWithPreferredAffinity({ app: 'db' }))).toEqual(['w']);
    expect(names(cache.podsWithPreferredAffinity({ app: 'other' }))).toEqual([]);
    cache.removePod('default/a1');
    expect(names(cache.podsWithLabel('group', 'a'))).toEqual([]);
    expect(names(cache.podsWithRequiredAntiAffinity({ group: 'a' }))).toEqual(['x']);
  });
});

describe('SchedulerCache pod updates', () => {
  const withGen = (p: Pod, generation: number, cpu = '500m'): Pod => ({
    ...p, metadata: { ...p.metadata, generation },
    spec: { ...p.spec!, containers: [{ name: 'c', image: 'i', resources: { requests: { cpu } } }] },
  });

  it('takes a status update of a placed pod as the newer object, with the same sums and indexes', () => {
    const cache = new SchedulerCache();
    cache.setNode(node('n1'));
    const first = withGen(pod('p', 'n1', { app: 'web' }), 2);
    cache.setPod(first);
    const running = { ...first, status: { phase: 'Running' as const } };
    cache.setPod(running);
    const info = cache.get('n1')!;
    expect(info.pods.get('default/p')).toBe(running);
    expect(info.requested.cpu).toBe(500);
    expect(info.requested.pods).toBe(1);
    expect([...cache.podsWithLabel('app', 'web')].map((x) => x.pod)).toEqual([running]);
  });

  /** A cache with node n1, on which it assumed pod p (generation 1, 500m, app=web). */
  const withAssumedPod = (): { cache: SchedulerCache; pending: Pod } => {
    const cache = new SchedulerCache();
    cache.setNode(node('n1'));
    const pending = withGen(pod('p', '', { app: 'web' }), 1);
    delete pending.spec!.nodeName;
    cache.assume(pending, 'n1');
    return { cache, pending };
  };

  it('takes the observed bind of an assumed pod as the newer object, keeping its placement', () => {
    const { cache, pending } = withAssumedPod();
    const [placement] = cache.podsWithLabel('app', 'web');
    // What the bind wrote: nodeName set, so the store bumped the generation.
    const bound = { ...pending, metadata: { ...pending.metadata, generation: 2, resourceVersion: '7' }, spec: { ...pending.spec!, nodeName: 'n1' } };
    cache.setPod(bound);
    expect(cache.isAssumed('default/p')).toBe(false);
    expect(cache.get('n1')!.pods.get('default/p')).toBe(bound);
    expect(cache.get('n1')!.requested).toEqual({ cpu: 500, memory: 0, pods: 1 });
    const [after] = cache.podsWithLabel('app', 'web');
    expect(after).toBe(placement);
    expect(after.pod).toBe(bound);
  });

  it('recounts an assumed pod whose observed bind changed more than its node', () => {
    const { cache } = withAssumedPod();
    // A bind plugin that also raised the request: the generation assume() expected, other requests.
    const bound = withGen(pod('p', 'n1', { app: 'web' }), 2, '2');
    cache.setPod(bound);
    expect(cache.get('n1')!.requested).toEqual({ cpu: 2000, memory: 0, pods: 1 });
    expect(cache.get('n1')!.pods.get('default/p')).toBe(bound);
    // Without a generation there is nothing to go by: always recounted.
    const bare = pod('q', '', { app: 'db' });
    delete bare.spec!.nodeName;
    cache.assume(bare, 'n1');
    cache.setPod({ ...pod('q', 'n1', { app: 'db' }), spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '1' } } }] } });
    expect(cache.get('n1')!.requested).toEqual({ cpu: 3000, memory: 0, pods: 2 });
  });

  it('recounts a pod whose spec (generation) or labels changed', () => {
    const cache = new SchedulerCache();
    cache.setNode(node('n1'));
    cache.setPod(withGen(pod('p', 'n1', { app: 'web' }), 2));
    cache.setPod(withGen(pod('p', 'n1', { app: 'web' }), 3, '2'));
    expect(cache.get('n1')!.requested.cpu).toBe(2000);
    cache.setPod(withGen(pod('p', 'n1', { app: 'db' }), 3, '2'));
    expect(names(cache.podsWithLabel('app', 'web'))).toEqual([]);
    expect(names(cache.podsWithLabel('app', 'db'))).toEqual(['p']);
    expect(cache.get('n1')!.requested.pods).toBe(1);
  });
});
