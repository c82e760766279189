import { CronJob, Job, KernObject } from '@kern/sdk';
import { FakeSyscalls } from '@kern/sdk/testing';
import { FakeClock } from './clock';
import { CronJobController, SCHEDULED_TIMESTAMP_ANNOTATION, jobNameFor } from './cronjob-controller';

const KEY = 'default/tick';
const MINUTE = 60_000;

function cronJob(spec: Partial<NonNullable<CronJob['spec']>> = {}): KernObject {
  return {
    apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'tick', namespace: 'default' },
    spec: {
      schedule: '* * * * *',
      jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'kern/busybox:1' }] } } } },
      ...spec,
    },
  };
}

/**
 * A CronJob stored in a fake, and a clock set to `offsetMs` past the first
 * whole minute after the CronJob's creation (which the store stamps with the
 * real time).
 */
async function setup(spec: Partial<NonNullable<CronJob['spec']>> = {}, offsetMs = 1_000) {
  const sys = new FakeSyscalls();
  const created = (await sys.call('state.create', { object: cronJob(spec) })) as CronJob;
  const firstMinute = Math.floor(new Date(created.metadata.creationTimestamp!).getTime() / MINUTE) * MINUTE + MINUTE;
  const clock = new FakeClock(firstMinute + offsetMs);
  return { sys, clock, firstMinute, controller: new CronJobController(sys, { clock }) };
}

async function jobs(sys: FakeSyscalls): Promise<Job[]> {
  return ((await sys.call('state.list', { kind: 'Job', namespace: 'default' })).items as Job[])
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}
async function getCronJob(sys: FakeSyscalls): Promise<CronJob> {
  return (await sys.call('state.get', { kind: 'CronJob', namespace: 'default', name: 'tick' })) as CronJob;
}
const isActive = (j: Job) => !j.status?.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');

/** What the Job controller does when a Job ends. */
async function finishJob(sys: FakeSyscalls, job: Job, clock: FakeClock, type: 'Complete' | 'Failed' = 'Complete'): Promise<void> {
  const at = new Date(clock.now()).toISOString();
  await sys.call('state.update', {
    object: { ...job, status: { ...(type === 'Complete' ? { completionTime: at } : {}), conditions: [{ type, status: 'True', lastTransitionTime: at }] } } as KernObject,
    subresource: 'status',
  });
}

describe('CronJobController', () => {
  it('makes one Job per minute named after the scheduled minute, and says when to wake up', async () => {
    const { sys, clock, firstMinute, controller } = await setup();
    const r = await controller.sync(KEY);
    const list = await jobs(sys);
    expect(list.map((j) => j.metadata.name)).toEqual([jobNameFor('tick', firstMinute)]);
    expect(list[0].metadata.name).toBe(`tick-${firstMinute / MINUTE}`);
    expect(list[0].metadata.annotations?.[SCHEDULED_TIMESTAMP_ANNOTATION]).toBe(new Date(firstMinute).toISOString());
    expect(list[0].metadata.ownerReferences?.[0]).toMatchObject({ kind: 'CronJob', name: 'tick', controller: true });
    expect(r.requeueAfterMs).toBe(MINUTE - 1_000 + 100);
    const cj = await getCronJob(sys);
    expect(cj.status?.lastScheduleTime).toBe(new Date(firstMinute).toISOString());
    expect(cj.status?.active?.map((a) => a.name)).toEqual([list[0].metadata.name]);
    // Nothing new within the same minute.
    clock.advance(30_000);
    await controller.sync(KEY);
    expect(await jobs(sys)).toHaveLength(1);
  });

  it('with Forbid never runs two Jobs at once; a start time held back runs when the active Job ends', async () => {
    const { sys, clock, firstMinute, controller } = await setup({ concurrencyPolicy: 'Forbid' });
    let maxActive = 0;
    for (let minute = 0; minute < 6; minute++) {
      clock.set(firstMinute + minute * MINUTE + 1_000);
      await controller.sync(KEY);
      const active = (await jobs(sys)).filter(isActive);
      maxActive = Math.max(maxActive, active.length);
      // Each Job takes 90 s: it ends in the middle of the next minute.
      if (minute % 2 === 1) {
        clock.advance(30_000);
        for (const j of active) await finishJob(sys, j, clock);
        await controller.sync(KEY);
      }
    }
    expect(maxActive).toBe(1);
    const names = (await jobs(sys)).map((j) => j.metadata.name);
    // Minute 0 runs; minute 1 is held back until minute 0's Job ends (1:30), and so on.
    expect(names).toEqual([0, 1, 3, 5].map((m) => jobNameFor('tick', firstMinute + m * MINUTE)));
  });

  it('with Allow runs overlapping Jobs', async () => {
    const { sys, clock, controller } = await setup({ concurrencyPolicy: 'Allow' });
    await controller.sync(KEY);
    clock.advance(MINUTE);
    await controller.sync(KEY);
    expect((await jobs(sys)).filter(isActive)).toHaveLength(2);
  });

  it('with Replace deletes the active Job and starts the new one', async () => {
    const { sys, clock, firstMinute, controller } = await setup({ concurrencyPolicy: 'Replace' });
    await controller.sync(KEY);
    clock.advance(MINUTE);
    await controller.sync(KEY);
    expect((await jobs(sys)).map((j) => j.metadata.name)).toEqual([jobNameFor('tick', firstMinute + MINUTE)]);
    expect((await getCronJob(sys)).status?.active?.map((a) => a.name)).toEqual([jobNameFor('tick', firstMinute + MINUTE)]);
  });

  it('keeps only the newest finished Jobs within the history limits', async () => {
    const { sys, clock, firstMinute, controller } = await setup({ successfulJobsHistoryLimit: 2, failedJobsHistoryLimit: 1 });
    for (let minute = 0; minute < 6; minute++) {
      clock.set(firstMinute + minute * MINUTE + 1_000);
      await controller.sync(KEY);
      clock.advance(10_000);
      for (const j of (await jobs(sys)).filter(isActive)) await finishJob(sys, j, clock, minute % 3 === 2 ? 'Failed' : 'Complete');
    }
    await controller.sync(KEY);
    const left = (await jobs(sys)).map((j) => j.metadata.name);
    // Minutes 0 1 3 4 succeeded, 2 5 failed: keep 3 4 and 5.
    expect(left).toEqual([3, 4, 5].map((m) => jobNameFor('tick', firstMinute + m * MINUTE)));
    expect((await getCronJob(sys)).status?.lastSuccessfulTime).toBeDefined();
  });

  it('reads the schedule in spec.timeZone', async () => {
    // 09:30 in Asia/Kolkata (UTC+05:30, no daylight saving) is 04:00 UTC.
    const { sys, clock, firstMinute, controller } = await setup({ schedule: '30 9 * * *', timeZone: 'Asia/Kolkata' });
    const day = 24 * 60 * MINUTE;
    let fourUtc = Math.floor(firstMinute / day) * day + 4 * 60 * MINUTE;
    if (fourUtc < firstMinute) fourUtc += day;
    clock.set(fourUtc - 1_000);
    const r = await controller.sync(KEY);
    expect(await jobs(sys)).toHaveLength(0);
    expect(r.requeueAfterMs).toBe(1_000 + 100);
    clock.set(fourUtc + 1_000);
    await controller.sync(KEY);
    expect((await jobs(sys)).map((j) => j.metadata.name)).toEqual([jobNameFor('tick', fourUtc)]);
  });

  it('never duplicates a run after a restart that lost the status write', async () => {
    const { sys, controller, clock } = await setup();
    await controller.sync(KEY);
    // The process died after creating the Job but before recording lastScheduleTime.
    const cj = await getCronJob(sys);
    await sys.call('state.update', { object: { ...cj, status: {} } as KernObject, subresource: 'status' });
    const restarted = new CronJobController(sys, { clock });
    await restarted.sync(KEY);
    await restarted.sync(KEY);
    await controller.sync(KEY);
    expect(await jobs(sys)).toHaveLength(1);
    expect((await getCronJob(sys)).status?.lastScheduleTime).toBeDefined();
  });

  it('skips start times older than startingDeadlineSeconds', async () => {
    const { sys, clock, firstMinute, controller } = await setup({ schedule: '0 * * * *', startingDeadlineSeconds: 60 });
    const hour = 60 * MINUTE;
    const nextHour = Math.ceil(firstMinute / hour) * hour;
    clock.set(nextHour + 5 * MINUTE); // 5 minutes late: past the 60 s deadline
    const r = await controller.sync(KEY);
    expect(await jobs(sys)).toHaveLength(0);
    expect(r.requeueAfterMs).toBe(55 * MINUTE + 100);
    clock.set(nextHour + hour + 30_000); // 30 s late: within it
    await controller.sync(KEY);
    expect((await jobs(sys)).map((j) => j.metadata.name)).toEqual([jobNameFor('tick', nextHour + hour)]);
  });

  it('runs only the latest start time after more than 100 missed ones, and records an event', async () => {
    const { sys, clock, firstMinute, controller } = await setup();
    clock.set(firstMinute + 150 * MINUTE + 1_000);
    await controller.sync(KEY);
    expect((await jobs(sys)).map((j) => j.metadata.name)).toEqual([jobNameFor('tick', firstMinute + 150 * MINUTE)]);
    const events = (await sys.call('state.list', { kind: 'Event', namespace: 'default' })).items as (KernObject & { reason?: string })[];
    expect(events.map((e) => e.reason)).toEqual(['TooManyMissedTimes']);
  });

  it('makes no Jobs while suspended', async () => {
    const { sys, clock, controller } = await setup({ suspend: true });
    await controller.sync(KEY);
    clock.advance(5 * MINUTE);
    expect(await controller.sync(KEY)).toEqual({});
    expect(await jobs(sys)).toHaveLength(0);
  });

  it('records an event for a schedule it cannot parse', async () => {
    const { sys, controller } = await setup({ schedule: '61 * * * *' });
    await controller.sync(KEY);
    const events = (await sys.call('state.list', { kind: 'Event', namespace: 'default' })).items as (KernObject & { reason?: string; message?: string })[];
    expect(events[0]).toMatchObject({ reason: 'InvalidSchedule', message: expect.stringContaining('spec.schedule') });
  });
});
