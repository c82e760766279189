import { Job, KernObject, Pod } from '@kern/sdk';
import { FakeSyscalls } from '@kern/sdk/testing';
import { FakeClock } from './clock';
import { COMPLETION_INDEX_ANNOTATION, CONTROLLER_UID_LABEL, JobController } from './job-controller';

const KEY = 'default/work';

function job(spec: Partial<NonNullable<Job['spec']>> = {}): KernObject {
  return {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'work', namespace: 'default' },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'kern/busybox:1', command: ['true'] }] } }, ...spec },
  };
}

function setup(spec: Partial<NonNullable<Job['spec']>> = {}) {
  const sys = new FakeSyscalls();
  const clock = new FakeClock();
  const controller = new JobController(sys, { clock });
  return { sys, clock, controller, create: () => sys.call('state.create', { object: job(spec) }) };
}

async function pods(sys: FakeSyscalls): Promise<Pod[]> {
  return (await sys.call('state.list', { kind: 'Pod', namespace: 'default' })).items as Pod[];
}
async function getJob(sys: FakeSyscalls): Promise<Job> {
  return (await sys.call('state.get', { kind: 'Job', namespace: 'default', name: 'work' })) as Job;
}
const live = (list: Pod[]) => list.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');

/** What a node agent does when a pod's container exits. */
async function finish(sys: FakeSyscalls, pod: Pod, phase: 'Succeeded' | 'Failed'): Promise<void> {
  const exitCode = phase === 'Succeeded' ? 0 : 1;
  await sys.call('state.update', {
    object: { ...pod, status: { phase, containerStatuses: [{ name: 'c', image: 'kern/busybox:1', ready: false, restartCount: 0, state: { terminated: { exitCode } } }] } } as KernObject,
    subresource: 'status',
  });
}

describe('JobController', () => {
  it('runs completions 5 with parallelism 2 to Complete, never more than 2 active', async () => {
    const { sys, controller, create } = setup({ completions: 5, parallelism: 2 });
    await create();
    let maxActive = 0;
    for (let round = 0; round < 10; round++) {
      await controller.sync(KEY);
      const running = live(await pods(sys));
      maxActive = Math.max(maxActive, running.length);
      if (running.length === 0) break;
      await finish(sys, running[0], 'Succeeded'); // one at a time, so slots refill unevenly
    }
    const j = await getJob(sys);
    expect(maxActive).toBe(2);
    expect(j.status).toMatchObject({ succeeded: 5, failed: 0, active: 0 });
    expect(j.status?.conditions?.find((c) => c.type === 'Complete')).toMatchObject({ status: 'True', reason: 'CompletionsReached' });
    expect(j.status?.startTime).toBeDefined();
    expect(j.status?.completionTime).toBeDefined();
    const all = await pods(sys);
    expect(all).toHaveLength(5);
    for (const p of all) {
      expect(p.metadata.labels).toMatchObject({ 'job-name': 'work', [CONTROLLER_UID_LABEL]: j.metadata.uid });
      expect(p.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Job', name: 'work', uid: j.metadata.uid, controller: true })]);
      expect(p.spec?.restartPolicy).toBe('Never');
    }
    // Idempotent once finished: a further sync writes nothing.
    const rev = sys.revision;
    await controller.sync(KEY);
    expect(sys.revision).toBe(rev);
  });

  it('fails with BackoffLimitExceeded once more pods failed than backoffLimit, and stops the active ones', async () => {
    const { sys, controller, create } = setup({ completions: 3, parallelism: 2, backoffLimit: 1 });
    await create();
    await controller.sync(KEY);
    let running = live(await pods(sys));
    await finish(sys, running[0], 'Failed');
    await controller.sync(KEY);
    expect((await getJob(sys)).status).toMatchObject({ failed: 1, active: 2 });
    running = live(await pods(sys));
    await finish(sys, running[0], 'Failed');
    await controller.sync(KEY);
    const j = await getJob(sys);
    expect(j.status?.failed).toBe(2);
    expect(j.status?.conditions?.find((c) => c.type === 'Failed')).toMatchObject({ status: 'True', reason: 'BackoffLimitExceeded' });
    expect(live(await pods(sys))).toHaveLength(0);
  });

  it('fails with DeadlineExceeded after activeDeadlineSeconds and deletes its pods', async () => {
    const { sys, clock, controller, create } = setup({ completions: 1, activeDeadlineSeconds: 30 });
    await create();
    expect((await controller.sync(KEY)).requeueAfterMs).toBe(30_000);
    expect(live(await pods(sys))).toHaveLength(1);
    clock.advance(10_000);
    expect((await controller.sync(KEY)).requeueAfterMs).toBe(20_000);
    clock.advance(20_000);
    await controller.sync(KEY);
    const j = await getJob(sys);
    expect(j.status?.conditions?.find((c) => c.type === 'Failed')).toMatchObject({ status: 'True', reason: 'DeadlineExceeded' });
    expect(await pods(sys)).toHaveLength(0);
  });

  it('gives Indexed pods their index (annotation, env) and tracks completedIndexes', async () => {
    const { sys, controller, create } = setup({ completions: 4, parallelism: 2, completionMode: 'Indexed' });
    await create();
    await controller.sync(KEY);
    let running = live(await pods(sys));
    expect(running.map((p) => p.metadata.annotations?.[COMPLETION_INDEX_ANNOTATION]).sort()).toEqual(['0', '1']);
    const one = running.find((p) => p.metadata.annotations?.[COMPLETION_INDEX_ANNOTATION] === '1')!;
    expect(one.spec?.containers[0].env).toContainEqual({ name: 'JOB_COMPLETION_INDEX', value: '1' });
    await finish(sys, one, 'Succeeded');
    await controller.sync(KEY);
    expect((await getJob(sys)).status?.completedIndexes).toBe('1');
    running = live(await pods(sys));
    expect(running.map((p) => p.metadata.annotations?.[COMPLETION_INDEX_ANNOTATION]).sort()).toEqual(['0', '2']);
    // A failed index is retried under the same index.
    await finish(sys, running.find((p) => p.metadata.annotations?.[COMPLETION_INDEX_ANNOTATION] === '2')!, 'Failed');
    await controller.sync(KEY);
    running = live(await pods(sys));
    expect(running.map((p) => p.metadata.annotations?.[COMPLETION_INDEX_ANNOTATION]).sort()).toEqual(['0', '2']);
    for (let round = 0; round < 6 && running.length > 0; round++) {
      for (const p of running) await finish(sys, p, 'Succeeded');
      await controller.sync(KEY);
      running = live(await pods(sys));
    }
    const j = await getJob(sys);
    expect(j.status).toMatchObject({ completedIndexes: '0-3', succeeded: 4, failed: 1 });
    expect(j.status?.conditions?.find((c) => c.type === 'Complete')?.status).toBe('True');
  });

  it('deletes a finished Job and its pods after ttlSecondsAfterFinished', async () => {
    const { sys, clock, controller, create } = setup({ completions: 1, ttlSecondsAfterFinished: 60 });
    await create();
    await controller.sync(KEY);
    await finish(sys, live(await pods(sys))[0], 'Succeeded');
    expect((await controller.sync(KEY)).requeueAfterMs).toBe(60_000);
    clock.advance(30_000);
    expect((await controller.sync(KEY)).requeueAfterMs).toBe(30_000);
    expect(await pods(sys)).toHaveLength(1);
    clock.advance(30_000);
    await controller.sync(KEY);
    await expect(getJob(sys)).rejects.toMatchObject({ kind: 'NotFound' });
    expect(await pods(sys)).toHaveLength(0);
  });

  it('creates no pods while suspended and starts them on resume', async () => {
    const { sys, controller, create } = setup({ completions: 2, parallelism: 2, suspend: true });
    await create();
    await controller.sync(KEY);
    expect(await pods(sys)).toHaveLength(0);
    let j = await getJob(sys);
    expect(j.status?.conditions?.find((c) => c.type === 'Suspended')?.status).toBe('True');
    expect(j.status?.startTime).toBeUndefined();
    await sys.call('state.update', { object: { ...j, spec: { ...j.spec!, suspend: false } } as KernObject });
    await controller.sync(KEY);
    expect(live(await pods(sys))).toHaveLength(2);
    j = await getJob(sys);
    expect(j.status?.conditions?.find((c) => c.type === 'Suspended')?.status).toBe('False');
    expect(j.status?.startTime).toBeDefined();
  });

  it('counts container restarts against backoffLimit when restartPolicy is OnFailure', async () => {
    const sys = new FakeSyscalls();
    const controller = new JobController(sys, { clock: new FakeClock() });
    const obj = job({ backoffLimit: 2 });
    (obj.spec as Job['spec'])!.template.spec.restartPolicy = 'OnFailure';
    await sys.call('state.create', { object: obj });
    await controller.sync(KEY);
    const [p] = await pods(sys);
    await sys.call('state.update', {
      object: { ...p, status: { phase: 'Running', containerStatuses: [{ name: 'c', image: 'x', ready: false, restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } } }] } } as KernObject,
      subresource: 'status',
    });
    await controller.sync(KEY);
    const j = await getJob(sys);
    expect(j.status?.conditions?.find((c) => c.type === 'Failed')?.reason).toBe('BackoffLimitExceeded');
  });

  it('drives a Job to Complete on its own once started (informers and queue)', async () => {
    const sys = new FakeSyscalls();
    // A first write, so the informers' list reports a revision above 0
    // (watching from "0" means "from now" and would miss the Job).
    await sys.call('state.create', { object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } } });
    const controller = new JobController(sys);
    controller.start();
    try {
      await sys.call('state.create', { object: job({ completions: 3, parallelism: 2 }) });
      const deadline = Date.now() + 10_000;
      for (;;) {
        const j = await getJob(sys);
        if (j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')) break;
        if (Date.now() > deadline) throw new Error(`job did not complete: ${JSON.stringify(j.status)}`);
        const running = live(await pods(sys));
        expect(running.length).toBeLessThanOrEqual(2);
        for (const p of running) await finish(sys, p, 'Succeeded');
        await new Promise((r) => setTimeout(r, 20));
      }
      expect((await getJob(sys)).status?.succeeded).toBe(3);
      // Deleting the Job takes its pods with it.
      await sys.call('state.delete', { kind: 'Job', namespace: 'default', name: 'work' });
      const end = Date.now() + 5_000;
      while ((await pods(sys)).length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(await pods(sys)).toHaveLength(0);
    } finally {
      await controller.dispose();
    }
  });
});
