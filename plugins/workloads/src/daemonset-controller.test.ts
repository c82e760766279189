import { DaemonSet, Pod } from '@kern/sdk';
import { nodeEligible } from './daemonset-controller';
import { TestCluster, isReadyPod, list, node, setPodReady, startCluster, template, until } from './test-cluster';
import { isActive } from './workload-helpers';

let c: TestCluster;
beforeEach(async () => {
  c = await startCluster({ ds: true });
  c.informers.pods.onAdd((p) => { setTimeout(() => { setPodReady(c.sys, p, true, p.spec?.nodeName).catch(() => undefined); }, 5); });
});
afterEach(async () => { await c.stop(); });

function ds(name: string, extra: Partial<NonNullable<DaemonSet['spec']>> = {}, image = 'img:1'): DaemonSet {
  return { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name, namespace: 'default' }, spec: { selector: { matchLabels: { app: name } }, template: template({ app: name }, image), ...extra } };
}
const podsOn = async (app: string) => (await list<Pod>(c.sys, 'Pod', `app=${app}`)).filter(isActive).map((p) => p.spec!.nodeName).sort();

it('runs one pod per eligible node, with nodeName set, including a node added later', async () => {
  await c.sys.call('state.create', { object: node('n1', { disk: 'ssd' }) });
  await c.sys.call('state.create', { object: node('n2', { disk: 'hdd' }) });
  await c.sys.call('state.create', { object: node('tainted', { disk: 'ssd' }, [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]) });
  await c.sys.call('state.create', { object: ds('agent', { template: { ...template({ app: 'agent' }), spec: { containers: [{ name: 'c', image: 'img' }], nodeSelector: { disk: 'ssd' } } } }) });
  await until('pod on n1', async () => JSON.stringify(await podsOn('agent')) === JSON.stringify(['n1']));
  await c.sys.call('state.create', { object: node('n3', { disk: 'ssd' }) });
  await until('pods on n1 and n3', async () => JSON.stringify(await podsOn('agent')) === JSON.stringify(['n1', 'n3']));
  const status = await until('status', async () => {
    const d = (await c.sys.call('state.get', { kind: 'DaemonSet', namespace: 'default', name: 'agent' })) as DaemonSet;
    return d.status?.numberReady === 2 && d.status;
  });
  expect(status).toEqual(expect.objectContaining({ desiredNumberScheduled: 2, currentNumberScheduled: 2, numberMisscheduled: 0, updatedNumberScheduled: 2, numberAvailable: 2 }));
});

it('rolling update replaces pods at most maxUnavailable nodes at a time', async () => {
  for (const n of ['n1', 'n2', 'n3']) await c.sys.call('state.create', { object: node(n) });
  await c.sys.call('state.create', { object: ds('roll') });
  await until('3 ready pods', async () => (await list<Pod>(c.sys, 'Pod', 'app=roll')).filter((p) => isActive(p) && isReadyPod(p)).length === 3);
  let minReady = Infinity;
  const check = () => { minReady = Math.min(minReady, c.informers.pods.list({ labelSelector: 'app=roll' }).filter((p) => isActive(p) && isReadyPod(p)).length); };
  c.informers.pods.onUpdate(check);
  c.informers.pods.onDelete(check);
  const cur = (await c.sys.call('state.get', { kind: 'DaemonSet', namespace: 'default', name: 'roll' })) as DaemonSet;
  cur.spec!.template.spec.containers[0].image = 'img:2';
  await c.sys.call('state.update', { object: cur });
  await until('all on img:2', async () => {
    const p = (await list<Pod>(c.sys, 'Pod', 'app=roll')).filter(isActive);
    return p.length === 3 && p.every((x) => x.spec!.containers[0].image === 'img:2' && isReadyPod(x));
  });
  expect(minReady).toBeGreaterThanOrEqual(2);
});

describe('nodeEligible', () => {
  const spec = (extra: object) => ({ containers: [{ name: 'c', image: 'i' }], ...extra });
  it.each([
    ['no constraints', {}, node('a'), true],
    ['nodeSelector mismatch', { nodeSelector: { a: 'b' } }, node('a'), false],
    ['untolerated NoSchedule taint', {}, node('a', {}, [{ key: 'k', effect: 'NoSchedule' }]), false],
    ['tolerated taint', { tolerations: [{ key: 'k', operator: 'Exists' }] }, node('a', {}, [{ key: 'k', effect: 'NoSchedule' }]), true],
    ['PreferNoSchedule is ignored', {}, node('a', {}, [{ key: 'k', effect: 'PreferNoSchedule' }]), true],
    ['unschedulable taint is tolerated by daemons', {}, node('a', {}, [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]), true],
    ['required affinity by name', { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['b'] }] }] } } } }, node('a'), false],
  ])('%s', (_what, extra, n, expected) => {
    expect(nodeEligible(spec(extra), n)).toBe(expected);
  });
});
