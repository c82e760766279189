import { CORE_KINDS, KindInfo, errors, toDisposable, Disposable } from '@kern/sdk';

/**
 * The kinds the kernel serves, looked up by kind, plural, singular or short
 * name (case-insensitive), as `kern get` and the HTTP paths need.
 */
export class KindRegistry {
  private readonly byKind = new Map<string, KindInfo>();
  private readonly byAlias = new Map<string, KindInfo>();

  constructor(initial: readonly KindInfo[] = CORE_KINDS) {
    initial.forEach((k) => this.register(k));
  }

  register(info: KindInfo): Disposable {
    if (!/^[A-Z][A-Za-z0-9]*$/.test(info.kind)) throw errors.invalid('kind', `"${info.kind}" must be PascalCase, like Pod`);
    if (!/^[a-z][a-z0-9]*$/.test(info.plural)) throw errors.invalid('plural', `"${info.plural}" must be lower-case letters and digits`);
    const existing = this.byKind.get(info.kind);
    if (existing) {
      if (JSON.stringify(existing) === JSON.stringify(info)) return toDisposable(() => undefined);
      throw errors.alreadyExists(`kind ${info.kind}`);
    }
    this.byKind.set(info.kind, info);
    const aliases = [info.kind, info.plural, info.singular, ...(info.shortNames ?? [])].map((a) => a.toLowerCase());
    aliases.forEach((a) => this.byAlias.set(a, info));
    return toDisposable(() => {
      this.byKind.delete(info.kind);
      aliases.forEach((a) => { if (this.byAlias.get(a) === info) this.byAlias.delete(a); });
    });
  }

  /** The kind named by any alias; Invalid (naming `field`) when missing, not a string or unknown. */
  resolve(name: unknown, field = 'kind'): KindInfo {
    const known = () => `(known: ${[...this.byKind.keys()].sort().join(', ')})`;
    if (typeof name !== 'string' || name === '') throw errors.invalid(field, `is required: a kind's name as a string, e.g. "Pod" ${known()}`);
    const info = this.byAlias.get(name.toLowerCase());
    if (!info) throw errors.invalid(field, `unknown kind "${name}" ${known()}`);
    return info;
  }

  /** The kind served at `/api/v1/...` or `/apis/{group}/{version}/...` with this plural. */
  byPath(apiVersion: string, plural: string): KindInfo | undefined {
    const info = this.byAlias.get(plural.toLowerCase());
    return info && info.plural === plural && info.apiVersion === apiVersion ? info : undefined;
  }

  list(): KindInfo[] {
    return [...this.byKind.values()];
  }
}
