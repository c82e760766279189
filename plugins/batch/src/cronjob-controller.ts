import {
  CronJob, CronJobStatus, Disposable, Informer, Job, KernObject, Logger, Syscalls, controllerKey,
  isAlreadyExists, isNotFound, silentLogger, splitControllerKey, ownerKeyOf,
  eventObject, getIfExists,
} from '@kern/sdk';
import { Clock, systemClock } from './clock';
import { ControllerRunner, SyncResult } from './controller-runner';
import { MAX_MISSED_SCHEDULES, missedSchedules, parseSchedule } from './cron-schedule';
import { jobFinished } from './job-controller';

/** Annotation on each Job a CronJob makes: the scheduled time it runs for (RFC 3339). */
export const SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

/** Defaults, as in Kubernetes. */
export const CRONJOB_DEFAULTS = { successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1, concurrencyPolicy: 'Allow' } as const;

/** Event reasons the CronJob controller records. */
export const CRONJOB_REASONS = {
  tooManyMissedTimes: 'TooManyMissedTimes',
  invalidSchedule: 'InvalidSchedule',
} as const;

/** Extra time after a cron time before the timed sync, so it lands after the minute turned. */
const WAKE_SLACK_MS = 100;

export interface CronJobControllerOptions {
  clock?: Clock;
  logger?: Logger;
  /** CronJobs synced at the same time. Default 2. */
  workers?: number;
}

/** The name of the Job a CronJob makes for the start time `scheduledMs`: `<cronjob>-<minutes since the epoch>`. */
export function jobNameFor(cronJobName: string, scheduledMs: number): string {
  return `${cronJobName}-${Math.floor(scheduledMs / 60_000)}`;
}

/**
 * The CronJob controller (batch/v1): makes a Job at each start time of
 * `spec.schedule` (in `spec.timeZone`), honouring `concurrencyPolicy`,
 * `startingDeadlineSeconds`, `suspend` and the history limits.
 *
 * Job names are derived from the start time, so a restart (or a sync that
 * ran twice) never makes a second Job for the same time: the create fails
 * with AlreadyExists and the controller takes the existing Job as that run.
 */
export class CronJobController implements Disposable {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly runner: ControllerRunner;
  private readonly informers: Informer[] = [];
  private readonly subscriptions: Disposable[] = [];

  constructor(private readonly syscalls: Syscalls, options: CronJobControllerOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.runner = new ControllerRunner('cronjob', (key) => this.sync(key), { logger: this.logger, workers: options.workers });
  }

  /** Starts watching CronJobs and their Jobs and syncing in the background. */
  start(): void {
    const onError = (err: Error, source: string) => this.logger.debug({ err: err.message, source }, 'cronjob informer error');
    const cronJobs = new Informer<CronJob>(this.syscalls, { kind: 'CronJob', onError });
    const jobs = new Informer<Job>(this.syscalls, { kind: 'Job', onError });
    this.informers.push(cronJobs, jobs);
    const enqueue = (cj: CronJob) => this.runner.enqueue(controllerKey(cj));
    const enqueueOwner = (job: Job) => {
      const owner = ownerKeyOf(job, 'CronJob');
      if (owner) this.runner.enqueue(owner);
    };
    this.subscriptions.push(
      cronJobs.onAdd(enqueue),
      cronJobs.onUpdate((_old, cj) => enqueue(cj)),
      jobs.onAdd(enqueueOwner),
      jobs.onUpdate((_old, job) => enqueueOwner(job)),
      jobs.onDelete(enqueueOwner),
    );
    this.runner.start();
    cronJobs.start();
    jobs.start();
  }

  async dispose(): Promise<void> {
    for (const s of this.subscriptions.splice(0)) s.dispose();
    for (const i of this.informers.splice(0)) i.stop();
    await this.runner.stop();
  }

  /**
   * Reconciles one CronJob (`namespace/name`): trims history, runs the
   * latest missed start time if allowed, and says when the next one is due.
   * Idempotent; rejects on a failed write and the caller retries.
   */
  async sync(key: string): Promise<SyncResult> {
    const { namespace, name } = splitControllerKey(key);
    const cj = await getIfExists<CronJob>(this.syscalls, { kind: 'CronJob', namespace, name });
    if (!cj) return {};
    if (cj.metadata.deletionTimestamp || !cj.spec) return {};
    const spec = cj.spec;
    const now = this.clock.now();
    const status: CronJobStatus = { ...(cj.status ?? {}) };

    let children = await this.jobsOf(cj);
    children = await this.trimHistory(cj, children);
    const active = children.filter((j) => !jobFinished(j));
    const lastSuccess = children
      .filter((j) => jobFinished(j) === 'Complete' && j.status?.completionTime)
      .map((j) => j.status!.completionTime!).sort().pop();
    if (lastSuccess && (!status.lastSuccessfulTime || lastSuccess > status.lastSuccessfulTime)) status.lastSuccessfulTime = lastSuccess;

    let requeueAfterMs: number | undefined;
    if (!spec.suspend) {
      let schedule;
      try {
        schedule = parseSchedule(spec.schedule, spec.timeZone);
      } catch (e) {
        await this.recordEvent(cj, CRONJOB_REASONS.invalidSchedule, (e as Error).message, 'invalid-schedule');
        schedule = undefined;
      }
      if (schedule) {
        const created = await this.runDue(cj, schedule, now, active);
        if (created) {
          status.lastScheduleTime = new Date(created.scheduled).toISOString();
          if (created.job) active.push(created.job);
        }
        requeueAfterMs = schedule.next(now) - now + WAKE_SLACK_MS;
      }
    }

    const refs = active
      .filter((j) => !j.metadata.deletionTimestamp)
      .map((j) => ({ kind: 'Job', name: j.metadata.name, namespace: j.metadata.namespace, uid: j.metadata.uid }))
      .sort((a, b) => a.name.localeCompare(b.name));
    if (refs.length > 0) status.active = refs;
    else delete status.active;
    if (JSON.stringify(status) !== JSON.stringify(cj.status ?? {})) {
      await this.syscalls.call('state.update', { object: { ...cj, status } as KernObject, subresource: 'status' });
    }
    return requeueAfterMs === undefined ? {} : { requeueAfterMs };
  }

  /**
   * Runs the latest start time not yet run, if there is one within the
   * starting deadline and the concurrency policy allows it. Returns the
   * start time it settled (created, or found already created).
   */
  private async runDue(
    cj: CronJob, schedule: ReturnType<typeof parseSchedule>, now: number, active: Job[],
  ): Promise<{ scheduled: number; job?: Job } | undefined> {
    const spec = cj.spec!;
    const created = new Date(cj.metadata.creationTimestamp ?? now).getTime();
    let earliest = cj.status?.lastScheduleTime ? new Date(cj.status.lastScheduleTime).getTime() : created;
    if (spec.startingDeadlineSeconds !== undefined && spec.startingDeadlineSeconds !== null) {
      // Start times older than the deadline are skipped, not run late.
      earliest = Math.max(earliest, now - spec.startingDeadlineSeconds * 1000 - 1);
    }
    const { latest, count } = missedSchedules(schedule, earliest, now);
    if (latest === undefined) return undefined;
    if (count > MAX_MISSED_SCHEDULES) {
      await this.recordEvent(cj, CRONJOB_REASONS.tooManyMissedTimes,
        `too many missed start times (more than ${MAX_MISSED_SCHEDULES}): only the latest runs; set or decrease spec.startingDeadlineSeconds or check clock skew`,
        `missed-${Math.floor(latest / 60_000)}`);
    }
    const jobName = jobNameFor(cj.metadata.name, latest);
    const existing = active.find((j) => j.metadata.name === jobName);
    if (existing) return { scheduled: latest };
    const policy = spec.concurrencyPolicy ?? CRONJOB_DEFAULTS.concurrencyPolicy;
    const running = active.filter((j) => !j.metadata.deletionTimestamp);
    if (policy === 'Forbid' && running.length > 0) {
      this.logger.debug({ cronjob: controllerKey(cj), scheduled: new Date(latest).toISOString() }, 'start time skipped for now: a job is still active (Forbid)');
      return undefined;
    }
    if (policy === 'Replace') {
      for (const j of running) await this.deleteJob(j);
      active.splice(0, active.length, ...active.filter((j) => !running.includes(j)));
    }
    const job = this.jobFor(cj, latest, jobName);
    try {
      const made = (await this.syscalls.call('state.create', { object: job as KernObject })) as Job;
      this.logger.info({ cronjob: controllerKey(cj), job: jobName }, 'created job for scheduled time');
      return { scheduled: latest, job: made };
    } catch (e) {
      // Made before a restart (or by a concurrent sync): that run exists.
      if (isAlreadyExists(e)) return { scheduled: latest };
      throw e;
    }
  }

  /** The Job a CronJob runs at `scheduled`. */
  jobFor(cj: CronJob, scheduled: number, name = jobNameFor(cj.metadata.name, scheduled)): Job {
    const template = cj.spec!.jobTemplate;
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        namespace: cj.metadata.namespace,
        labels: { ...(template.metadata?.labels ?? {}) },
        annotations: { ...(template.metadata?.annotations ?? {}), [SCHEDULED_TIMESTAMP_ANNOTATION]: new Date(scheduled).toISOString() },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata.name, uid: cj.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
      },
      spec: structuredClone(template.spec),
    };
  }

  /** Deletes the oldest finished Jobs beyond the history limits; returns the Jobs left. */
  private async trimHistory(cj: CronJob, jobs: Job[]): Promise<Job[]> {
    const limits = {
      Complete: cj.spec?.successfulJobsHistoryLimit ?? CRONJOB_DEFAULTS.successfulJobsHistoryLimit,
      Failed: cj.spec?.failedJobsHistoryLimit ?? CRONJOB_DEFAULTS.failedJobsHistoryLimit,
    };
    const gone = new Set<Job>();
    for (const outcome of ['Complete', 'Failed'] as const) {
      const finished = jobs.filter((j) => jobFinished(j) === outcome).sort((a, b) => startOf(a) - startOf(b));
      for (const j of finished.slice(0, Math.max(0, finished.length - limits[outcome]))) {
        await this.deleteJob(j);
        gone.add(j);
      }
    }
    return jobs.filter((j) => !gone.has(j));
  }

  private async deleteJob(job: Job): Promise<void> {
    try {
      await this.syscalls.call('state.delete', { kind: 'Job', namespace: job.metadata.namespace, name: job.metadata.name });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private async jobsOf(cj: CronJob): Promise<Job[]> {
    const list = await this.syscalls.call('state.list', { kind: 'Job', namespace: cj.metadata.namespace });
    return (list.items as Job[]).filter((j) => j.metadata.ownerReferences?.some((r) => r.controller && r.kind === 'CronJob' && r.uid === cj.metadata.uid));
  }

  /** Records a Warning Event about `cj`, once per `id`. */
  private async recordEvent(cj: CronJob, reason: string, message: string, id: string): Promise<void> {
    const event = {
      ...eventObject(cj, { reason, message, type: 'Warning', component: 'cronjob-controller', name: `${cj.metadata.name}.${id}`, at: new Date(this.clock.now()) }),
      reportingComponent: 'batch',
    };
    this.logger.warn({ cronjob: controllerKey(cj), reason }, message);
    try {
      await this.syscalls.call('state.create', { object: event });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }
}

/** When a Job's run was scheduled (its annotation), else when it was created. */
function startOf(job: Job): number {
  const raw = job.metadata.annotations?.[SCHEDULED_TIMESTAMP_ANNOTATION] ?? job.metadata.creationTimestamp;
  return raw ? new Date(raw).getTime() : 0;
}
