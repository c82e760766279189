import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { errors } from '@kern/sdk';

/**
 * The plugins that ship with the kernel, as package directories relative to
 * the repository root. This is the one place the kernel names plugins
 * (test/architecture/import-boundaries.test.ts holds it to that); it names
 * them by directory only and never imports them.
 */
export const BUILTIN_PLUGINS: readonly string[] = [
  'plugins/store-sqlite',
  'plugins/runtime-docker',
  'plugins/batch',
  'plugins/workloads',
];

/** Name in the root package.json that marks the repository (or installed package) root. */
const ROOT_PACKAGE_NAME = 'kern';

/**
 * The directory holding the package.json named "kern", walking up from
 * `from`. Works both from the sources (kernel/plugins/ under jest) and from
 * the build (dist/kernel/plugins/ after tsc).
 */
export function findRepoRoot(from: string = __dirname): string {
  let dir = resolve(from);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === ROOT_PACKAGE_NAME) return dir;
      } catch {
        // an unreadable package.json on the way up is not ours; keep walking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw errors.internal(`cannot find the kern installation root (a package.json named "${ROOT_PACKAGE_NAME}") above ${from}`);
    dir = parent;
  }
}

/** Absolute directories of the built-in plugins. */
export function builtinPluginDirs(root: string = findRepoRoot()): string[] {
  return BUILTIN_PLUGINS.map((p) => join(root, p));
}
