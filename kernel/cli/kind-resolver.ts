import { KernObject, KernelError, KindInfo, parseApiVersion } from '@kern/sdk';
import { usageError } from './cli-error';

/**
 * Looks kinds up the way `kubectl get` does: by kind, plural, singular or
 * short name, case-insensitively, from the server's `state.kinds` list.
 */
export class KindResolver {
  private readonly byAlias = new Map<string, KindInfo>();

  constructor(readonly kinds: readonly KindInfo[]) {
    for (const info of kinds) {
      for (const alias of [info.kind, info.plural, info.singular, ...(info.shortNames ?? [])]) {
        if (alias) this.byAlias.set(alias.toLowerCase(), info);
      }
      // `pods.v1`, `leases.coordination.k8s.io`: the fully qualified forms kubectl accepts.
      const { group } = parseApiVersion(info.apiVersion);
      if (group) this.byAlias.set(`${info.plural}.${group}`.toLowerCase(), info);
    }
  }

  /** NotFound naming the known types when `name` is no alias of a served kind. */
  resolve(name: string): KindInfo {
    const info = this.byAlias.get(name.trim().toLowerCase());
    if (info) return info;
    const known = [...this.kinds]
      .sort((a, b) => a.plural.localeCompare(b.plural))
      .map((k) => (k.shortNames?.length ? `${k.plural} (${k.shortNames.join(', ')})` : k.plural));
    throw new KernelError('NotFound', `unknown resource type "${name}": known types are ${known.join(', ')}`);
  }

  /** The kind of a manifest object, when the server serves it. */
  find(kind: string): KindInfo | undefined {
    return this.byAlias.get(kind.toLowerCase());
  }
}

export interface PathOptions {
  namespace?: string;
  name?: string;
  /** List across namespaces (ignored for cluster-scoped kinds and with a name). */
  allNamespaces?: boolean;
}

/** The Kubernetes-style path for a kind: `/api/v1/namespaces/ns/pods/web`, `/apis/g/v/...`. */
export function resourcePath(info: KindInfo, options: PathOptions = {}): string {
  let path = info.apiVersion === 'v1' || !info.apiVersion.includes('/') ? `/api/${info.apiVersion}` : `/apis/${info.apiVersion}`;
  if (info.namespaced && (!options.allNamespaces || options.name !== undefined)) {
    path += `/namespaces/${encodeURIComponent(options.namespace || 'default')}`;
  }
  path += `/${info.plural}`;
  if (options.name !== undefined) path += `/${encodeURIComponent(options.name)}`;
  return path;
}

/** kubectl's resource name: `pod`, or `lease.coordination.k8s.io` outside the core group. */
export function kindLabel(kind: string, apiVersion: string): string {
  const { group } = parseApiVersion(apiVersion ?? '');
  return group ? `${kind.toLowerCase()}.${group}` : kind.toLowerCase();
}

/** `pod/web`, as `-o name` and `kern apply` print it. */
export function objectRef(obj: Pick<KernObject, 'kind' | 'apiVersion' | 'metadata'>): string {
  return `${kindLabel(obj.kind ?? 'unknown', obj.apiVersion)}/${obj.metadata?.name ?? '<unnamed>'}`;
}

/** What `kern get|describe|delete` was asked about: kinds plus names, or `kind/name` pairs. */
export type ResourceArgs =
  | { form: 'kinds'; kinds: string[]; names: string[] }
  | { form: 'refs'; refs: { kind: string; name: string }[] };

/**
 * Reads kubectl-style resource arguments: `pods`, `pods,nodes`, `pod web db`,
 * or `pod/web node/n1`. The two forms do not mix.
 */
export function parseResourceArgs(args: readonly string[]): ResourceArgs {
  if (args.length === 0) throw usageError('name a resource type, for example: pods, nodes, namespaces');
  if (args[0].includes('/')) {
    const refs = args.map((a) => {
      const i = a.indexOf('/');
      const kind = a.slice(0, i);
      const name = a.slice(i + 1);
      if (i < 0 || !kind || !name || name.includes('/')) {
        throw usageError(`"${a}": write every argument as TYPE/NAME (for example pod/web) once the first one is`);
      }
      return { kind, name };
    });
    return { form: 'refs', refs };
  }
  const kinds = args[0].split(',').map((k) => k.trim()).filter(Boolean);
  if (kinds.length === 0) throw usageError(`"${args[0]}" names no resource type`);
  const names = args.slice(1);
  const bad = names.find((n) => n.includes('/'));
  if (bad) throw usageError(`"${bad}": there is already a resource type (${args[0]}); give plain names after it, or TYPE/NAME for every argument`);
  if (names.length && kinds.length > 1) throw usageError('names can only follow a single resource type: use TYPE/NAME for each instead');
  return { form: 'kinds', kinds, names };
}

