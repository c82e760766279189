import { readFile, readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { PACKAGE_MANIFEST_FILE, PackageManifest, digestFiles, hashFile } from '../package-format/package-digest';
import { installedRoot, readInstalledPlugins } from './installed-plugins';
import { PluginLock, lockFilePath, readLockFile } from './lock-file';
import { SdkLinkState, sdkLinkState } from './sdk-link';

/** The verdict on one locked plugin. */
export interface InstalledCheck {
  id: string;
  version: string;
  dir: string;
  /** Undefined when every file matches the locked digest. */
  problem?: string;
  files?: number;
}

export interface InstalledReport {
  lockFile: string;
  /** Undefined when there is no lock file. */
  lock?: PluginLock;
  checks: InstalledCheck[];
  /** Installed packages the lock does not list (put there by hand). */
  unlocked: string[];
  sdkLink: SdkLinkState;
}

/**
 * Checks every plugin in `<data-dir>/plugins.lock.json` against its files
 * in `<data-dir>/plugins-installed/<id>`: each file's size and SHA-512
 * against the package's own list, nothing added, and the digest of that
 * list against the locked digest.
 */
export async function verifyInstalled(dataDir: string, sdkDir?: string): Promise<InstalledReport> {
  const root = installedRoot(dataDir);
  const lockFile = lockFilePath(dataDir);
  const lock = await readLockFile(lockFile);
  const installed = readInstalledPlugins(root);
  const checks: InstalledCheck[] = [];
  for (const [id, locked] of Object.entries(lock?.plugins ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const dir = installed.find((p) => p.id === id)?.dir ?? join(root, id);
    const check: InstalledCheck = { id, version: locked.version, dir };
    try {
      const manifest = await checkTree(dir);
      check.files = manifest.files.length;
      if (manifest.version !== locked.version) check.problem = `version ${manifest.version} is installed but the lock file locks ${locked.version}`;
      else if (manifest.digest !== locked.digest) check.problem = `digest sha512-${manifest.digest} is not the locked sha512-${locked.digest}`;
    } catch (e) {
      check.problem = (e as Error).message;
    }
    checks.push(check);
  }
  const unlocked = installed.filter((p) => !lock?.plugins[p.id]).map((p) => p.id).sort();
  return { lockFile, lock, checks, unlocked, sdkLink: await sdkLinkState(root, sdkDir) };
}

/** The installed package's own list, once every file on disk matches it; throws naming the first difference. */
async function checkTree(dir: string): Promise<PackageManifest> {
  let manifest: PackageManifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, PACKAGE_MANIFEST_FILE), 'utf8')) as PackageManifest;
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing ? `${join(dir, PACKAGE_MANIFEST_FILE)} is missing (the package is not installed, or not by kern plugin install)` : `${PACKAGE_MANIFEST_FILE} is not valid JSON`);
  }
  if (!Array.isArray(manifest?.files)) throw new Error(`${PACKAGE_MANIFEST_FILE} lists no files`);
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  for (const p of await filesUnder(dir, '')) {
    if (p !== PACKAGE_MANIFEST_FILE && !listed.has(p)) throw new Error(`${p} was added after install`);
  }
  for (const f of manifest.files) {
    const actual = await hashFile(join(dir, f.path)).catch(() => undefined);
    if (!actual) throw new Error(`${f.path} is missing`);
    if (actual.size !== f.size || actual.sha512 !== f.sha512) throw new Error(`${f.path} was modified`);
  }
  if (digestFiles(manifest.files) !== manifest.digest) throw new Error(`${PACKAGE_MANIFEST_FILE} was modified (its file list does not give its digest)`);
  return manifest;
}

async function filesUnder(root: string, rel: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
    const p = rel ? posix.join(rel, e.name) : e.name;
    if (e.isDirectory()) out.push(...(await filesUnder(root, p)));
    else out.push(p);
  }
  return out;
}
