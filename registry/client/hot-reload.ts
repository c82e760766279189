import { KernelError, toKernelError } from '@kern/sdk';
import { CLIENT_ERROR_CODES } from './client-errors';
import { KernelPluginInfo, KernelPlugins } from './kernel-plugins';

/** A package to load into the kernel once the files changed. */
export interface PackageToLoad {
  id: string;
  version: string;
  /** Absolute path of the package directory. */
  dir: string;
  requires: Record<string, string>;
}

export interface KernelChange {
  /** Ids whose package directory is replaced or removed. */
  changed: string[];
  /** New packages to load after the change. */
  load: PackageToLoad[];
}

/** The file side of a change, done and undone by the caller's swap. */
export interface FileChange {
  apply(): Promise<void>;
  undo(): Promise<void>;
}

/**
 * Changes plugin files under a running kernel: unloads every changed plugin
 * it knows and the active plugins that require them (dependents first),
 * applies the file change, then loads the new packages and the bounced
 * dependents (dependencies first); returns the ids loaded, in order. If
 * anything fails, it unloads what it loaded, undoes the files and loads the
 * previous plugins again, then throws the error — naming the plugin whose
 * activation failed.
 */
export async function applyUnderKernel(kernel: KernelPlugins, change: KernelChange, files: FileChange, warn: (text: string) => void = () => undefined): Promise<string[]> {
  const before = await kernel.list();
  const known = new Map(before.map((p) => [p.id, p]));
  const changed = new Set(change.changed);

  // Active plugins that (through others) require a changed one must step aside while it changes.
  const bounced = new Set<string>();
  for (let grew = true; grew;) {
    grew = false;
    for (const p of before) {
      if (p.state !== 'active' || changed.has(p.id) || bounced.has(p.id)) continue;
      if (Object.keys(p.requires ?? {}).some((d) => changed.has(d) || bounced.has(d))) {
        bounced.add(p.id);
        grew = true;
      }
    }
  }
  const leaving = dependencyOrder(before.filter((p) => changed.has(p.id) || bounced.has(p.id))).reverse();
  const previous = dependencyOrder(leaving.filter((p) => p.state === 'active')).map((p) => asPackage(p));

  const unloaded: string[] = [];
  const loaded: string[] = [];
  const restorePrevious = () => restoreOnly(kernel, previous);
  const undo = async (): Promise<string[]> => {
    const problems: string[] = [];
    for (const id of [...loaded].reverse()) {
      try {
        await kernel.unload(id);
      } catch (e) {
        problems.push(`${id}: ${toKernelError(e).message}`);
      }
    }
    loaded.length = 0;
    await files.undo();
    problems.push(...(await restorePrevious()));
    return problems;
  };
  const report = (problems: string[]) => {
    for (const p of problems) warn(`warning: while rolling back, ${p}`);
  };

  try {
    for (const p of leaving) {
      await kernel.unload(p.id);
      unloaded.push(p.id);
    }
  } catch (e) {
    report(await restoreOnly(kernel, previous.filter((p) => unloaded.includes(p.id))));
    throw e;
  }
  try {
    await files.apply();
  } catch (e) {
    report(await restorePrevious());
    throw e;
  }

  const incoming = dependencyOrder([
    ...change.load,
    ...before.filter((p) => bounced.has(p.id) && p.state === 'active').map(asPackage),
  ]);
  for (const p of incoming) {
    try {
      await kernel.load(p.dir);
      loaded.push(p.id);
    } catch (e) {
      const err = toKernelError(e);
      report(await undo());
      const was = known.get(p.id);
      const back = previous.length ? `; rolled back to the previous plugins (${previous.map((x) => `${x.id} ${x.version}`).join(', ')})` : '; rolled back';
      throw new KernelError(err.kind, `plugin ${p.id} ${p.version} failed to load${was ? ` in place of ${was.version}` : ''}: ${err.message}${back}`,
        { field: p.id, code: CLIENT_ERROR_CODES.activation, cause: e });
    }
  }
  return loaded;
}

/** Loads `packages` again in order; the problems of those that failed. */
async function restoreOnly(kernel: KernelPlugins, packages: PackageToLoad[]): Promise<string[]> {
  const problems: string[] = [];
  for (const p of packages) {
    try {
      await kernel.load(p.dir);
    } catch (e) {
      problems.push(`${p.id}: ${toKernelError(e).message}`);
    }
  }
  return problems;
}

function asPackage(p: KernelPluginInfo): PackageToLoad {
  return { id: p.id, version: p.version, dir: p.dir, requires: p.requires ?? {} };
}

/** `items`, each after the items it requires (a cycle is left in list order). */
export function dependencyOrder<T extends { id: string; requires?: Record<string, string> }>(items: T[]): T[] {
  const byId = new Map(items.map((i) => [i.id, i]));
  const out: T[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (item: T): void => {
    if (state.has(item.id)) return;
    state.set(item.id, 'visiting');
    for (const dep of Object.keys(item.requires ?? {})) {
      const d = byId.get(dep);
      if (d) visit(d);
    }
    state.set(item.id, 'done');
    out.push(item);
  };
  for (const i of items) visit(i);
  return out;
}
