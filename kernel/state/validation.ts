import { KernObject, KindInfo, TAINT_EFFECTS, Taint, errors, parseCpuMillis, parseMemoryBytes } from '@kern/sdk';

/**
 * Checks a manifest before it reaches the store. Each failure is an Invalid
 * error naming the field path and saying what to write instead.
 */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

const TOP_LEVEL = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status', 'data', 'binaryData', 'type', 'involvedObject', 'reason', 'message', 'source', 'count', 'firstTimestamp', 'lastTimestamp', 'eventTime', 'reportingComponent', 'reportingInstance', 'immutable', 'value', 'globalDefault', 'description', 'preemptionPolicy', 'revision']);
const METADATA = new Set(['name', 'generateName', 'namespace', 'uid', 'labels', 'annotations', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'ownerReferences', 'finalizers', 'managedFields', 'selfLink']);
const POD_SPEC = new Set(['containers', 'initContainers', 'volumes', 'restartPolicy', 'terminationGracePeriodSeconds', 'activeDeadlineSeconds', 'nodeName', 'nodeSelector', 'affinity', 'tolerations', 'priority', 'priorityClassName', 'schedulerName', 'hostname', 'subdomain', 'serviceAccountName', 'dnsPolicy', 'hostNetwork', 'securityContext', 'imagePullSecrets', 'enableServiceLinks', 'topologySpreadConstraints', 'runtimeClassName', 'shareProcessNamespace', 'automountServiceAccountToken', 'preemptionPolicy', 'readinessGates', 'overhead']);
const CONTAINER = new Set(['name', 'image', 'command', 'args', 'workingDir', 'env', 'envFrom', 'ports', 'resources', 'volumeMounts', 'livenessProbe', 'readinessProbe', 'startupProbe', 'imagePullPolicy', 'restartPolicy', 'lifecycle', 'securityContext', 'stdin', 'tty', 'terminationMessagePath', 'terminationMessagePolicy']);

type Check = (value: unknown, path: string) => void;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function noUnknownFields(obj: Record<string, unknown>, allowed: Set<string>, path: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.has(k)) {
      const near = [...allowed].find((a) => a.toLowerCase() === k.toLowerCase() || editDistance(a, k) <= 2);
      throw errors.invalid(path ? `${path}.${k}` : k, `unknown field${near ? ` (did you mean "${near}"?)` : ''}`);
    }
  }
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

const str: Check = (v, p) => { if (typeof v !== 'string') throw errors.invalid(p, `must be a string, got ${JSON.stringify(v)}`); };
const stringMap = (keyRe: RegExp | null, valueRe: RegExp | null, what: string): Check => (v, p) => {
  if (!isPlainObject(v)) throw errors.invalid(p, `must be a map of strings`);
  for (const [k, val] of Object.entries(v)) {
    if (keyRe && (k.length > 316 || !keyRe.test(k))) throw errors.invalid(`${p}.${k}`, `bad ${what} key (use letters, digits, '-', '_', '.', with an optional dns prefix and '/')`);
    if (typeof val !== 'string') throw errors.invalid(`${p}.${k}`, `must be a string (quote numbers and booleans: "${String(val)}")`);
    if (valueRe && (val.length > 63 || !valueRe.test(val))) throw errors.invalid(`${p}.${k}`, `bad ${what} value "${val}" (at most 63 letters, digits, '-', '_', '.')`);
  }
};

function checkMetadata(obj: KernObject, kind: KindInfo): void {
  const md = obj.metadata as unknown;
  if (!isPlainObject(md)) throw errors.invalid('metadata', 'is required and must be an object');
  noUnknownFields(md, METADATA, 'metadata');
  const name = md.name;
  if (typeof name !== 'string' || name === '') throw errors.invalid('metadata.name', 'is required');
  const nameRe = kind.kind === 'Namespace' ? DNS_LABEL : DNS_SUBDOMAIN;
  const max = kind.kind === 'Namespace' ? 63 : 253;
  if (name.length > max || !nameRe.test(name)) {
    throw errors.invalid('metadata.name', `"${name}" is not a valid name: use at most ${max} lower-case letters, digits and '-'${nameRe === DNS_SUBDOMAIN ? " or '.'" : ''}, starting and ending with a letter or digit`);
  }
  if (md.namespace !== undefined && md.namespace !== '') {
    str(md.namespace, 'metadata.namespace');
    if (!kind.namespaced) throw errors.invalid('metadata.namespace', `${kind.kind} is cluster-scoped: remove metadata.namespace`);
    if (!DNS_LABEL.test(md.namespace as string)) throw errors.invalid('metadata.namespace', `"${md.namespace}" is not a valid namespace name`);
  }
  if (md.labels !== undefined) stringMap(LABEL_KEY, LABEL_VALUE, 'label')(md.labels, 'metadata.labels');
  if (md.annotations !== undefined) stringMap(LABEL_KEY, null, 'annotation')(md.annotations, 'metadata.annotations');
  if (md.finalizers !== undefined) {
    if (!Array.isArray(md.finalizers)) throw errors.invalid('metadata.finalizers', 'must be a list of strings');
    md.finalizers.forEach((f, i) => str(f, `metadata.finalizers[${i}]`));
  }
  if (md.ownerReferences !== undefined) {
    if (!Array.isArray(md.ownerReferences)) throw errors.invalid('metadata.ownerReferences', 'must be a list');
    md.ownerReferences.forEach((r, i) => {
      const p = `metadata.ownerReferences[${i}]`;
      if (!isPlainObject(r)) throw errors.invalid(p, 'must be an object');
      for (const f of ['apiVersion', 'kind', 'name', 'uid']) str(r[f], `${p}.${f}`);
    });
  }
  if (md.resourceVersion !== undefined && (typeof md.resourceVersion !== 'string' || !/^\d*$/.test(md.resourceVersion))) {
    throw errors.invalid('metadata.resourceVersion', 'must be the decimal string the server returned');
  }
}

function checkQuantities(v: unknown, p: string): void {
  if (v === undefined) return;
  if (!isPlainObject(v)) throw errors.invalid(p, 'must be a map like {cpu: 500m, memory: 256Mi}');
  for (const [k, q] of Object.entries(v)) {
    if (typeof q !== 'string' && typeof q !== 'number') throw errors.invalid(`${p}.${k}`, 'must be a quantity like 500m or 256Mi');
    if (k === 'cpu') parseCpuMillis(q, `${p}.${k}`);
    else parseMemoryBytes(q, `${p}.${k}`);
  }
}

function checkContainer(c: unknown, p: string, names: Set<string>): void {
  if (!isPlainObject(c)) throw errors.invalid(p, 'must be an object with name and image');
  noUnknownFields(c, CONTAINER, p);
  if (typeof c.name !== 'string' || !DNS_LABEL.test(c.name) || c.name.length > 63) {
    throw errors.invalid(`${p}.name`, `is required: lower-case letters, digits and '-', at most 63`);
  }
  if (names.has(c.name)) throw errors.invalid(`${p}.name`, `"${c.name}" is used by another container of this pod`);
  names.add(c.name);
  if (typeof c.image !== 'string' || c.image.trim() === '') throw errors.invalid(`${p}.image`, 'is required (an image name such as busybox:latest)');
  for (const f of ['command', 'args'] as const) {
    if (c[f] === undefined) continue;
    if (!Array.isArray(c[f])) throw errors.invalid(`${p}.${f}`, 'must be a list of strings');
    (c[f] as unknown[]).forEach((s, i) => str(s, `${p}.${f}[${i}]`));
  }
  if (c.env !== undefined) {
    if (!Array.isArray(c.env)) throw errors.invalid(`${p}.env`, 'must be a list of {name, value}');
    c.env.forEach((e, i) => {
      if (!isPlainObject(e) || typeof e.name !== 'string' || !e.name) throw errors.invalid(`${p}.env[${i}].name`, 'is required');
      if (e.value !== undefined) str(e.value, `${p}.env[${i}].value`);
    });
  }
  if (c.ports !== undefined) {
    if (!Array.isArray(c.ports)) throw errors.invalid(`${p}.ports`, 'must be a list');
    c.ports.forEach((port, i) => {
      const cp = isPlainObject(port) ? port.containerPort : undefined;
      if (typeof cp !== 'number' || !Number.isInteger(cp) || cp < 1 || cp > 65535) {
        throw errors.invalid(`${p}.ports[${i}].containerPort`, 'must be an integer between 1 and 65535');
      }
    });
  }
  if (c.resources !== undefined) {
    if (!isPlainObject(c.resources)) throw errors.invalid(`${p}.resources`, 'must be {requests, limits}');
    noUnknownFields(c.resources, new Set(['requests', 'limits', 'claims']), `${p}.resources`);
    checkQuantities(c.resources.requests, `${p}.resources.requests`);
    checkQuantities(c.resources.limits, `${p}.resources.limits`);
  }
}

function checkPodSpec(spec: unknown, p: string): void {
  if (!isPlainObject(spec)) throw errors.invalid(p, 'is required: a pod needs spec.containers');
  noUnknownFields(spec, POD_SPEC, p);
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) {
    throw errors.invalid(`${p}.containers`, 'must list at least one container');
  }
  const names = new Set<string>();
  spec.containers.forEach((c, i) => checkContainer(c, `${p}.containers[${i}]`, names));
  if (spec.initContainers !== undefined) {
    if (!Array.isArray(spec.initContainers)) throw errors.invalid(`${p}.initContainers`, 'must be a list');
    spec.initContainers.forEach((c, i) => checkContainer(c, `${p}.initContainers[${i}]`, names));
  }
  if (spec.restartPolicy !== undefined && !['Always', 'OnFailure', 'Never'].includes(spec.restartPolicy as string)) {
    throw errors.invalid(`${p}.restartPolicy`, `must be Always, OnFailure or Never, got ${JSON.stringify(spec.restartPolicy)}`);
  }
  if (spec.terminationGracePeriodSeconds !== undefined) {
    const g = spec.terminationGracePeriodSeconds;
    if (typeof g !== 'number' || !Number.isInteger(g) || g < 0) throw errors.invalid(`${p}.terminationGracePeriodSeconds`, 'must be a whole number of seconds ≥ 0');
  }
  if (spec.nodeSelector !== undefined) stringMap(null, null, 'node selector')(spec.nodeSelector, `${p}.nodeSelector`);
  if (spec.runtimeClassName !== undefined && (typeof spec.runtimeClassName !== 'string' || !DNS_LABEL.test(spec.runtimeClassName))) {
    throw errors.invalid(`${p}.runtimeClassName`, `must name a runtime driver (a DNS label such as "raw-exec"; see kern plugin list), got ${JSON.stringify(spec.runtimeClassName)}`);
  }
  if (spec.tolerations !== undefined) checkTolerations(spec.tolerations, `${p}.tolerations`);
  if (spec.volumes !== undefined) {
    if (!Array.isArray(spec.volumes)) throw errors.invalid(`${p}.volumes`, 'must be a list');
    const vnames = new Set<string>();
    spec.volumes.forEach((v, i) => {
      if (!isPlainObject(v) || typeof v.name !== 'string' || !DNS_LABEL.test(v.name)) throw errors.invalid(`${p}.volumes[${i}].name`, 'is required (a DNS label)');
      if (vnames.has(v.name)) throw errors.invalid(`${p}.volumes[${i}].name`, `"${v.name}" is used twice`);
      vnames.add(v.name);
    });
  }
}

const TOLERATION = new Set(['key', 'operator', 'value', 'effect', 'tolerationSeconds']);

/** Tolerations as Kubernetes accepts them (operator Equal or Exists; tolerationSeconds only with NoExecute). */
function checkTolerations(tolerations: unknown, p: string): void {
  if (!Array.isArray(tolerations)) throw errors.invalid(p, 'must be a list of tolerations');
  tolerations.forEach((t, i) => {
    const at = `${p}[${i}]`;
    if (!isPlainObject(t)) throw errors.invalid(at, 'must be a mapping such as {key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}');
    noUnknownFields(t, TOLERATION, at);
    for (const f of ['key', 'value'] as const) {
      if (t[f] !== undefined && typeof t[f] !== 'string') throw errors.invalid(`${at}.${f}`, 'must be a string');
    }
    const operator = t.operator || 'Equal'; // '' is Equal too, as Kubernetes reads it
    if (operator !== 'Equal' && operator !== 'Exists') throw errors.invalid(`${at}.operator`, `must be Equal or Exists, got ${JSON.stringify(t.operator)}`);
    if (operator === 'Exists' && t.value) throw errors.invalid(`${at}.value`, 'must be empty when operator is Exists');
    if (!t.key && operator !== 'Exists') throw errors.invalid(`${at}.operator`, 'must be Exists when key is empty (a toleration of every taint)');
    if (t.effect !== undefined && t.effect !== '' && !TAINT_EFFECTS.includes(t.effect as Taint['effect'])) {
      throw errors.invalid(`${at}.effect`, `must be NoSchedule, PreferNoSchedule or NoExecute (or empty for all), got ${JSON.stringify(t.effect)}`);
    }
    if (t.tolerationSeconds !== undefined) {
      if (typeof t.tolerationSeconds !== 'number' || !Number.isInteger(t.tolerationSeconds)) {
        throw errors.invalid(`${at}.tolerationSeconds`, `must be a whole number of seconds, got ${JSON.stringify(t.tolerationSeconds)}`);
      }
      if (t.effect !== 'NoExecute') throw errors.invalid(`${at}.effect`, 'must be NoExecute when tolerationSeconds is set (it says how long the pod may stay on a NoExecute-tainted node)');
    }
  });
}

const JOB_SPEC = new Set(['template', 'completions', 'parallelism', 'backoffLimit', 'activeDeadlineSeconds', 'ttlSecondsAfterFinished', 'completionMode', 'selector', 'suspend']);
const CRONJOB_SPEC = new Set(['schedule', 'timeZone', 'concurrencyPolicy', 'startingDeadlineSeconds', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit', 'suspend', 'jobTemplate']);

function wholeNumber(v: unknown, p: string, min: number): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw errors.invalid(p, `must be a whole number ≥ ${min}, got ${JSON.stringify(v)}`);
}

function optionalBoolean(v: unknown, p: string): void {
  if (v !== undefined && typeof v !== 'boolean') throw errors.invalid(p, `must be true or false, got ${JSON.stringify(v)}`);
}

/** A Job spec (also a CronJob's jobTemplate.spec, under `p`). */
function checkJobSpec(spec: unknown, p: string): void {
  if (!isPlainObject(spec)) throw errors.invalid(p, 'is required: a job needs spec.template');
  noUnknownFields(spec, JOB_SPEC, p);
  if (!isPlainObject(spec.template)) throw errors.invalid(`${p}.template`, 'is required: the pod template to run');
  checkPodSpec(spec.template.spec, `${p}.template.spec`);
  const restartPolicy = (spec.template.spec as Record<string, unknown>).restartPolicy;
  if (restartPolicy !== 'Never' && restartPolicy !== 'OnFailure') {
    throw errors.invalid(`${p}.template.spec.restartPolicy`, `must be Never or OnFailure for a job, got ${JSON.stringify(restartPolicy ?? 'Always (the default)')}`);
  }
  wholeNumber(spec.completions, `${p}.completions`, 0);
  wholeNumber(spec.parallelism, `${p}.parallelism`, 0);
  wholeNumber(spec.backoffLimit, `${p}.backoffLimit`, 0);
  wholeNumber(spec.activeDeadlineSeconds, `${p}.activeDeadlineSeconds`, 1);
  wholeNumber(spec.ttlSecondsAfterFinished, `${p}.ttlSecondsAfterFinished`, 0);
  optionalBoolean(spec.suspend, `${p}.suspend`);
  if (spec.completionMode !== undefined && spec.completionMode !== 'NonIndexed' && spec.completionMode !== 'Indexed') {
    throw errors.invalid(`${p}.completionMode`, `must be NonIndexed or Indexed, got ${JSON.stringify(spec.completionMode)}`);
  }
  if (spec.completionMode === 'Indexed' && spec.completions === undefined) {
    throw errors.invalid(`${p}.completions`, 'is required when completionMode is Indexed');
  }
}

function checkJob(obj: KernObject): void {
  // The Job's name becomes the pods' job-name label value.
  if (obj.metadata.name.length > 63) throw errors.invalid('metadata.name', 'must be at most 63 characters for a Job (it becomes the job-name label of its pods)');
  checkJobSpec(obj.spec, 'spec');
}

function checkCronJob(obj: KernObject): void {
  // Job names add "-<minutes since the epoch>" (up to 11 characters).
  if (obj.metadata.name.length > 52) throw errors.invalid('metadata.name', 'must be at most 52 characters for a CronJob (its Job names add a suffix)');
  const spec = obj.spec as unknown;
  if (!isPlainObject(spec)) throw errors.invalid('spec', 'is required: a cronjob needs spec.schedule and spec.jobTemplate');
  noUnknownFields(spec, CRONJOB_SPEC, 'spec');
  if (typeof spec.schedule !== 'string' || !spec.schedule.trim()) {
    throw errors.invalid('spec.schedule', 'is required: five cron fields such as "*/5 * * * *", or @hourly');
  }
  const schedule = spec.schedule.trim();
  if (/^(CRON_)?TZ=/.test(schedule)) throw errors.invalid('spec.schedule', 'must not set TZ= in the schedule: use spec.timeZone');
  if (!schedule.startsWith('@') && schedule.split(/\s+/).length !== 5) {
    throw errors.invalid('spec.schedule', `"${schedule}" is not standard cron syntax: use five fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly`);
  }
  if (spec.timeZone !== undefined) {
    str(spec.timeZone, 'spec.timeZone');
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: spec.timeZone as string });
    } catch {
      throw errors.invalid('spec.timeZone', `"${spec.timeZone}" is not a known IANA time zone (for example Europe/Berlin)`);
    }
  }
  if (spec.concurrencyPolicy !== undefined && !['Allow', 'Forbid', 'Replace'].includes(spec.concurrencyPolicy as string)) {
    throw errors.invalid('spec.concurrencyPolicy', `must be Allow, Forbid or Replace, got ${JSON.stringify(spec.concurrencyPolicy)}`);
  }
  wholeNumber(spec.startingDeadlineSeconds, 'spec.startingDeadlineSeconds', 0);
  wholeNumber(spec.successfulJobsHistoryLimit, 'spec.successfulJobsHistoryLimit', 0);
  wholeNumber(spec.failedJobsHistoryLimit, 'spec.failedJobsHistoryLimit', 0);
  optionalBoolean(spec.suspend, 'spec.suspend');
  if (!isPlainObject(spec.jobTemplate)) throw errors.invalid('spec.jobTemplate', 'is required: {spec: <a job spec>}');
  checkJobSpec(spec.jobTemplate.spec, 'spec.jobTemplate.spec');
}

const LABEL_SELECTOR = new Set(['matchLabels', 'matchExpressions']);
const WORKLOAD_SPEC: Record<string, Set<string>> = {
  Deployment: new Set(['replicas', 'selector', 'template', 'strategy', 'revisionHistoryLimit', 'progressDeadlineSeconds', 'minReadySeconds', 'paused']),
  ReplicaSet: new Set(['replicas', 'selector', 'template', 'minReadySeconds']),
  DaemonSet: new Set(['selector', 'template', 'updateStrategy', 'minReadySeconds', 'revisionHistoryLimit']),
};
const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** The selector must select something and must match the template's labels (else the controller makes pods it never counts). */
function checkWorkloadSelector(spec: Record<string, unknown>, labels: Record<string, string>): void {
  const sel = spec.selector;
  if (!isPlainObject(sel)) throw errors.invalid('spec.selector', 'is required: e.g. {matchLabels: {app: web}}, matching spec.template.metadata.labels');
  noUnknownFields(sel, LABEL_SELECTOR, 'spec.selector');
  if (sel.matchLabels !== undefined) stringMap(LABEL_KEY, LABEL_VALUE, 'label')(sel.matchLabels, 'spec.selector.matchLabels');
  const matchLabels = (sel.matchLabels ?? {}) as Record<string, string>;
  const exprs = sel.matchExpressions ?? [];
  if (!Array.isArray(exprs)) throw errors.invalid('spec.selector.matchExpressions', 'must be a list');
  if (Object.keys(matchLabels).length === 0 && exprs.length === 0) throw errors.invalid('spec.selector', 'must not be empty: an empty selector would select every pod');
  for (const [k, v] of Object.entries(matchLabels)) {
    if (labels[k] !== v) throw errors.invalid('spec.template.metadata.labels', `must match spec.selector: label ${k}=${v} is missing`);
  }
  exprs.forEach((e, i) => {
    const p = `spec.selector.matchExpressions[${i}]`;
    if (!isPlainObject(e) || typeof e.key !== 'string') throw errors.invalid(`${p}.key`, 'is required');
    if (!SELECTOR_OPERATORS.includes(e.operator as string)) throw errors.invalid(`${p}.operator`, `must be one of ${SELECTOR_OPERATORS.join(', ')}`);
    const values = (e.values ?? []) as unknown[];
    if (!Array.isArray(values)) throw errors.invalid(`${p}.values`, 'must be a list of strings');
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const ok = e.operator === 'In' ? has && values.includes(labels[e.key]) : e.operator === 'NotIn' ? !has || !values.includes(labels[e.key])
      : e.operator === 'Exists' ? has : !has;
    if (!ok) throw errors.invalid('spec.template.metadata.labels', `must match spec.selector.matchExpressions[${i}] (${e.key} ${e.operator as string})`);
  });
}

function checkWhole(v: unknown, p: string, what: string): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw errors.invalid(p, `must be a whole number ≥ 0 (${what}), got ${JSON.stringify(v)}`);
}

function checkIntOrPercent(v: unknown, p: string): void {
  if (v === undefined) return;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return;
  if (typeof v === 'string' && /^\d+%?$/.test(v)) return;
  throw errors.invalid(p, `must be a whole number ≥ 0 or a percentage like "25%", got ${JSON.stringify(v)}`);
}

/** Deployment, ReplicaSet and DaemonSet: selector, template (a pod spec), replicas and strategy. */
function checkWorkload(obj: KernObject): void {
  const spec = obj.spec as unknown;
  if (!isPlainObject(spec)) throw errors.invalid('spec', `is required: a ${obj.kind} needs spec.selector and spec.template`);
  noUnknownFields(spec, WORKLOAD_SPEC[obj.kind], 'spec');
  const template = spec.template;
  if (!isPlainObject(template)) throw errors.invalid('spec.template', 'is required: the pod template ({metadata: {labels}, spec: {containers}})');
  noUnknownFields(template, new Set(['metadata', 'spec']), 'spec.template');
  const md = template.metadata ?? {};
  if (!isPlainObject(md)) throw errors.invalid('spec.template.metadata', 'must be an object');
  if (md.labels !== undefined) stringMap(LABEL_KEY, LABEL_VALUE, 'label')(md.labels, 'spec.template.metadata.labels');
  if (md.annotations !== undefined) stringMap(LABEL_KEY, null, 'annotation')(md.annotations, 'spec.template.metadata.annotations');
  checkWorkloadSelector(spec, (md.labels ?? {}) as Record<string, string>);
  checkPodSpec(template.spec, 'spec.template.spec');
  checkWhole(spec.replicas, 'spec.replicas', 'how many pods to keep');
  checkWhole(spec.minReadySeconds, 'spec.minReadySeconds', 'seconds');
  if (obj.kind === 'Deployment') {
    checkWhole(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit', 'old ReplicaSets to keep');
    checkWhole(spec.progressDeadlineSeconds, 'spec.progressDeadlineSeconds', 'seconds');
    if (spec.paused !== undefined && typeof spec.paused !== 'boolean') throw errors.invalid('spec.paused', 'must be true or false');
    const strategy = spec.strategy;
    if (strategy !== undefined) {
      if (!isPlainObject(strategy)) throw errors.invalid('spec.strategy', 'must be {type, rollingUpdate}');
      if (strategy.type !== undefined && !['RollingUpdate', 'Recreate'].includes(strategy.type as string)) throw errors.invalid('spec.strategy.type', `must be RollingUpdate or Recreate, got ${JSON.stringify(strategy.type)}`);
      const ru = strategy.rollingUpdate;
      if (ru !== undefined) {
        if (!isPlainObject(ru)) throw errors.invalid('spec.strategy.rollingUpdate', 'must be {maxSurge, maxUnavailable}');
        if (strategy.type === 'Recreate') throw errors.invalid('spec.strategy.rollingUpdate', 'may not be set when spec.strategy.type is Recreate');
        checkIntOrPercent(ru.maxSurge, 'spec.strategy.rollingUpdate.maxSurge');
        checkIntOrPercent(ru.maxUnavailable, 'spec.strategy.rollingUpdate.maxUnavailable');
        if ((ru.maxSurge === 0 || ru.maxSurge === '0%') && (ru.maxUnavailable === 0 || ru.maxUnavailable === '0%')) {
          throw errors.invalid('spec.strategy.rollingUpdate.maxUnavailable', 'may not be 0 when maxSurge is 0 too: the rollout could never move');
        }
      }
    }
  }
  if (obj.kind === 'DaemonSet') {
    const us = spec.updateStrategy;
    if (us !== undefined) {
      if (!isPlainObject(us)) throw errors.invalid('spec.updateStrategy', 'must be {type, rollingUpdate}');
      if (us.type !== undefined && !['RollingUpdate', 'OnDelete'].includes(us.type as string)) throw errors.invalid('spec.updateStrategy.type', `must be RollingUpdate or OnDelete, got ${JSON.stringify(us.type)}`);
      if (isPlainObject(us.rollingUpdate)) checkIntOrPercent(us.rollingUpdate.maxUnavailable, 'spec.updateStrategy.rollingUpdate.maxUnavailable');
    }
  }
}

/** A ConfigMap key, as Kubernetes has it (also a file name when mounted). */
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * `data` maps keys to strings and `binaryData` to base64 (line breaks
 * allowed, as `base64` prints it); a key is in one of them at most. A null
 * value reads as empty, as Kubernetes decodes it.
 */
function checkConfigMap(obj: KernObject): void {
  const cm = obj as unknown as Record<string, unknown>;
  if (cm.spec !== undefined) throw errors.invalid('spec', 'a ConfigMap has no spec: put its entries under data (strings) or binaryData (base64)');
  if (cm.immutable !== null) optionalBoolean(cm.immutable, 'immutable');
  const keys = new Set<string>();
  for (const field of ['data', 'binaryData'] as const) {
    const map = cm[field];
    if (map === undefined || map === null) continue;
    if (!isPlainObject(map)) throw errors.invalid(field, `must be a map of ${field === 'data' ? 'strings' : 'base64 strings'}`);
    for (const [key, value] of Object.entries(map)) {
      const at = `${field}.${key}`;
      // A mounted ConfigMap's files sit beside `..data` and other `..` links.
      if (key.length > 253 || !CONFIG_KEY.test(key) || key === '.' || key.startsWith('..')) {
        throw errors.invalid(at, `bad key: use at most 253 letters, digits, '-', '_' and '.' (not "." nor starting with "..")`);
      }
      if (keys.has(key)) throw errors.invalid(at, 'is in data and in binaryData: keep it in one of them');
      keys.add(key);
      if (value === null) continue;
      if (typeof value !== 'string') {
        const hint = field === 'data' ? ' (quote numbers and booleans, or write the nested value out as text, e.g. JSON)' : '';
        throw errors.invalid(at, `must be a string, got ${JSON.stringify(value)}${hint}`);
      }
      if (field === 'binaryData' && !BASE64.test(value.replace(/[\r\n]/g, ''))) throw errors.invalid(at, 'must be base64 (e.g. the output of `base64 FILE`)');
    }
  }
}

/** Per-kind checks beyond the shared metadata ones. Plugins' kinds get metadata checks only. */
const SPEC_CHECKS: Record<string, (obj: KernObject) => void> = {
  Pod: (obj) => checkPodSpec(obj.spec, 'spec'),
  ConfigMap: checkConfigMap,
  Deployment: checkWorkload,
  ReplicaSet: checkWorkload,
  DaemonSet: checkWorkload,
  Job: checkJob,
  CronJob: checkCronJob,
  Node: (obj) => {
    if (obj.spec !== undefined && !isPlainObject(obj.spec)) throw errors.invalid('spec', 'must be an object');
    const taints = (obj.spec as { taints?: unknown } | undefined)?.taints;
    if (taints !== undefined) {
      if (!Array.isArray(taints)) throw errors.invalid('spec.taints', 'must be a list');
      taints.forEach((t, i) => {
        if (!isPlainObject(t) || typeof t.key !== 'string') throw errors.invalid(`spec.taints[${i}].key`, 'is required');
        if (!TAINT_EFFECTS.includes(t.effect as Taint['effect'])) throw errors.invalid(`spec.taints[${i}].effect`, 'must be NoSchedule, PreferNoSchedule or NoExecute');
      });
    }
  },
};

export interface ValidateOptions {
  /**
   * A `/status` write: the store keeps the stored spec whatever the body
   * says, so the kind's spec checks are skipped (an object stored before a
   * check was added must not be locked out of status updates by it).
   */
  statusWrite?: boolean;
}

/** Validates `obj` as an instance of `kind`; throws Invalid naming the field. */
export function validateObject(obj: unknown, kind: KindInfo, options: ValidateOptions = {}): asserts obj is KernObject {
  if (!isPlainObject(obj)) throw errors.invalid('object', 'must be a JSON or YAML mapping with apiVersion, kind and metadata');
  noUnknownFields(obj, TOP_LEVEL, '');
  if (obj.apiVersion !== kind.apiVersion) {
    throw errors.invalid('apiVersion', `${kind.kind} is served as apiVersion "${kind.apiVersion}", got ${JSON.stringify(obj.apiVersion)}`);
  }
  if (obj.kind !== kind.kind) throw errors.invalid('kind', `expected "${kind.kind}", got ${JSON.stringify(obj.kind)}`);
  checkMetadata(obj as unknown as KernObject, kind);
  if (obj.spec !== undefined && obj.spec !== null && !isPlainObject(obj.spec)) throw errors.invalid('spec', 'must be an object');
  if (!options.statusWrite) SPEC_CHECKS[kind.kind]?.(obj as unknown as KernObject);
}
