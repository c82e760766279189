import { KernObject, Pod, ReplicaSet } from '@kern/sdk';
import { TestCluster, list, startCluster, template, until } from './test-cluster';
import { ORPHAN_ANNOTATION, ownerReference } from './workload-helpers';

let c: TestCluster;
beforeEach(async () => { c = await startCluster({ gc: true }); });
afterEach(async () => { await c.stop(); });

const rs = (name: string): ReplicaSet => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name, namespace: 'default' }, spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: template({ app: name }) } });
const pod = (name: string, owner: KernObject): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { app: 'x' }, ownerReferences: [ownerReference(owner)] }, spec: { containers: [{ name: 'c', image: 'i' }] } });

it('deleting an owner deletes its dependents, down the chain (Deployment → ReplicaSet → Pod)', async () => {
  const d = await c.sys.call('state.create', { object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'default' }, spec: { replicas: 0, selector: { matchLabels: { app: 'd' } }, template: template({ app: 'd' }) } } });
  const owned = rs('d-1');
  owned.metadata.ownerReferences = [ownerReference(d)];
  const r = await c.sys.call('state.create', { object: owned });
  await c.sys.call('state.create', { object: pod('p1', r) });
  await c.sys.call('state.create', { object: pod('p2', r) });
  await c.sys.call('state.create', { object: { ...pod('keep', r), metadata: { name: 'keep', namespace: 'default' } } });
  await c.sys.call('state.delete', { kind: 'Deployment', namespace: 'default', name: 'd' });
  await until('cascade', async () => (await list(c.sys, 'ReplicaSet')).length === 0 && (await list(c.sys, 'Pod')).length === 1);
  expect((await list(c.sys, 'Pod')).map((p) => p.metadata.name)).toEqual(['keep']);
});

it(`with ${ORPHAN_ANNOTATION}=true the dependents stay and lose the owner reference`, async () => {
  const r = await c.sys.call('state.create', { object: { ...rs('o'), metadata: { name: 'o', namespace: 'default', annotations: { [ORPHAN_ANNOTATION]: 'true' } } } });
  await c.sys.call('state.create', { object: pod('p1', r) });
  await c.sys.call('state.delete', { kind: 'ReplicaSet', namespace: 'default', name: 'o' });
  await until('orphaned', async () => {
    const p = (await c.sys.call('state.get', { kind: 'Pod', namespace: 'default', name: 'p1' })) as Pod;
    return !p.metadata.ownerReferences;
  });
});

it('deletes a dependent whose owner is already gone', async () => {
  await c.sys.call('state.create', { object: { ...pod('ghost', rs('nobody')), metadata: { name: 'ghost', namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'nobody', uid: 'no-such-uid', controller: true }] } } });
  await until('ghost deleted', async () => (await list(c.sys, 'Pod')).length === 0);
});
