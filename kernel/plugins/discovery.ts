import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { KernelError, PluginManifest, toKernelError } from '@kern/sdk';
import { readPackageJson, validateManifest } from './manifest';

/** Where to look: a plugin package directory, or a directory of plugin packages. */
export interface PluginSource {
  dir: string;
  builtin: boolean;
}

/** One package found; either a valid manifest or the error that rejects it. */
export interface DiscoveredPlugin {
  /** Real path of the package directory. */
  dir: string;
  builtin: boolean;
  manifest?: PluginManifest;
  error?: KernelError;
  /** Best guess of the id for a rejected package (`kern.id` if readable, else the folder name). */
  id: string;
  name?: string;
  version?: string;
  description?: string;
}

/**
 * Scans the sources in order. A source that has a package.json is itself a
 * plugin package (and must have a `kern` section); otherwise each of its
 * immediate subdirectories with a package.json that has a `kern` section is
 * one. Packages without `kern` in a scanned directory are not plugins and
 * are skipped; packages whose package.json is unreadable are reported, since
 * they may well be broken plugins. A missing directory contributes nothing,
 * except a missing built-in, which is a broken install and is reported.
 * Never throws: problems come back as entries with `error`.
 */
export function discoverPlugins(sources: readonly PluginSource[]): DiscoveredPlugin[] {
  const found: DiscoveredPlugin[] = [];
  for (const source of sources) {
    const dir = resolve(source.dir);
    if (!isDirectory(dir)) {
      if (source.builtin) {
        found.push({
          dir, builtin: true, id: basename(dir),
          error: new KernelError('NotFound', `built-in plugin directory ${dir} does not exist; the installation is incomplete`, { code: 'KERN_ERR_PLUGIN_NOT_FOUND' }),
        });
      }
      continue;
    }
    if (existsSync(join(dir, 'package.json'))) {
      found.push(inspect(dir, source.builtin, true));
      continue;
    }
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (e) {
      found.push({ dir, builtin: source.builtin, id: basename(dir), error: toKernelError(e) });
      continue;
    }
    for (const name of names) {
      if (name.startsWith('.') || name === 'node_modules') continue;
      const sub = join(dir, name);
      if (!isDirectory(sub) || !existsSync(join(sub, 'package.json'))) continue;
      const entry = inspect(sub, source.builtin, false);
      if (entry) found.push(entry);
    }
  }
  return found;
}

/** Reads one package directory; `explicit` packages must be plugins, scanned ones may not be. */
function inspect(dir: string, builtin: boolean, explicit: true): DiscoveredPlugin;
function inspect(dir: string, builtin: boolean, explicit: boolean): DiscoveredPlugin | undefined;
function inspect(dir: string, builtin: boolean, explicit: boolean): DiscoveredPlugin | undefined {
  const real = realpath(dir);
  let pkg: Record<string, unknown>;
  try {
    pkg = readPackageJson(join(real, 'package.json'));
  } catch (e) {
    return { dir: real, builtin, id: basename(real), error: toKernelError(e) };
  }
  if (pkg.kern === undefined && !explicit) return undefined;
  const kern = pkg.kern as { id?: unknown } | undefined;
  const described = {
    dir: real,
    builtin,
    id: typeof kern?.id === 'string' && kern.id !== '' ? kern.id : basename(real),
    name: typeof pkg.name === 'string' ? pkg.name : undefined,
    version: typeof pkg.version === 'string' ? pkg.version : undefined,
    description: typeof pkg.description === 'string' ? pkg.description : undefined,
  };
  try {
    const manifest = validateManifest(pkg, join(real, 'package.json'));
    return { ...described, id: manifest.id, manifest };
  } catch (e) {
    return { ...described, error: toKernelError(e) };
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function realpath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
