import { join } from 'node:path';
import { discoverPlugins } from '../../kernel/plugins/discovery';
import { PresentPlugin, PresentSource } from './resolve';

/** Where installed plugins live: `<data-dir>/plugins-installed/<id>` (the kernel scans it at boot). */
export const INSTALLED_DIR = 'plugins-installed';

export function installedRoot(dataDir: string): string {
  return join(dataDir, INSTALLED_DIR);
}

/** A plugin on this machine, with the directory it was found in. */
export interface LocalPlugin extends PresentPlugin {
  dir: string;
}

/**
 * The valid plugin packages in `<root>` (one per subdirectory), as the
 * kernel's discovery sees them. Broken packages are left out: they are
 * nothing to depend on.
 */
export function readInstalledPlugins(root: string): LocalPlugin[] {
  return readPlugins([{ dir: root, builtin: false }], 'installed');
}

/**
 * Plugins that `kern plugin install` does not manage but that count as
 * present: the built-ins and the packages in the config's extra pluginDirs.
 */
export function readFixedPlugins(builtinDirs: string[], extraDirs: string[]): LocalPlugin[] {
  return [
    ...readPlugins(builtinDirs.map((dir) => ({ dir, builtin: true })), 'builtin'),
    ...readPlugins(extraDirs.map((dir) => ({ dir, builtin: false })), 'extra'),
  ];
}

function readPlugins(sources: { dir: string; builtin: boolean }[], source: PresentSource): LocalPlugin[] {
  const out: LocalPlugin[] = [];
  for (const d of discoverPlugins(sources)) {
    if (!d.manifest) continue;
    out.push({ id: d.manifest.id, version: d.manifest.version, requires: { ...d.manifest.requires }, source, dir: d.dir });
  }
  return out;
}
