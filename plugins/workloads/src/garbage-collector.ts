import {
  Disposable, Informer, KernObject, Logger, Syscalls, WorkQueue, isNotFound, silentLogger, ignoreNotFound,
} from '@kern/sdk';
import { ORPHAN_ANNOTATION } from './workload-helpers';

/** Kinds whose objects own others, and kinds whose objects can be owned. */
export const GC_DEFAULTS = {
  owners: ['Deployment', 'ReplicaSet', 'DaemonSet', 'Job', 'CronJob'],
  dependents: ['Pod', 'ReplicaSet', 'Job', 'ControllerRevision'],
} as const;

export interface GarbageCollectorOptions {
  owners?: readonly string[];
  dependents?: readonly string[];
  /** Caches the caller already keeps, by kind (it starts and stops them): used instead of opening new ones. */
  shared?: ReadonlyMap<string, Informer<KernObject>>;
}

interface Work {
  dependent: { kind: string; namespace?: string; name: string; uid?: string };
}

/**
 * Background cascading deletion by ownerReferences. When an owner is
 * deleted, its dependents are deleted after it (propagationPolicy
 * Background). When the deleted owner carried the annotation
 * `kern.io/orphan: "true"`, its dependents are kept and only the
 * ownerReferences to it are removed (propagationPolicy Orphan). A
 * dependent found at start-up whose owners are all gone is deleted too.
 */
export class GarbageCollector implements Disposable {
  private readonly ownerInformers = new Map<string, Informer<KernObject>>();
  private readonly dependentInformers = new Map<string, Informer<KernObject>>();
  /** The caches this collector opened (one per kind, for both roles); shared ones are not among them. */
  private readonly ownInformers = new Map<string, Informer<KernObject>>();
  private readonly queue: WorkQueue<string>;
  private readonly work = new Map<string, Work>();
  private readonly subscriptions: Disposable[] = [];
  /** Owner uid → 'orphan' | 'delete', for owners seen deleted. */
  private readonly deletedOwners = new Map<string, 'orphan' | 'delete'>();

  constructor(
    private readonly syscalls: Syscalls,
    private readonly logger: Logger = silentLogger,
    options: GarbageCollectorOptions = {},
  ) {
    this.queue = new WorkQueue<string>({
      baseDelayMs: 50,
      maxDelayMs: 30_000,
      maxRetries: 15,
      onError: (key, err, n) => this.logger.debug({ dependent: key, err: (err as Error).message, failures: n }, 'garbage collection failed'),
    });
    const onError = (err: Error, source: string) => { if (source === 'handler') this.logger.warn({ err: err.message }, 'gc handler failed'); };
    const cacheOf = (kind: string): Informer<KernObject> => {
      let inf = options.shared?.get(kind) ?? this.ownInformers.get(kind);
      if (!inf) this.ownInformers.set(kind, (inf = new Informer(syscalls, { kind, onError })));
      return inf;
    };
    for (const kind of options.owners ?? GC_DEFAULTS.owners) this.ownerInformers.set(kind, cacheOf(kind));
    for (const kind of options.dependents ?? GC_DEFAULTS.dependents) this.dependentInformers.set(kind, cacheOf(kind));
  }

  start(): void {
    for (const [, inf] of this.ownerInformers) this.subscriptions.push(inf.onDelete((owner) => this.ownerGone(owner)));
    for (const [, inf] of this.dependentInformers) {
      this.subscriptions.push(
        inf.onAdd((obj) => this.checkDependent(obj)),
        inf.onUpdate((_o, obj) => this.checkDependent(obj)),
      );
    }
    for (const [, inf] of this.ownInformers) inf.start();
    this.queue.start((key) => this.process(key), 2);
  }

  async waitForSync(timeoutMs?: number): Promise<void> {
    await Promise.all([...this.ownerInformers.values(), ...this.dependentInformers.values()].map((i) => i.waitForSync(timeoutMs)));
  }

  async dispose(): Promise<void> {
    this.subscriptions.splice(0).forEach((s) => s.dispose());
    for (const i of this.ownInformers.values()) i.dispose();
    await this.queue.shutdown();
  }

  private ownerGone(owner: KernObject): void {
    const uid = owner.metadata.uid;
    if (!uid) return;
    const orphan = owner.metadata.annotations?.[ORPHAN_ANNOTATION] === 'true';
    this.deletedOwners.set(uid, orphan ? 'orphan' : 'delete');
    // Forget the verdict after a while; the uid is never reused.
    setTimeout(() => this.deletedOwners.delete(uid), 10 * 60_000).unref();
    for (const [, inf] of this.dependentInformers) {
      for (const dep of inf.list({ namespace: owner.metadata.namespace ?? undefined, match: (o) => !!o.metadata.ownerReferences?.some((r) => r.uid === uid) })) {
        this.enqueue(dep);
      }
    }
  }

  /** A dependent whose owners might be gone: look closer. */
  private checkDependent(obj: KernObject): void {
    const refs = obj.metadata.ownerReferences ?? [];
    if (refs.length === 0) return;
    if (refs.some((r) => this.deletedOwners.has(r.uid) || this.ownerMissing(obj, r))) this.enqueue(obj);
  }

  /** True when the owner is of a kind we watch, the cache is synced, and it is not there. */
  private ownerMissing(obj: KernObject, ref: { kind: string; name: string; uid: string }): boolean {
    const inf = this.ownerInformers.get(ref.kind);
    if (!inf || !inf.hasSynced) return false;
    const owner = inf.get(obj.metadata.namespace, ref.name);
    return !owner || owner.metadata.uid !== ref.uid;
  }

  private enqueue(obj: KernObject): void {
    const key = `${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    this.work.set(key, { dependent: { kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name, uid: obj.metadata.uid } });
    this.queue.add(key);
  }

  private async process(key: string): Promise<void> {
    const w = this.work.get(key);
    if (!w) return;
    const { kind, namespace, name, uid } = w.dependent;
    const current = await ignoreNotFound(() => this.syscalls.call('state.get', { kind, namespace, name }));
    if (!current || current.metadata.uid !== uid) { this.work.delete(key); return; }
    const refs = current.metadata.ownerReferences ?? [];
    const verdicts = await Promise.all(refs.map((r) => this.verdict(current, r)));
    const keep = refs.filter((_r, i) => verdicts[i] === 'alive');
    if (keep.length === refs.length) { this.work.delete(key); return; }
    const orphaned = refs.filter((_r, i) => verdicts[i] === 'orphan');
    const deleteFor = refs.filter((_r, i) => verdicts[i] === 'delete');
    if (keep.length === 0 && deleteFor.length > 0) {
      this.logger.info({ kind, namespace, name, owner: deleteFor[0].name }, 'deleting dependent of a deleted owner');
      if (!current.metadata.deletionTimestamp) await ignoreNotFound(() => this.syscalls.call('state.delete', { kind, namespace, name, resourceVersion: current.metadata.resourceVersion }));
    } else {
      // Orphan (or some owners remain): drop only the references to owners that are gone.
      const next: KernObject = { ...current, metadata: { ...current.metadata, ownerReferences: keep } };
      if (keep.length === 0) delete next.metadata.ownerReferences;
      if (orphaned.length) this.logger.info({ kind, namespace, name }, 'orphaning dependent');
      await ignoreNotFound(() => this.syscalls.call('state.update', { object: next }));
    }
    this.work.delete(key);
  }

  /** Whether the owner a reference names still exists, or what to do now that it does not. */
  private async verdict(obj: KernObject, ref: { kind: string; apiVersion: string; name: string; uid: string }): Promise<'alive' | 'orphan' | 'delete'> {
    const known = this.deletedOwners.get(ref.uid);
    if (known) return known;
    try {
      const owner = await this.syscalls.call('state.get', { kind: ref.kind, namespace: obj.metadata.namespace, name: ref.name });
      return owner.metadata.uid === ref.uid ? 'alive' : 'delete';
    } catch (e) {
      if (isNotFound(e)) return 'delete';
      // An owner kind the kernel does not serve (a plugin not loaded): leave the dependent alone.
      return 'alive';
    }
  }
}
