import { createHash, randomBytes } from 'node:crypto';
import { KernObject, Logger, OwnerReference, Pod, PodTemplateSpec, WorkQueue, controllerOf, errors } from '@kern/sdk';

/** Label a Deployment puts on its ReplicaSets and their pods: the hash of the pod template. */
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
/** Label a DaemonSet puts on its pods: the hash of the pod template. */
export const CONTROLLER_REVISION_HASH_LABEL = 'controller-revision-hash';
/** Revision of a Deployment's ReplicaSet (and of the Deployment itself), as kubectl reads it. */
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
/** Why a revision was made (`kern rollout history` shows it). */
export const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';
/** Set to `true` on an owner before deleting it to keep its dependents (propagationPolicy Orphan). */
export const ORPHAN_ANNOTATION = 'kern.io/orphan';

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** Five random characters, as the apiserver's generateName appends. */
export function randomSuffix(length = 5): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHANUMS[bytes[i] % ALPHANUMS.length];
  return out;
}

/** JSON with keys sorted, so equal values give equal text. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj).sort().filter((k) => obj[k] !== undefined).map((k) => `${JSON.stringify(k)}:${stableStringify(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A template without the hash labels the controllers add, for comparing and hashing. */
export function bareTemplate(template: PodTemplateSpec): PodTemplateSpec {
  const copy = JSON.parse(JSON.stringify(template ?? {})) as PodTemplateSpec;
  if (copy.metadata?.labels) {
    delete copy.metadata.labels[POD_TEMPLATE_HASH_LABEL];
    delete copy.metadata.labels[CONTROLLER_REVISION_HASH_LABEL];
  }
  return copy;
}

/** A short, label-safe hash of a pod template (10 characters). */
export function templateHash(template: PodTemplateSpec): string {
  const digest = createHash('sha256').update(stableStringify(bareTemplate(template))).digest();
  let out = '';
  for (let i = 0; i < 10; i++) out += ALPHANUMS[digest[i] % ALPHANUMS.length];
  return out;
}

export function isControlledBy(obj: KernObject, owner: KernObject): boolean {
  return controllerOf(obj)?.uid === owner.metadata.uid;
}

export function ownerReference(owner: KernObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid as string,
    controller: true, blockOwnerDeletion: true,
  };
}

export function isTerminating(obj: KernObject): boolean {
  return !!obj.metadata.deletionTimestamp;
}

/** A pod that will not run again: Failed, or Succeeded. */
export function isFinished(pod: Pod): boolean {
  return pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded';
}

/** A pod that counts toward replicas: not being deleted and not finished. */
export function isActive(pod: Pod): boolean {
  return !isTerminating(pod) && !isFinished(pod);
}

export function isReady(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

/**
 * Milliseconds until a ready pod counts as available (0 when it does now),
 * or undefined when it is not ready at all.
 */
export function msUntilAvailable(pod: Pod, minReadySeconds: number | undefined, now: number): number | undefined {
  if (!isReady(pod)) return undefined;
  if (!minReadySeconds) return 0;
  const since = pod.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
  const at = since ? Date.parse(since) + minReadySeconds * 1000 : now;
  return Math.max(0, at - now);
}

export function isAvailable(pod: Pod, minReadySeconds: number | undefined, now: number): boolean {
  return msUntilAvailable(pod, minReadySeconds, now) === 0;
}

/**
 * Resolves an int-or-percent (`2`, `"25%"`) against `total`; percentages
 * round up or down as asked. Invalid names the field.
 */
export function resolveIntOrPercent(value: number | string | undefined, fallback: number | string, total: number, roundUp: boolean, field: string): number {
  const v = value ?? fallback;
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0) throw errors.invalid(field, `must be a whole number ≥ 0 or a percentage like "25%", got ${v}`);
    return v;
  }
  const m = /^(\d+)%$/.exec(v);
  if (!m) {
    if (/^\d+$/.test(v)) return Number(v);
    throw errors.invalid(field, `must be a whole number ≥ 0 or a percentage like "25%", got ${JSON.stringify(v)}`);
  }
  const raw = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(raw) : Math.floor(raw);
}

/** A pod built from `template` for `owner`, named `<base>-<5 random chars>`. */
export function podFromTemplate(owner: KernObject, template: PodTemplateSpec, base: string): Pod {
  const md = template.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${base.slice(0, 57)}-${randomSuffix()}`,
      namespace: owner.metadata.namespace,
      labels: { ...(md.labels ?? {}) },
      ...(md.annotations ? { annotations: { ...md.annotations } } : {}),
      ownerReferences: [ownerReference(owner)],
    },
    spec: JSON.parse(JSON.stringify(template.spec)),
  };
}

/** The newer of two states of one object, by resourceVersion. */
export function newest<T extends KernObject>(a: T | undefined, b: T | undefined): T | undefined {
  if (!a) return b;
  if (!b) return a;
  if (a.metadata.uid !== b.metadata.uid) return a;
  return Number(a.metadata.resourceVersion ?? 0) >= Number(b.metadata.resourceVersion ?? 0) ? a : b;
}

/** Remembers the objects a controller wrote, so a reconcile never works from a cache older than its own last write. */
export class LastWrites<T extends KernObject> {
  private readonly map = new Map<string, T>();

  record(obj: T): T {
    this.map.set(`${obj.metadata.namespace ?? ''}/${obj.metadata.name}`, obj);
    return obj;
  }

  /** `cached`, unless this controller wrote a newer state of it. */
  freshest(cached: T): T {
    const key = `${cached.metadata.namespace ?? ''}/${cached.metadata.name}`;
    const mine = this.map.get(key);
    const best = newest(cached, mine) as T;
    if (best === cached) this.map.delete(key);
    return best;
  }

  forget(obj: KernObject): void {
    this.map.delete(`${obj.metadata.namespace ?? ''}/${obj.metadata.name}`);
  }
}

/**
 * Creates and deletes a controller made but has not yet seen through its
 * informer (client-go's "expectations"): until they are observed, or
 * `ttlMs` passed, the controller does not act on that owner again, so a
 * stale cache never makes it create or delete twice.
 */
export class Expectations {
  private readonly pending = new Map<string, Map<string, { op: 'add' | 'delete'; at: number }>>();

  constructor(private readonly ttlMs = 30_000) {}

  expect(owner: string, podKey: string, op: 'add' | 'delete'): void {
    let m = this.pending.get(owner);
    if (!m) this.pending.set(owner, (m = new Map()));
    m.set(podKey, { op, at: Date.now() });
  }

  /** A create (op add) or a delete (op delete) was seen; returns the owners to wake. */
  observe(podKey: string, op: 'add' | 'delete'): string[] {
    const woken: string[] = [];
    for (const [owner, m] of this.pending) {
      const e = m.get(podKey);
      if (e && e.op === op) {
        m.delete(podKey);
        if (m.size === 0) this.pending.delete(owner);
        woken.push(owner);
      }
    }
    return woken;
  }

  /** Forgets one expectation (its write failed). */
  lower(owner: string, podKey: string): void {
    const m = this.pending.get(owner);
    m?.delete(podKey);
    if (m?.size === 0) this.pending.delete(owner);
  }

  satisfied(owner: string): boolean {
    const m = this.pending.get(owner);
    if (!m) return true;
    const now = Date.now();
    for (const [k, e] of m) if (now - e.at > this.ttlMs) m.delete(k);
    if (m.size === 0) {
      this.pending.delete(owner);
      return true;
    }
    return false;
  }

  clear(owner: string): void {
    this.pending.delete(owner);
  }
}

export function podKey(pod: KernObject): string {
  return `${pod.metadata.namespace ?? ''}/${pod.metadata.name}`;
}

/** The work queue every workload controller uses: quick first retry, capped back-off, failures logged at debug. */
export function controllerQueue(controller: string, logger: Logger): WorkQueue<string> {
  return new WorkQueue<string>({
    baseDelayMs: 20,
    maxDelayMs: 30_000,
    onError: (key, err, n) => logger.debug({ [controller]: key, err: (err as Error).message, failures: n }, `${controller} sync failed`),
  });
}
