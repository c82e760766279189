import {
  DeleteArgs, KernObject, KindInfo, ListArgs, ObjectKey, ObjectList, StoreDriver, SyscallWatch, UpdateArgs,
  WatchArgs, WatchEvent, cloneObject, errors, isNotFound, parseLabelSelector, withMetadata,
} from '@kern/sdk';
import { KindRegistry } from './kind-registry';
import { LAST_APPLIED, applyManifest, withoutLastApplied } from './apply-merge';
import { ValidateOptions, validateObject } from './validation';

export const DEFAULT_NAMESPACE = 'default';

/**
 * The kernel's front of the store: resolves kinds, validates, applies
 * namespace rules, and shapes replies like Kubernetes lists. Every `state.*`
 * syscall lands here.
 */
export class StateService {
  /**
   * Namespaces seen existing and not terminating, so a create need not read
   * its namespace each time. Every namespace write goes through this service
   * (update, delete), and each forgets the name.
   */
  private readonly activeNamespaces = new Set<string>();

  constructor(private readonly store: StoreDriver, readonly kinds: KindRegistry) {}

  async create(input: KernObject): Promise<KernObject> {
    const { obj } = this.prepare(input);
    await this.checkNamespace(obj);
    return this.store.create(obj);
  }

  async get(key: ObjectKey): Promise<KernObject> {
    const info = this.kinds.resolve(key.kind);
    return this.store.get({ kind: info.kind, name: key.name, namespace: this.namespaceFor(info, key.namespace) });
  }

  async list(args: ListArgs): Promise<ObjectList> {
    const info = this.kinds.resolve(args.kind);
    const res = await this.store.list(info.kind, {
      namespace: info.namespaced ? args.namespace || undefined : undefined,
      labelSelector: parseLabelSelector(args.labelSelector),
      limit: args.limit,
      continue: args.continue,
    });
    return {
      apiVersion: info.apiVersion,
      kind: `${info.kind}List`,
      metadata: { resourceVersion: String(res.revision), ...(res.continue ? { continue: res.continue } : {}) },
      items: res.items,
    };
  }

  async update(args: UpdateArgs): Promise<KernObject> {
    if (args.subresource !== undefined && args.subresource !== 'status') {
      throw errors.invalid('subresource', `only "status" is supported, got ${JSON.stringify(args.subresource)}`);
    }
    const { obj, info } = this.prepare(args.object, { statusWrite: args.subresource === 'status' });
    if (info.kind === 'Namespace') this.activeNamespaces.delete(obj.metadata.name);
    return this.store.update(obj, { subresource: args.subresource });
  }

  async delete(args: DeleteArgs): Promise<KernObject> {
    const info = this.kinds.resolve(args.kind);
    if (!args.name) throw errors.invalid('name', 'is required');
    if (info.kind === 'Namespace') this.activeNamespaces.delete(args.name);
    return this.store.delete(
      { kind: info.kind, name: args.name, namespace: this.namespaceFor(info, args.namespace) },
      { resourceVersion: args.resourceVersion },
    );
  }

  /** Create, or update the stored object to this manifest (kubectl apply, last writer wins on spec). */
  async apply(input: KernObject): Promise<{ object: KernObject; action: 'created' | 'configured' | 'unchanged' }> {
    const { obj, info } = this.prepare(input);
    const key = { kind: info.kind, name: obj.metadata.name, namespace: obj.metadata.namespace };
    for (let attempt = 0; ; attempt++) {
      let current: KernObject | undefined;
      try {
        current = await this.store.get(key);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      try {
        if (!current) {
          await this.checkNamespace(obj);
          const first = cloneObject(obj);
          first.metadata.annotations = { ...first.metadata.annotations, [LAST_APPLIED]: JSON.stringify(withoutLastApplied(obj as never)) };
          return { object: await this.store.create(first), action: 'created' };
        }
        if (info.kind === 'Namespace') this.activeNamespaces.delete(obj.metadata.name);
        const next = applyManifest(current, obj);
        validateObject(next, info);
        if (sameDesiredState(current, next)) return { object: current, action: 'unchanged' };
        next.metadata.resourceVersion = obj.metadata.resourceVersion || current.metadata.resourceVersion;
        return { object: await this.store.update(next), action: 'configured' };
      } catch (e) {
        // Another writer got between our read and write; re-read unless the
        // caller pinned a resourceVersion itself.
        const retriable = (e as { kind?: string }).kind === 'Conflict' && !obj.metadata.resourceVersion
          || (e as { kind?: string }).kind === 'AlreadyExists';
        if (!retriable || attempt >= 5) throw e;
      }
    }
  }

  watch(args: WatchArgs, onEvent: (e: WatchEvent) => void, onError?: (err: Error) => void): SyscallWatch {
    const info = args.kind ? this.kinds.resolve(args.kind) : undefined;
    const rv = args.resourceVersion;
    if (rv !== undefined && rv !== '' && !/^\d+$/.test(rv)) throw errors.invalid('resourceVersion', 'must be a decimal revision');
    return this.store.watch(
      {
        kind: info?.kind,
        namespace: info && !info.namespaced ? undefined : args.namespace || undefined,
        labelSelector: parseLabelSelector(args.labelSelector),
        fromRevision: rv ? Number(rv) : undefined,
      },
      (e) => onEvent({ type: e.type, object: e.object }),
      onError,
    );
  }

  revision(): Promise<number> {
    return this.store.revision();
  }

  /** Validates and normalises (default namespace, kind from alias). */
  private prepare(input: KernObject, options: ValidateOptions = {}): { obj: KernObject; info: KindInfo } {
    if (!input || typeof input !== 'object' || Array.isArray(input)) {
      throw errors.invalid('object', 'must be a mapping with apiVersion, kind and metadata');
    }
    const info = this.kinds.resolve(input.kind); // Invalid when missing or unknown
    // Shallow copies suffice: nothing below mutates deeper, and the store
    // copies what it keeps.
    const obj = withMetadata(input);
    if (obj.metadata && typeof obj.metadata === 'object' && info.namespaced && !obj.metadata.namespace) {
      obj.metadata.namespace = DEFAULT_NAMESPACE;
    }
    validateObject(obj, info, options);
    return { obj, info };
  }

  private namespaceFor(info: KindInfo, namespace: string | undefined): string | undefined {
    return info.namespaced ? namespace || DEFAULT_NAMESPACE : undefined;
  }

  private async checkNamespace(obj: KernObject): Promise<void> {
    const ns = obj.metadata.namespace;
    if (!ns || this.activeNamespaces.has(ns)) return;
    try {
      const found = await this.store.get({ kind: 'Namespace', name: ns });
      if (found.metadata.deletionTimestamp) {
        throw errors.failedPrecondition(`namespace "${ns}" is being deleted: pick another namespace`, { field: 'metadata.namespace' });
      }
      this.activeNamespaces.add(ns);
    } catch (e) {
      if (isNotFound(e)) throw errors.notFound(`namespace "${ns}" (create it first: kern apply -f a Namespace manifest)`, { field: 'metadata.namespace' });
      throw e;
    }
  }
}

function sameDesiredState(current: KernObject, next: KernObject): boolean {
  const pick = (o: KernObject) => {
    const body = Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'metadata' && k !== 'status').sort(([a], [b]) => a.localeCompare(b)));
    const md = o.metadata;
    return JSON.stringify([body, md.labels ?? {}, md.annotations ?? {}, md.finalizers ?? [], md.ownerReferences ?? []]);
  };
  return pick(current) === pick(next);
}
