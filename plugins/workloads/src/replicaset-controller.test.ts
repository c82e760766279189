import { Pod, ReplicaSet } from '@kern/sdk';
import { deletionOrder } from './replicaset-controller';
import { TestCluster, isReadyPod, list, setPodReady, startCluster, template, until } from './test-cluster';

let c: TestCluster;
beforeEach(async () => { c = await startCluster({ rs: true }); });
afterEach(async () => { await c.stop(); });

function rs(name: string, replicas: number): ReplicaSet {
  return { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name, namespace: 'default' }, spec: { replicas, selector: { matchLabels: { app: name } }, template: template({ app: name }) } };
}
const pods = (app: string) => list<Pod>(c.sys, 'Pod', `app=${app}`);
const getRs = async (name: string) => (await c.sys.call('state.get', { kind: 'ReplicaSet', namespace: 'default', name })) as ReplicaSet;
async function setReplicas(name: string, n: number) {
  const cur = await getRs(name);
  await c.sys.call('state.update', { object: { ...cur, spec: { ...cur.spec!, replicas: n } } });
}

it('creates replicas named <rs>-<5 chars> with a controller owner reference, and reports status', async () => {
  const created = (await c.sys.call('state.create', { object: rs('web', 3) })) as ReplicaSet;
  const made = await until('3 pods', async () => { const p = await pods('web'); return p.length === 3 && p; });
  for (const p of made) {
    expect(p.metadata.name).toMatch(/^web-[a-z0-9]{5}$/);
    expect(p.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'ReplicaSet', name: 'web', uid: created.metadata.uid, controller: true })]);
  }
  for (const p of made) await setPodReady(c.sys, p);
  const s = await until('status', async () => { const x = await getRs('web'); return x.status?.readyReplicas === 3 && x.status; });
  expect(s).toEqual(expect.objectContaining({ replicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1 }));
  await new Promise((r) => setTimeout(r, 100));
  expect(await pods('web')).toHaveLength(3); // no extra pods from a stale cache
});

it.each([
  ['scales up 9 → 10', 9, 10],
  ['scales down 11 → 10', 11, 10],
])('%s', async (_what, from, to) => {
  await c.sys.call('state.create', { object: rs('s', from) });
  await until(`${from} pods`, async () => (await pods('s')).length === from);
  await setReplicas('s', to);
  await until(`${to} pods`, async () => (await pods('s')).length === to);
  await new Promise((r) => setTimeout(r, 100));
  expect(await pods('s')).toHaveLength(to);
});

it('scaling down deletes the pod that is not ready before ready ones', async () => {
  await c.sys.call('state.create', { object: rs('pick', 3) });
  const made = await until('3 pods', async () => { const p = await pods('pick'); return p.length === 3 && p; });
  await setPodReady(c.sys, made[0]);
  await setPodReady(c.sys, made[1]);
  await setPodReady(c.sys, made[2], false);
  await until('ready counted', async () => (await getRs('pick')).status?.readyReplicas === 2);
  await setReplicas('pick', 2);
  const left = await until('2 pods', async () => { const p = await pods('pick'); return p.length === 2 && p; });
  expect(left.every(isReadyPod)).toBe(true);
});

it('replaces a Failed pod', async () => {
  await c.sys.call('state.create', { object: rs('f', 2) });
  const made = await until('2 pods', async () => { const p = await pods('f'); return p.length === 2 && p; });
  const victim = made[0];
  await c.sys.call('state.update', { object: { ...victim, metadata: { ...victim.metadata, resourceVersion: undefined }, status: { phase: 'Failed', reason: 'NodeLost' } }, subresource: 'status' });
  await until('a replacement', async () => {
    const p = await pods('f');
    return p.length === 2 && !p.some((x) => x.metadata.name === victim.metadata.name);
  });
});

it('adopts a matching orphan pod instead of creating one, and releases a pod whose labels stop matching', async () => {
  await c.sys.call('state.create', { object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'stray', namespace: 'default', labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'img' }] } } });
  const owner = (await c.sys.call('state.create', { object: rs('a', 2) })) as ReplicaSet;
  const two = await until('2 pods', async () => { const p = await pods('a'); return p.length === 2 && p; });
  const stray = two.find((p) => p.metadata.name === 'stray')!;
  await until('stray adopted', async () => {
    const p = (await c.sys.call('state.get', { kind: 'Pod', namespace: 'default', name: 'stray' })) as Pod;
    return p.metadata.ownerReferences?.[0]?.uid === owner.metadata.uid;
  });
  expect(stray).toBeDefined();
  // Relabel it: the ReplicaSet lets go and makes a new one.
  const cur = (await c.sys.call('state.get', { kind: 'Pod', namespace: 'default', name: 'stray' })) as Pod;
  await c.sys.call('state.update', { object: { ...cur, metadata: { ...cur.metadata, labels: { app: 'other' } } } });
  await until('released and replaced', async () => {
    const p = (await c.sys.call('state.get', { kind: 'Pod', namespace: 'default', name: 'stray' })) as Pod;
    return !p.metadata.ownerReferences?.length && (await pods('a')).length === 2;
  });
});

describe('deletionOrder', () => {
  const p = (name: string, extra: Partial<Pod>): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, creationTimestamp: '2024-01-01T00:00:00Z' }, spec: { containers: [] }, ...extra });
  it('ranks unscheduled, pending, not ready before ready', () => {
    const ready = p('ready', { spec: { containers: [], nodeName: 'n' }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } });
    const notReady = p('notready', { spec: { containers: [], nodeName: 'n' }, status: { phase: 'Running' } });
    const pending = p('pending', { spec: { containers: [], nodeName: 'n' }, status: { phase: 'Pending' } });
    const unscheduled = p('unscheduled', {});
    expect([ready, notReady, pending, unscheduled].sort(deletionOrder).map((x) => x.metadata.name)).toEqual(['unscheduled', 'pending', 'notready', 'ready']);
  });
});
