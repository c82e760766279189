import { KernObject, KindInfo, errors, parseCpuMillis, parseMemoryBytes } from '@kern/sdk';

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

/** Per-kind checks beyond the shared metadata ones. Plugins' kinds get metadata checks only. */
const SPEC_CHECKS: Record<string, (obj: KernObject) => void> = {
  Pod: (obj) => checkPodSpec(obj.spec, 'spec'),
  Node: (obj) => {
    if (obj.spec !== undefined && !isPlainObject(obj.spec)) throw errors.invalid('spec', 'must be an object');
    const taints = (obj.spec as { taints?: unknown } | undefined)?.taints;
    if (taints !== undefined) {
      if (!Array.isArray(taints)) throw errors.invalid('spec.taints', 'must be a list');
      taints.forEach((t, i) => {
        if (!isPlainObject(t) || typeof t.key !== 'string') throw errors.invalid(`spec.taints[${i}].key`, 'is required');
        if (!['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(t.effect as string)) throw errors.invalid(`spec.taints[${i}].effect`, 'must be NoSchedule, PreferNoSchedule or NoExecute');
      });
    }
  },
};

/** Validates `obj` as an instance of `kind`; throws Invalid naming the field. */
export function validateObject(obj: unknown, kind: KindInfo): asserts obj is KernObject {
  if (!isPlainObject(obj)) throw errors.invalid('object', 'must be a JSON or YAML mapping with apiVersion, kind and metadata');
  noUnknownFields(obj, TOP_LEVEL, '');
  if (obj.apiVersion !== kind.apiVersion) {
    throw errors.invalid('apiVersion', `${kind.kind} is served as apiVersion "${kind.apiVersion}", got ${JSON.stringify(obj.apiVersion)}`);
  }
  if (obj.kind !== kind.kind) throw errors.invalid('kind', `expected "${kind.kind}", got ${JSON.stringify(obj.kind)}`);
  checkMetadata(obj as unknown as KernObject, kind);
  if (obj.spec !== undefined && obj.spec !== null && !isPlainObject(obj.spec)) throw errors.invalid('spec', 'must be an object');
  SPEC_CHECKS[kind.kind]?.(obj as unknown as KernObject);
}
