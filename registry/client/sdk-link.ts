import { existsSync, readFileSync } from 'node:fs';
import { lstat, mkdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { errors } from '@kern/sdk';

const SDK_PACKAGE = '@kern/sdk';

/**
 * Installed plugins live under the data dir, where Node's module lookup
 * (node_modules folders up from the plugin) never reaches the kernel's own
 * node_modules. So `<root>/node_modules/@kern/sdk` is a symbolic link to the
 * package directory of the sdk this kern resolves: a plugin's
 * `require('@kern/sdk')` finds the link, Node follows it to the real path,
 * and the plugin gets the very module instance the kernel loaded (one
 * KernelError, one set of tokens). Discovery skips `node_modules`.
 */
export function sdkLinkPath(root: string): string {
  return join(root, 'node_modules', ...SDK_PACKAGE.split('/'));
}

/** The directory of the sdk package this process resolves (`sdk/` in the repo). */
export function kernelSdkDir(): string {
  let dir = dirname(require.resolve(SDK_PACKAGE));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === SDK_PACKAGE) return dir;
      } catch {
        // not the sdk's package.json; keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw errors.internal(`cannot find the ${SDK_PACKAGE} package directory above ${require.resolve(SDK_PACKAGE)}`);
    dir = parent;
  }
}

export type SdkLinkState = 'ok' | 'missing' | 'stale';

/** Whether the link exists and points at `sdkDir`. */
export async function sdkLinkState(root: string, sdkDir: string = kernelSdkDir()): Promise<SdkLinkState> {
  const link = sdkLinkPath(root);
  const st = await lstat(link).catch(() => undefined);
  if (!st) return 'missing';
  if (!st.isSymbolicLink()) return 'stale';
  return resolve(dirname(link), await readlink(link)) === resolve(sdkDir) ? 'ok' : 'stale';
}

/**
 * Makes the link point at `sdkDir` (creating or re-pointing it, e.g. after
 * kern moved). The new link is made beside the old one and renamed over it.
 * Returns true when it changed anything.
 */
export async function ensureSdkLink(root: string, sdkDir: string = kernelSdkDir()): Promise<boolean> {
  if ((await sdkLinkState(root, sdkDir)) === 'ok') return false;
  const link = sdkLinkPath(root);
  await mkdir(dirname(link), { recursive: true });
  const tmp = `${link}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await symlink(resolve(sdkDir), tmp, 'junction');
  const st = await lstat(link).catch(() => undefined);
  // rename cannot replace a directory; a real one there is ours to remove.
  if (st && !st.isSymbolicLink()) await rm(link, { recursive: true, force: true });
  await rename(tmp, link);
  return true;
}
