import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as semver from 'semver';
import { KernelError } from '@kern/sdk';
import { PLUGIN_ID_PATTERN } from '../../kernel/plugins/manifest';
import { CLIENT_ERROR_CODES } from './client-errors';

/** `<data-dir>/plugins.lock.json`: exactly what `kern plugin install` put in this data dir. */
export const LOCK_FILE_NAME = 'plugins.lock.json';
export const LOCKFILE_VERSION = 1;

export interface LockedPlugin {
  version: string;
  /** The package digest (base64 SHA-512 over its file list). */
  digest: string;
  /** The trusted key the signature was verified with; null when installed with --allow-unsigned. */
  keyId: string | null;
  requires: Record<string, string>;
  /** Where the package was downloaded from. */
  resolved: string;
}

export interface PluginLock {
  lockfileVersion: typeof LOCKFILE_VERSION;
  /** The registry the plugins came from. */
  registry: string;
  plugins: Record<string, LockedPlugin>;
}

export function lockFilePath(dataDir: string): string {
  return join(dataDir, LOCK_FILE_NAME);
}

export function emptyLock(registry: string): PluginLock {
  return { lockfileVersion: LOCKFILE_VERSION, registry, plugins: {} };
}

/** Reads a lock file; undefined when there is none. Invalid, naming the field, when it is malformed. */
export async function readLockFile(file: string): Promise<PluginLock | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return parseLockFile(text, file);
}

/** Parses and checks a lock file's text; ids and versions are checked because they become paths and URLs. */
export function parseLockFile(text: string, source: string): PluginLock {
  const bad = (field: string, message: string): never => {
    throw new KernelError('Invalid', `${source}: ${field}: ${message}`, { field, code: CLIENT_ERROR_CODES.lockInvalid });
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new KernelError('Invalid', `${source}: is not valid JSON: ${(e as Error).message}`, { code: CLIENT_ERROR_CODES.lockInvalid, cause: e });
  }
  if (!isObject(v)) return bad('(root)', 'must be a JSON object');
  if (v.lockfileVersion !== LOCKFILE_VERSION) {
    bad('lockfileVersion', `${JSON.stringify(v.lockfileVersion)} is not supported; this kern reads lock files of version ${LOCKFILE_VERSION}`);
  }
  if (typeof v.registry !== 'string') bad('registry', 'must be the registry URL');
  if (!isObject(v.plugins)) return bad('plugins', 'must map plugin ids to locked versions');
  const plugins: Record<string, LockedPlugin> = {};
  for (const [id, entry] of Object.entries(v.plugins)) {
    const f = `plugins.${id}`;
    if (!PLUGIN_ID_PATTERN.test(id)) bad(f, `"${id}" is not a plugin id`);
    if (!isObject(entry)) return bad(f, 'must be an object');
    if (typeof entry.version !== 'string' || semver.valid(entry.version) === null) bad(`${f}.version`, 'must be a semver version');
    if (typeof entry.digest !== 'string' || entry.digest === '') bad(`${f}.digest`, 'must be the package digest');
    if (entry.keyId !== null && typeof entry.keyId !== 'string') bad(`${f}.keyId`, 'must be a key id or null');
    if (!isObject(entry.requires) || !Object.values(entry.requires).every((r) => typeof r === 'string')) bad(`${f}.requires`, 'must map plugin ids to ranges');
    if (typeof entry.resolved !== 'string') bad(`${f}.resolved`, 'must be the package URL');
    plugins[id] = {
      version: entry.version as string,
      digest: entry.digest as string,
      keyId: entry.keyId as string | null,
      requires: { ...(entry.requires as Record<string, string>) },
      resolved: entry.resolved as string,
    };
  }
  return { lockfileVersion: LOCKFILE_VERSION, registry: v.registry as string, plugins };
}

/** The lock as written: plugins sorted by id, so the same set gives the same bytes. */
export function formatLockFile(lock: PluginLock): string {
  const plugins: Record<string, LockedPlugin> = {};
  for (const id of Object.keys(lock.plugins).sort()) {
    const p = lock.plugins[id];
    const requires = Object.fromEntries(Object.entries(p.requires).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    plugins[id] = { version: p.version, digest: p.digest, keyId: p.keyId, requires, resolved: p.resolved };
  }
  return JSON.stringify({ lockfileVersion: LOCKFILE_VERSION, registry: lock.registry, plugins }, null, 2) + '\n';
}

/**
 * Writes the lock atomically: a temporary file beside it, flushed to disk,
 * then renamed over it. A reader sees the old lock or the new one, never a
 * half-written one.
 */
export async function writeLockFile(file: string, lock: PluginLock): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.tmp-${process.pid}-${Date.now()}`);
  const handle = await open(tmp, 'w', 0o644);
  try {
    await handle.writeFile(formatLockFile(lock));
    await handle.sync();
  } catch (e) {
    await handle.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await handle.close();
  try {
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
