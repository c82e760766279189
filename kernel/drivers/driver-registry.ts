import { DriverKind, DriverRegistry, errors, toDisposable, Disposable } from '@kern/sdk';

interface Entry { name: string; plugin?: string; driver: unknown }

/**
 * Active drivers by kind and name. The first driver of a kind is its
 * default unless config names one (`defaults`).
 */
export class KernelDriverRegistry implements DriverRegistry {
  private readonly byKind = new Map<string, Entry[]>();
  private readonly listeners = new Set<(kind: string) => void>();

  constructor(private readonly defaults: Partial<Record<DriverKind | string, string>> = {}) {}

  register<T>(kind: string, name: string, driver: T, plugin?: string): Disposable {
    const list = this.byKind.get(kind) ?? [];
    if (list.some((e) => e.name === name)) throw errors.alreadyExists(`${kind} driver "${name}"`);
    const entry: Entry = { name, plugin, driver };
    list.push(entry);
    this.byKind.set(kind, list);
    this.changed(kind);
    return toDisposable(() => {
      const cur = this.byKind.get(kind) ?? [];
      this.byKind.set(kind, cur.filter((e) => e !== entry));
      this.changed(kind);
    });
  }

  /** Calls `listener(kind)` after every registration and unregistration. */
  onChange(listener: (kind: string) => void): Disposable {
    this.listeners.add(listener);
    return toDisposable(() => { this.listeners.delete(listener); });
  }

  private changed(kind: string): void {
    for (const listener of this.listeners) listener(kind);
  }

  get<T>(kind: string, name?: string): T {
    const list = this.byKind.get(kind) ?? [];
    const wanted = name ?? this.defaults[kind];
    const entry = wanted ? list.find((e) => e.name === wanted) : list[0];
    if (!entry) {
      const known = list.map((e) => e.name).join(', ') || 'none';
      throw errors.unavailable(`no ${kind} driver${wanted ? ` named "${wanted}"` : ''} is active (active: ${known}); install or enable a plugin that provides it`);
    }
    return entry.driver as T;
  }

  has(kind: string, name?: string): boolean {
    const list = this.byKind.get(kind) ?? [];
    return name ? list.some((e) => e.name === name) : list.length > 0;
  }

  list(kind: string): { name: string; plugin?: string }[] {
    return (this.byKind.get(kind) ?? []).map(({ name, plugin }) => ({ name, plugin }));
  }

  /** A view that records which plugin registers what. */
  forPlugin(plugin: string): DriverRegistry {
    return {
      register: (kind, name, driver) => this.register(kind, name, driver, plugin),
      get: (kind, name) => this.get(kind, name),
      list: (kind) => this.list(kind),
    };
  }
}
