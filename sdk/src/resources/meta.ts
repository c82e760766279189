/** Object metadata, shaped like Kubernetes' ObjectMeta. */
export interface ObjectMeta {
  name: string;
  /** Empty or absent for cluster-scoped kinds. */
  namespace?: string;
  /** Set by the store on create; never changes. */
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /**
   * The store revision of the last write, as a decimal string. Updates are
   * compare-and-set on it: send back the value you read.
   */
  resourceVersion?: string;
  /** Bumped by the store each time `spec` changes (starts at 1). */
  generation?: number;
  /** RFC 3339, set by the store on create. */
  creationTimestamp?: string;
  /** Set by the store when deletion was asked for while finalizers remain. */
  deletionTimestamp?: string;
  ownerReferences?: OwnerReference[];
  /** While non-empty, a delete only marks the object (deletionTimestamp). */
  finalizers?: string[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Every stored resource: apiVersion, kind, metadata, spec, status. */
export interface KernObject<Spec = unknown, Status = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
}

/** A list reply, shaped like Kubernetes' `XxxList`. */
export interface ObjectList<T extends KernObject = KernObject> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

/** Identifies one stored object. */
export interface ObjectKey {
  kind: string;
  namespace?: string;
  name: string;
}

export function keyOf(obj: KernObject): ObjectKey {
  return { kind: obj.kind, namespace: obj.metadata?.namespace || undefined, name: obj.metadata?.name };
}

export function describeKey(k: ObjectKey): string {
  return k.namespace ? `${k.kind} "${k.namespace}/${k.name}"` : `${k.kind} "${k.name}"`;
}
