import { ContainerStatus, CronJob, DaemonSet, Deployment, Job, KernObject, Node, Pod, ReplicaSet } from '@kern/sdk';
import { age, humanDuration } from './human-duration';

/** One column of `kern get`: a header and how to read the cell from an object. */
export interface Column {
  header: string;
  /** Shown only with `-o wide`. */
  wide?: boolean;
  cell(obj: KernObject, now: number): string;
}

const NONE = '<none>';

export const NAME_COLUMN: Column = { header: 'NAME', cell: (o) => o.metadata?.name ?? '' };
export const AGE_COLUMN: Column = { header: 'AGE', cell: (o, now) => age(o.metadata?.creationTimestamp, now) };
export const NAMESPACE_COLUMN: Column = { header: 'NAMESPACE', cell: (o) => o.metadata?.namespace ?? '' };

/** Columns for kinds without a row in {@link KIND_COLUMNS}. */
export const DEFAULT_COLUMNS: readonly Column[] = [NAME_COLUMN, AGE_COLUMN];

const col = (header: string, cell: Column['cell'], wide = false): Column => ({ header, cell, wide });

/** `READY` of a pod: ready containers / containers in the spec. */
export function podReady(pod: Pod): string {
  const total = pod.spec?.containers?.length ?? 0;
  const ready = (pod.status?.containerStatuses ?? []).filter((c) => c.ready).length;
  return `${ready}/${total}`;
}

export function podRestarts(pod: Pod): string {
  const sum = (list?: ContainerStatus[]) => (list ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
  return String(sum(pod.status?.containerStatuses) + sum(pod.status?.initContainerStatuses));
}

/**
 * `STATUS` of a pod, as kubectl derives it: the phase, overridden by the
 * reason of an init container still at work, then by a waiting or terminated
 * container's reason, and `Terminating` once deletion was asked for.
 */
export function podStatus(pod: Pod): string {
  const status = pod.status ?? {};
  let reason: string = status.reason || status.phase || 'Pending';
  let initializing = false;
  const inits = status.initContainerStatuses ?? [];
  for (let i = 0; i < inits.length; i++) {
    const s = inits[i].state ?? {};
    if (s.terminated && s.terminated.exitCode === 0) continue;
    initializing = true;
    if (s.terminated) {
      reason = `Init:${s.terminated.reason || `ExitCode:${s.terminated.exitCode}`}`;
    } else if (s.waiting?.reason && s.waiting.reason !== 'PodInitializing') {
      reason = `Init:${s.waiting.reason}`;
    } else {
      reason = `Init:${i}/${pod.spec?.initContainers?.length ?? inits.length}`;
    }
    break;
  }
  if (!initializing) {
    let hasRunning = false;
    for (const c of [...(status.containerStatuses ?? [])].reverse()) {
      const s = c.state ?? {};
      if (s.waiting?.reason) reason = s.waiting.reason;
      else if (s.terminated?.reason) reason = s.terminated.reason;
      else if (s.terminated) reason = `ExitCode:${s.terminated.exitCode}`;
      else if (c.ready && s.running) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) {
      const ready = status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      reason = ready ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata?.deletionTimestamp) reason = status.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

export function nodeStatus(node: Node): string {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const parts = [ready?.status === 'True' ? 'Ready' : ready?.status === 'False' ? 'NotReady' : 'Unknown'];
  if (node.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

export function nodeRoles(node: Node): string {
  const prefix = 'node-role.kubernetes.io/';
  const roles = Object.keys(node.metadata?.labels ?? {})
    .filter((k) => k.startsWith(prefix) && k.length > prefix.length)
    .map((k) => k.slice(prefix.length));
  const role = node.metadata?.labels?.['kubernetes.io/role'];
  if (role) roles.push(role);
  return roles.length ? [...new Set(roles)].sort().join(',') : NONE;
}

function nodeAddress(node: Node, type: string): string {
  return node.status?.addresses?.find((a) => a.type === type)?.address || NONE;
}

/** `COMPLETIONS` of a Job, as kubectl prints it: `succeeded/completions`. */
export function jobCompletions(job: Job): string {
  const succeeded = job.status?.succeeded ?? 0;
  if (job.spec?.completions !== undefined) return `${succeeded}/${job.spec.completions}`;
  const parallelism = job.spec?.parallelism ?? 1;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

/** `DURATION` of a Job: start to completion, or to now while it runs; empty before it starts. */
export function jobDuration(job: Job, now: number): string {
  const start = job.status?.startTime;
  if (!start) return '';
  const end = job.status?.completionTime ? new Date(job.status.completionTime).getTime() : now;
  return humanDuration(Math.max(0, end - new Date(start).getTime()));
}

/**
 * Columns per kind, the one place `kern get` learns how to print a kind. A
 * new kind (Deployment, Service, ...) adds a row here.
 */
export const KIND_COLUMNS: Readonly<Record<string, readonly Column[]>> = {
  Pod: [
    NAME_COLUMN,
    col('READY', (o) => podReady(o as Pod)),
    col('STATUS', (o) => podStatus(o as Pod)),
    col('RESTARTS', (o) => podRestarts(o as Pod)),
    AGE_COLUMN,
    col('IP', (o) => (o as Pod).status?.podIP || NONE, true),
    col('NODE', (o) => (o as Pod).spec?.nodeName || NONE, true),
  ],
  Node: [
    NAME_COLUMN,
    col('STATUS', (o) => nodeStatus(o as Node)),
    col('ROLES', (o) => nodeRoles(o as Node)),
    AGE_COLUMN,
    col('VERSION', (o) => (o as Node).status?.nodeInfo?.kernVersion || NONE),
    col('INTERNAL-IP', (o) => nodeAddress(o as Node, 'InternalIP'), true),
    col('OS-IMAGE', (o) => (o as Node).status?.nodeInfo?.osImage || NONE, true),
    col('KERNEL-VERSION', (o) => (o as Node).status?.nodeInfo?.kernelVersion || NONE, true),
    col('CONTAINER-RUNTIME', (o) => (o as Node).status?.nodeInfo?.containerRuntimeVersion || NONE, true),
  ],
  Namespace: [
    NAME_COLUMN,
    col('STATUS', (o) => (o.metadata?.deletionTimestamp ? 'Terminating' : (o.status as { phase?: string })?.phase || 'Active')),
    AGE_COLUMN,
  ],
  ConfigMap: [
    NAME_COLUMN,
    col('DATA', (o) => {
      const c = o as KernObject & { data?: object; binaryData?: object };
      return String(Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length);
    }),
    AGE_COLUMN,
  ],
  Job: [
    NAME_COLUMN,
    col('COMPLETIONS', (o) => jobCompletions(o as Job)),
    col('DURATION', (o, now) => jobDuration(o as Job, now)),
    AGE_COLUMN,
  ],
  CronJob: [
    NAME_COLUMN,
    col('SCHEDULE', (o) => (o as CronJob).spec?.schedule ?? ''),
    col('SUSPEND', (o) => ((o as CronJob).spec?.suspend ? 'True' : 'False')),
    col('ACTIVE', (o) => String((o as CronJob).status?.active?.length ?? 0)),
    col('LAST SCHEDULE', (o, now) => {
      const last = (o as CronJob).status?.lastScheduleTime;
      return last ? age(last, now) : NONE;
    }),
    AGE_COLUMN,
  ],
  Deployment: [
    NAME_COLUMN,
    col('READY', (o) => `${(o as Deployment).status?.readyReplicas ?? 0}/${(o as Deployment).spec?.replicas ?? 1}`),
    col('UP-TO-DATE', (o) => String((o as Deployment).status?.updatedReplicas ?? 0)),
    col('AVAILABLE', (o) => String((o as Deployment).status?.availableReplicas ?? 0)),
    AGE_COLUMN,
    col('CONTAINERS', (o) => (o as Deployment).spec?.template?.spec?.containers?.map((c) => c.name).join(',') ?? '', true),
    col('IMAGES', (o) => (o as Deployment).spec?.template?.spec?.containers?.map((c) => c.image).join(',') ?? '', true),
  ],
  ReplicaSet: [
    NAME_COLUMN,
    col('DESIRED', (o) => String((o as ReplicaSet).spec?.replicas ?? 1)),
    col('CURRENT', (o) => String((o as ReplicaSet).status?.replicas ?? 0)),
    col('READY', (o) => String((o as ReplicaSet).status?.readyReplicas ?? 0)),
    AGE_COLUMN,
    col('IMAGES', (o) => (o as ReplicaSet).spec?.template?.spec?.containers?.map((c) => c.image).join(',') ?? '', true),
  ],
  DaemonSet: [
    NAME_COLUMN,
    col('DESIRED', (o) => String((o as DaemonSet).status?.desiredNumberScheduled ?? 0)),
    col('CURRENT', (o) => String((o as DaemonSet).status?.currentNumberScheduled ?? 0)),
    col('READY', (o) => String((o as DaemonSet).status?.numberReady ?? 0)),
    col('UP-TO-DATE', (o) => String((o as DaemonSet).status?.updatedNumberScheduled ?? 0)),
    col('AVAILABLE', (o) => String((o as DaemonSet).status?.numberAvailable ?? 0)),
    AGE_COLUMN,
  ],
  // as kubectl get events: no NAME (generated), the object the event is about instead
  Event: [
    col('LAST SEEN', (o, now) => age(eventField(o, 'lastTimestamp') || o.metadata?.creationTimestamp, now)),
    col('TYPE', (o) => eventField(o, 'type')),
    col('REASON', (o) => eventField(o, 'reason')),
    col('OBJECT', (o) => {
      const about = (o as { involvedObject?: { kind?: string; name?: string } }).involvedObject;
      return about?.kind ? `${about.kind.toLowerCase()}/${about.name ?? ''}` : '';
    }),
    col('MESSAGE', (o) => eventField(o, 'message')),
  ],
  Lease: [
    NAME_COLUMN,
    col('HOLDER', (o) => (o.spec as { holderIdentity?: string })?.holderIdentity || ''),
    AGE_COLUMN,
  ],
};

function eventField(o: KernObject, field: 'lastTimestamp' | 'type' | 'reason' | 'message'): string {
  const v = (o as unknown as Record<string, unknown>)[field];
  return typeof v === 'string' ? v : '';
}

export interface ColumnOptions {
  wide?: boolean;
  /** Add NAMESPACE first (for `-A` on a namespaced kind). */
  withNamespace?: boolean;
}

export function columnsFor(kind: string, options: ColumnOptions = {}): Column[] {
  const base = (KIND_COLUMNS[kind] ?? DEFAULT_COLUMNS).filter((c) => options.wide || !c.wide);
  return options.withNamespace ? [NAMESPACE_COLUMN, ...base] : base;
}

export function headerOf(columns: readonly Column[]): string[] {
  return columns.map((c) => c.header);
}

/**
 * The cells of one row. `namePrefix` (`pod/`) marks rows when several kinds
 * share the output, as kubectl does.
 */
export function rowOf(obj: KernObject, columns: readonly Column[], now: number, namePrefix = ''): string[] {
  return columns.map((c) => (c === NAME_COLUMN ? namePrefix + c.cell(obj, now) : c.cell(obj, now)));
}
