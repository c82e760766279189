import { Deployment, Pod, ReplicaSet } from '@kern/sdk';
import { rollingParams } from './deployment-controller';
import { TestCluster, isReadyPod, list, setPodReady, startCluster, template, until } from './test-cluster';
import { POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, isActive } from './workload-helpers';

let c: TestCluster;
let autoReady = true;
beforeEach(async () => {
  autoReady = true;
  c = await startCluster({ rs: true, deploy: true });
  // A pretend node agent: every new pod runs and turns Ready a moment later.
  c.informers.pods.onAdd((p) => {
    if (!autoReady) return;
    setTimeout(() => { setPodReady(c.sys, p).catch(() => undefined); }, 5);
  });
});
afterEach(async () => { await c.stop(); });

function deploy(name: string, replicas: number, extra: Partial<NonNullable<Deployment['spec']>> = {}, image = 'img:1'): Deployment {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default' },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: template({ app: name }, image), ...extra },
  };
}
const getDeploy = async (name: string) => (await c.sys.call('state.get', { kind: 'Deployment', namespace: 'default', name })) as Deployment;
async function edit(name: string, fn: (d: Deployment) => void) {
  for (;;) {
    const d = await getDeploy(name);
    fn(d);
    try { await c.sys.call('state.update', { object: d }); return; } catch (e) { if ((e as { kind?: string }).kind !== 'Conflict') throw e; }
  }
}
const complete = (name: string, image: string, n: number) => until(`${name} rolled out to ${image}`, async () => {
  const d = await getDeploy(name);
  const pods = (await list<Pod>(c.sys, 'Pod', `app=${name}`)).filter(isActive);
  const progressing = d.status?.conditions?.find((x) => x.type === 'Progressing');
  return d.status?.observedGeneration === d.metadata.generation && d.status?.updatedReplicas === n && d.status?.availableReplicas === n
    && d.status.replicas === n && progressing?.reason === 'NewReplicaSetAvailable'
    && pods.length === n && pods.every((p) => p.spec!.containers[0].image === image && isReadyPod(p)) && d;
}, 10_000);

it('creates a ReplicaSet <deploy>-<hash> with pod-template-hash and revision 1, and reports Available', async () => {
  await c.sys.call('state.create', { object: deploy('web', 3) });
  const d = await complete('web', 'img:1', 3);
  const sets = await list<ReplicaSet>(c.sys, 'ReplicaSet');
  expect(sets).toHaveLength(1);
  const hash = sets[0].metadata.labels![POD_TEMPLATE_HASH_LABEL];
  expect(sets[0].metadata.name).toBe(`web-${hash}`);
  expect(sets[0].spec!.selector.matchLabels).toEqual({ app: 'web', [POD_TEMPLATE_HASH_LABEL]: hash });
  expect(sets[0].metadata.annotations![REVISION_ANNOTATION]).toBe('1');
  expect(d.status!.conditions!.find((x) => x.type === 'Available')!.status).toBe('True');
  await until('revision annotation', async () => (await getDeploy('web')).metadata.annotations?.[REVISION_ANNOTATION] === '1');
});

it('rolls out a new template without going below maxUnavailable or above maxSurge', async () => {
  await c.sys.call('state.create', { object: deploy('roll', 4, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } }) });
  await complete('roll', 'img:1', 4);
  let minReady = Infinity;
  let maxActive = 0;
  const check = () => {
    const pods = c.informers.pods.list({ labelSelector: 'app=roll' }).filter(isActive);
    minReady = Math.min(minReady, pods.filter(isReadyPod).length);
    maxActive = Math.max(maxActive, pods.length);
  };
  c.informers.pods.onUpdate(check);
  c.informers.pods.onDelete(check);
  c.informers.pods.onAdd(check);
  await edit('roll', (d) => { d.spec!.template.spec.containers[0].image = 'img:2'; });
  await complete('roll', 'img:2', 4);
  expect(minReady).toBeGreaterThanOrEqual(3);
  expect(maxActive).toBeLessThanOrEqual(5);
  const sets = await list<ReplicaSet>(c.sys, 'ReplicaSet');
  expect(sets.map((s) => [s.spec!.replicas, s.metadata.annotations![REVISION_ANNOTATION]]).sort()).toEqual([[0, '1'], [4, '2']]);
});

it('Recreate stops every old pod before starting new ones', async () => {
  await c.sys.call('state.create', { object: deploy('rec', 2, { strategy: { type: 'Recreate' } }) });
  await complete('rec', 'img:1', 2);
  let mixed = false;
  c.informers.pods.onAdd(() => {
    const imgs = new Set(c.informers.pods.list({ labelSelector: 'app=rec' }).map((p) => p.spec!.containers[0].image));
    if (imgs.size > 1) mixed = true;
  });
  await edit('rec', (d) => { d.spec!.template.spec.containers[0].image = 'img:2'; });
  await complete('rec', 'img:2', 2);
  expect(mixed).toBe(false);
});

it('undo: copying an older ReplicaSet template back rolls back and bumps its revision', async () => {
  await c.sys.call('state.create', { object: deploy('u', 2) });
  await complete('u', 'img:1', 2);
  await edit('u', (d) => { d.spec!.template.spec.containers[0].image = 'img:2'; });
  await complete('u', 'img:2', 2);
  const first = (await list<ReplicaSet>(c.sys, 'ReplicaSet')).find((s) => s.metadata.annotations![REVISION_ANNOTATION] === '1')!;
  await edit('u', (d) => {
    const t = JSON.parse(JSON.stringify(first.spec!.template));
    delete t.metadata.labels[POD_TEMPLATE_HASH_LABEL];
    d.spec!.template = t;
  });
  await complete('u', 'img:1', 2);
  await until('revision 3 on the first ReplicaSet', async () => {
    const s = (await c.sys.call('state.get', { kind: 'ReplicaSet', namespace: 'default', name: first.metadata.name })) as ReplicaSet;
    return s.metadata.annotations![REVISION_ANNOTATION] === '3';
  });
  expect(await list(c.sys, 'ReplicaSet')).toHaveLength(2);
});

it('keeps at most revisionHistoryLimit old ReplicaSets', async () => {
  await c.sys.call('state.create', { object: deploy('h', 1, { revisionHistoryLimit: 1 }) });
  for (const img of ['img:1', 'img:2', 'img:3']) {
    await edit('h', (d) => { d.spec!.template.spec.containers[0].image = img; });
    await complete('h', img, 1);
  }
  await until('2 ReplicaSets left', async () => (await list(c.sys, 'ReplicaSet')).length === 2);
});

it('paused: a template change makes no new ReplicaSet until resumed', async () => {
  await c.sys.call('state.create', { object: deploy('p', 2) });
  await complete('p', 'img:1', 2);
  await edit('p', (d) => { d.spec!.paused = true; d.spec!.template.spec.containers[0].image = 'img:2'; });
  await until('paused condition', async () => (await getDeploy('p')).status?.conditions?.find((x) => x.type === 'Progressing')?.reason === 'DeploymentPaused');
  await new Promise((r) => setTimeout(r, 100));
  expect(await list(c.sys, 'ReplicaSet')).toHaveLength(1);
  await edit('p', (d) => { d.spec!.paused = false; });
  await complete('p', 'img:2', 2);
});

it('reports ProgressDeadlineExceeded when new pods never become ready', async () => {
  await c.sys.call('state.create', { object: deploy('slow', 1, { progressDeadlineSeconds: 1 }) });
  await complete('slow', 'img:1', 1);
  autoReady = false;
  await edit('slow', (d) => { d.spec!.template.spec.containers[0].image = 'img:bad'; });
  const cond = await until('deadline exceeded', async () => {
    const p = (await getDeploy('slow')).status?.conditions?.find((x) => x.type === 'Progressing');
    return p?.status === 'False' && p;
  }, 8000);
  expect(cond.reason).toBe('ProgressDeadlineExceeded');
});

describe('rollingParams', () => {
  it.each([
    [4, undefined, undefined, 1, 1],
    [10, '25%', '25%', 3, 2],
    [3, 0, 0, 0, 1],
    [5, 2, '40%', 2, 2],
  ])('replicas %d, surge %p, unavailable %p → %d/%d', (replicas, maxSurge, maxUnavailable, surge, unavailable) => {
    const d = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas, selector: {}, template: template({}), strategy: { rollingUpdate: { maxSurge, maxUnavailable } } } } as Deployment;
    expect(rollingParams(d)).toEqual({ maxSurge: surge, maxUnavailable: unavailable });
  });
});

it('scaling in the middle of a rollout (here paused) grows every ReplicaSet in proportion, up to replicas + maxSurge', async () => {
  await c.sys.call('state.create', { object: deploy('prop', 10, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 2, maxUnavailable: 0 } } }) });
  await complete('prop', 'img:1', 10);
  autoReady = false; // new pods stay unready, so the rollout stops at old 10 + new 2
  await edit('prop', (d) => { d.spec!.template.spec.containers[0].image = 'img:2'; });
  const sizes = async () => (await list<ReplicaSet>(c.sys, 'ReplicaSet')).map((rs) => rs.spec!.replicas ?? 0).sort((a, b) => b - a);
  await until('rollout stalled at 10 + 2', async () => JSON.stringify(await sizes()) === '[10,2]');
  await edit('prop', (d) => { d.spec!.paused = true; });
  await until('paused', async () => (await getDeploy('prop')).status?.conditions?.find((x) => x.type === 'Progressing')?.reason === 'DeploymentPaused');
  await edit('prop', (d) => { d.spec!.replicas = 20; });
  // 22 allowed: +10 shared 10:2 (8 and 2 after rounding)
  await until('scaled proportionally', async () => JSON.stringify(await sizes()) === '[18,4]');
  await edit('prop', (d) => { d.spec!.replicas = 5; });
  // 7 allowed: -15 shared 18:4 (-12 and -3)
  await until('scaled down proportionally', async () => JSON.stringify(await sizes()) === '[6,1]');
});
