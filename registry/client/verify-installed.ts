import { join } from 'node:path';
import { PACKAGE_MANIFEST_FILE, PackageManifest } from '../package-format/package-digest';
import { checkPackageTree } from '../package-format/package-tree';
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
  const check = await checkPackageTree(dir);
  if (check.ok) return check.manifest;
  if ('problem' in check) {
    throw new Error({
      unlisted: `${check.path} was added after install`,
      missing: `${check.path} is missing`,
      changed: `${check.path} was modified`,
      digest: `${PACKAGE_MANIFEST_FILE} was modified (its file list does not give its digest)`,
    }[check.problem]);
  }
  if (check.manifestProblem === 'missing') throw new Error(`${join(dir, PACKAGE_MANIFEST_FILE)} is missing (the package is not installed, or not by kern plugin install)`);
  throw new Error(check.cause ? `${PACKAGE_MANIFEST_FILE} is not valid JSON` : `${PACKAGE_MANIFEST_FILE} lists no files`);
}
