import { lstat, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { KernelError } from '@kern/sdk';
import { CLIENT_ERROR_CODES } from './client-errors';
import { PluginEnvironment, applySwap } from './install';
import { installedRoot, readInstalledPlugins } from './installed-plugins';
import { LOCK_FILE_NAME, lockFilePath, readLockFile, writeLockFile } from './lock-file';
import { withOperationLock } from './operation-lock';
import { assertPluginId } from './plugin-request';
import { STAGING_PREFIX, SwapEntry, recoverInterruptedSwaps } from './plugin-swap';

export interface RemoveOutcome {
  id: string;
  /** The removed version; undefined for a package too broken to read. */
  version?: string;
  dir: string;
  /** True when the running kernel unloaded it. */
  unloaded: boolean;
  lockFile?: string;
}

/**
 * Removes an installed plugin: refused while another installed plugin, or
 * an active one in the running kernel, requires it, and for built-ins and
 * the config's extra plugins. Unloads it from the running kernel, then
 * moves its directory out and drops it from the lock file in one swap.
 */
export function removePlugin(env: PluginEnvironment, id: string): Promise<RemoveOutcome> {
  assertPluginId(id);
  const root = installedRoot(env.dataDir);
  return withOperationLock(root, async () => {
    for (const note of await recoverInterruptedSwaps(root)) env.progress.info(note);
    const fixed = env.fixed.find((p) => p.id === id);
    const installed = readInstalledPlugins(root);
    const target = installed.find((p) => p.id === id);
    if (!target && fixed) {
      throw new KernelError('FailedPrecondition', fixed.source === 'builtin'
        ? `plugin ${id} is built in and cannot be removed; to keep it from loading, add it to disabledPlugins in the kernel config (${join(env.dataDir, 'config.yaml')}) and restart the kernel`
        : `plugin ${id} comes from the kernel config's pluginDirs (${fixed.dir}), not from kern plugin install; remove it from there`,
      { field: id, code: CLIENT_ERROR_CODES.builtin });
    }
    // A package too broken to read is still removable by its folder name.
    const dir = target?.dir ?? join(root, id);
    if (!target && !(await lstat(dir).catch(() => undefined))) {
      throw new KernelError('NotFound', `plugin ${id} is not installed in ${root}; kern plugin list shows the loaded plugins`, { field: id, code: CLIENT_ERROR_CODES.notInstalled });
    }

    const dependents = [...installed, ...env.fixed].filter((p) => p.id !== id && p.requires[id] !== undefined).map((p) => ({ id: p.id, range: p.requires[id] }));
    const loaded = env.kernel ? await env.kernel.list() : [];
    for (const p of loaded) {
      if (p.state === 'active' && p.id !== id && p.requires?.[id] !== undefined && !dependents.some((d) => d.id === p.id)) dependents.push({ id: p.id, range: p.requires[id] });
    }
    if (dependents.length > 0) {
      const d = dependents[0];
      const more = dependents.length > 1 ? ` (so do ${dependents.slice(1).map((x) => x.id).join(', ')})` : '';
      throw new KernelError('FailedPrecondition', `plugin ${d.id} requires ${id} ${d.range}${more}; remove ${d.id} first`, { field: id, code: CLIENT_ERROR_CODES.required });
    }

    const lockFile = lockFilePath(env.dataDir);
    const lock = await readLockFile(lockFile);
    const staging = await mkdtemp(join(root, STAGING_PREFIX));
    try {
      const entries: SwapEntry[] = [{ target: dir }];
      if (lock?.plugins[id]) {
        delete lock.plugins[id];
        await writeLockFile(join(staging, LOCK_FILE_NAME), lock);
        entries.push({ target: lockFile, replacement: join(staging, LOCK_FILE_NAME) });
      }
      await applySwap(env, root, entries, { changed: [id], load: [] });
      return { id, version: target?.version, dir, unloaded: loaded.some((p) => p.id === id), ...(lock ? { lockFile } : {}) };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  });
}
