import {
  Container, Disposable, Informer, Job, JobStatus, KernObject, Logger, Pod, Syscalls, controllerKey,
  isNotFound, silentLogger, splitControllerKey,
  getIfExists,
} from '@kern/sdk';
import { Clock, systemClock } from './clock';
import { formatIndexes } from './completed-indexes';
import { setCondition, trueCondition } from './conditions';
import { ControllerRunner, SyncResult } from './controller-runner';

/** Label every pod of a Job carries: the Job's name. */
export const JOB_NAME_LABEL = 'job-name';
/** Label every pod of a Job carries: the Job's uid (what the controller selects by). */
export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
/** Annotation holding an Indexed Job pod's completion index. */
export const COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';
/** Environment variable holding an Indexed Job pod's completion index. */
export const COMPLETION_INDEX_ENV = 'JOB_COMPLETION_INDEX';

/** Condition reasons the Job controller writes. */
export const JOB_REASONS = {
  completionsReached: 'CompletionsReached',
  backoffLimitExceeded: 'BackoffLimitExceeded',
  deadlineExceeded: 'DeadlineExceeded',
  suspended: 'JobSuspended',
  resumed: 'JobResumed',
} as const;

/** Defaults, as in Kubernetes. */
export const JOB_DEFAULTS = { parallelism: 1, backoffLimit: 6 } as const;

export interface JobControllerOptions {
  clock?: Clock;
  logger?: Logger;
  /** Jobs synced at the same time. Default 2. */
  workers?: number;
}

/** True when the Job has a Complete or Failed condition. */
export function jobFinished(job: Job): 'Complete' | 'Failed' | undefined {
  if (trueCondition(job.status?.conditions, 'Complete')) return 'Complete';
  if (trueCondition(job.status?.conditions, 'Failed')) return 'Failed';
  return undefined;
}

const SUFFIX_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += SUFFIX_CHARS[Math.floor(Math.random() * SUFFIX_CHARS.length)];
  return s;
}

function isTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

function indexOf(pod: Pod): number | undefined {
  const raw = pod.metadata.annotations?.[COMPLETION_INDEX_ANNOTATION];
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}

/**
 * The Job controller (batch/v1): creates a Job's pods, up to `parallelism`
 * at a time, until `completions` of them succeeded; counts failures against
 * `backoffLimit`; enforces `activeDeadlineSeconds`; deletes finished Jobs
 * after `ttlSecondsAfterFinished`; gives Indexed pods their index.
 *
 * Each sync reads the Job and its pods straight from the state syscalls
 * (not from an informer cache), so it never acts on a stale view and needs
 * no creation "expectations". Informers only decide which Job to sync.
 */
export class JobController implements Disposable {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly runner: ControllerRunner;
  private readonly informers: Informer[] = [];
  private readonly subscriptions: Disposable[] = [];

  constructor(private readonly syscalls: Syscalls, options: JobControllerOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.runner = new ControllerRunner('job', (key) => this.sync(key), { logger: this.logger, workers: options.workers });
  }

  /** Starts watching Jobs and their pods and syncing them in the background. */
  start(): void {
    const onError = (err: Error, source: string) => this.logger.debug({ err: err.message, source }, 'job informer error');
    const jobs = new Informer<Job>(this.syscalls, { kind: 'Job', onError });
    const pods = new Informer<Pod>(this.syscalls, { kind: 'Pod', labelSelector: JOB_NAME_LABEL, onError });
    this.informers.push(jobs, pods);
    const enqueueJob = (job: Job) => this.runner.enqueue(controllerKey(job));
    const enqueueOwner = (pod: Pod) => {
      const owner = pod.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'Job');
      const name = owner?.name ?? pod.metadata.labels?.[JOB_NAME_LABEL];
      if (name) this.runner.enqueue(controllerKey({ metadata: { name, namespace: pod.metadata.namespace } }));
    };
    this.subscriptions.push(
      jobs.onAdd(enqueueJob),
      jobs.onUpdate((_old, job) => enqueueJob(job)),
      jobs.onDelete((job) => this.deletePodsOf(job).catch((e) => this.logger.warn({ job: controllerKey(job), err: String(e) }, 'deleting pods of a deleted job failed'))),
      pods.onAdd(enqueueOwner),
      pods.onUpdate((_old, pod) => enqueueOwner(pod)),
      pods.onDelete(enqueueOwner),
    );
    this.runner.start();
    jobs.start();
    pods.start();
  }

  async dispose(): Promise<void> {
    for (const s of this.subscriptions.splice(0)) s.dispose();
    for (const i of this.informers.splice(0)) i.stop();
    await this.runner.stop();
  }

  /**
   * Reconciles one Job (`namespace/name`). Idempotent: running it again with
   * nothing changed writes nothing. Rejects on a failed write (a Conflict
   * included); the caller retries.
   */
  async sync(key: string): Promise<SyncResult> {
    const { namespace, name } = splitControllerKey(key);
    const job = await getIfExists<Job>(this.syscalls, { kind: 'Job', namespace, name });
    if (!job) return {};
    if (job.metadata.deletionTimestamp) return {};
    const spec = job.spec;
    if (!spec?.template) return {};
    const now = this.clock.now();
    const nowIso = new Date(now).toISOString();
    const pods = await this.podsOf(job);

    const finished = jobFinished(job);
    if (finished) {
      // Pods still running when the Job ended (a failure, or more in flight
      // than needed) are stopped.
      await this.deletePods(pods.filter((p) => !isTerminal(p) && !p.metadata.deletionTimestamp));
      return this.expireIfDue(job, pods, now);
    }

    const status: JobStatus = { ...(job.status ?? {}) };
    const live = pods.filter((p) => !isTerminal(p));
    const active = live.filter((p) => !p.metadata.deletionTimestamp);
    const succeededPods = pods.filter((p) => p.status?.phase === 'Succeeded');
    const failedPods = pods.filter((p) => p.status?.phase === 'Failed' && !p.metadata.deletionTimestamp);
    const restarts = spec.template.spec.restartPolicy === 'OnFailure'
      ? active.reduce((n, p) => n + (p.status?.containerStatuses ?? []).reduce((m, c) => m + (c.restartCount ?? 0), 0), 0)
      : 0;
    const failed = failedPods.length + restarts;
    const indexed = spec.completionMode === 'Indexed';
    const completions = spec.completions;
    const succeededIndexes = new Set<number>();
    if (indexed) {
      for (const p of succeededPods) {
        const i = indexOf(p);
        if (i !== undefined && completions !== undefined && i < completions) succeededIndexes.add(i);
      }
    }
    const succeeded = indexed ? succeededIndexes.size : succeededPods.length;
    status.succeeded = succeeded;
    status.failed = failed;
    if (indexed) status.completedIndexes = formatIndexes(succeededIndexes);

    let requeueAfterMs: number | undefined;
    const finish = async (type: 'Complete' | 'Failed', reason: string, message: string) => {
      await this.deletePods(active);
      status.active = 0;
      status.conditions = setCondition(status.conditions, type, 'True', reason, message, nowIso);
      if (type === 'Complete') status.completionTime = nowIso;
      requeueAfterMs = this.ttlDelay(job, now, now);
    };

    if (spec.suspend) {
      await this.deletePods(active);
      status.active = 0;
      delete status.startTime;
      status.conditions = setCondition(status.conditions, 'Suspended', 'True', JOB_REASONS.suspended, 'job suspended', nowIso);
    } else {
      if (trueCondition(status.conditions, 'Suspended')) {
        status.conditions = setCondition(status.conditions, 'Suspended', 'False', JOB_REASONS.resumed, 'job resumed', nowIso);
      }
      status.startTime ??= nowIso;
      const backoffLimit = spec.backoffLimit ?? JOB_DEFAULTS.backoffLimit;
      const deadlineAt = spec.activeDeadlineSeconds !== undefined
        ? new Date(status.startTime).getTime() + spec.activeDeadlineSeconds * 1000 : undefined;
      const done = indexed
        ? completions !== undefined && succeeded >= completions
        : completions !== undefined ? succeeded >= completions : succeeded > 0 && active.length === 0;
      if (done) {
        await finish('Complete', JOB_REASONS.completionsReached, `${succeeded} of ${completions ?? succeeded} completions succeeded`);
      } else if (failed > backoffLimit) {
        await finish('Failed', JOB_REASONS.backoffLimitExceeded, `job has reached the specified backoff limit (${backoffLimit} retries; ${failed} failed)`);
      } else if (deadlineAt !== undefined && now >= deadlineAt) {
        await finish('Failed', JOB_REASONS.deadlineExceeded, `job was active longer than activeDeadlineSeconds (${spec.activeDeadlineSeconds} s)`);
      } else {
        const created = await this.createPods(job, live, succeeded, succeededIndexes);
        status.active = active.length + created;
        if (deadlineAt !== undefined) requeueAfterMs = deadlineAt - now;
      }
    }

    if (JSON.stringify(status) !== JSON.stringify(job.status ?? {})) {
      await this.syscalls.call('state.update', { object: { ...job, status } as KernObject, subresource: 'status' });
    }
    return requeueAfterMs === undefined ? {} : { requeueAfterMs };
  }

  /** Creates the pods that are missing; returns how many it made. */
  private async createPods(job: Job, live: Pod[], succeeded: number, succeededIndexes: Set<number>): Promise<number> {
    const spec = job.spec!;
    const parallelism = spec.parallelism ?? JOB_DEFAULTS.parallelism;
    // Terminating pods still hold their slot: their containers may be running.
    let slots = Math.max(0, parallelism - live.length);
    const toCreate: (number | undefined)[] = [];
    if (spec.completionMode === 'Indexed') {
      const busy = new Set(live.map(indexOf).filter((i): i is number => i !== undefined));
      for (let i = 0; i < (spec.completions ?? 0) && slots > 0; i++) {
        if (succeededIndexes.has(i) || busy.has(i)) continue;
        toCreate.push(i);
        slots--;
      }
    } else {
      const remaining = spec.completions !== undefined ? spec.completions - succeeded - live.length : succeeded > 0 ? 0 : slots;
      for (let n = Math.min(slots, remaining); n > 0; n--) toCreate.push(undefined);
    }
    for (const index of toCreate) await this.syscalls.call('state.create', { object: this.podFor(job, index) as KernObject });
    if (toCreate.length > 0) this.logger.debug({ job: controllerKey(job), created: toCreate.length }, 'created job pods');
    return toCreate.length;
  }

  /** The pod for one run of `job` (with `index` for an Indexed Job). */
  podFor(job: Job, index?: number): Pod {
    const template = job.spec!.template;
    const name = job.metadata.name;
    const withIndex = (c: Container): Container => index === undefined ? c : {
      ...c,
      env: [...(c.env ?? []).filter((e) => e.name !== COMPLETION_INDEX_ENV), { name: COMPLETION_INDEX_ENV, value: String(index) }],
    };
    const podSpec = { ...template.spec, containers: template.spec.containers.map(withIndex) };
    if (template.spec.initContainers) podSpec.initContainers = template.spec.initContainers.map(withIndex);
    if (index !== undefined && !podSpec.hostname) podSpec.hostname = `${name}-${index}`.slice(0, 63).replace(/-+$/, '');
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${index === undefined ? name : `${name}-${index}`}-${randomSuffix()}`,
        namespace: job.metadata.namespace,
        labels: { ...(template.metadata?.labels ?? {}), [JOB_NAME_LABEL]: name, [CONTROLLER_UID_LABEL]: job.metadata.uid ?? '' },
        annotations: {
          ...(template.metadata?.annotations ?? {}),
          ...(index === undefined ? {} : { [COMPLETION_INDEX_ANNOTATION]: String(index) }),
        },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid: job.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
      },
      spec: podSpec,
    };
  }

  /** Deletes a finished Job and its pods once its TTL has passed; otherwise says when to look again. */
  private async expireIfDue(job: Job, pods: Pod[], now: number): Promise<SyncResult> {
    const finishedAt = job.status?.completionTime ?? trueCondition(job.status?.conditions, 'Failed')?.lastTransitionTime;
    const delay = this.ttlDelay(job, finishedAt ? new Date(finishedAt).getTime() : now, now);
    if (delay === undefined) return {};
    if (delay > 0) return { requeueAfterMs: delay };
    await this.deletePods(pods);
    try {
      await this.syscalls.call('state.delete', { kind: 'Job', namespace: job.metadata.namespace, name: job.metadata.name, resourceVersion: job.metadata.resourceVersion });
      this.logger.info({ job: controllerKey(job) }, 'deleted finished job after ttlSecondsAfterFinished');
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    return {};
  }

  /** Milliseconds until a Job that finished at `finishedAt` expires; undefined without a TTL. */
  private ttlDelay(job: Job, finishedAt: number, now: number): number | undefined {
    const ttl = job.spec?.ttlSecondsAfterFinished;
    if (ttl === undefined || ttl === null) return undefined;
    return Math.max(0, finishedAt + ttl * 1000 - now);
  }

  /** The pods `job` controls (by uid label and controller reference). */
  private async podsOf(job: Job): Promise<Pod[]> {
    const uid = job.metadata.uid;
    const list = await this.syscalls.call('state.list', {
      kind: 'Pod', namespace: job.metadata.namespace, labelSelector: uid ? `${CONTROLLER_UID_LABEL}=${uid}` : `${JOB_NAME_LABEL}=${job.metadata.name}`,
    });
    return (list.items as Pod[]).filter((p) => p.metadata.ownerReferences?.some((r) => r.controller && r.kind === 'Job' && r.uid === uid));
  }

  private async deletePodsOf(job: Job): Promise<void> {
    await this.deletePods(await this.podsOf(job));
  }

  private async deletePods(pods: Pod[]): Promise<void> {
    for (const p of pods) {
      if (p.metadata.deletionTimestamp) continue;
      try {
        await this.syscalls.call('state.delete', { kind: 'Pod', namespace: p.metadata.namespace, name: p.metadata.name });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }
}
