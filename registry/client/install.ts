import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as semver from 'semver';
import { KernelError, isErrorKind } from '@kern/sdk';
import { abiAdmits, readManifest } from '../../kernel/plugins/manifest';
import { extractPackage } from '../package-format/extract-package';
import { PackageManifest, canonicalJson } from '../package-format/package-digest';
import { CLIENT_ERROR_CODES } from './client-errors';
import { applyUnderKernel } from './hot-reload';
import { InstallProgress } from './install-progress';
import { LocalPlugin, installedRoot, readInstalledPlugins } from './installed-plugins';
import { KernelPlugins } from './kernel-plugins';
import { LOCK_FILE_NAME, PluginLock, emptyLock, lockFilePath, readLockFile, writeLockFile } from './lock-file';
import { withOperationLock } from './operation-lock';
import { PluginRequest } from './plugin-request';
import { PluginSwap, STAGING_PREFIX, SwapEntry, SwapFs, recoverInterruptedSwaps, swapPaths } from './plugin-swap';
import { PluginDocument, PluginVersionInfo } from './registry-api';
import { RegistryClient } from './registry-client';
import { ResolvedPlugin, SatisfiedRequest, resolvePlugins } from './resolve';
import { ensureSdkLink } from './sdk-link';
import { TrustStore, checkSignature } from './trust-store';

/** Where and with what a plugin operation runs. */
export interface PluginEnvironment {
  dataDir: string;
  /** Built-ins and the config's extra pluginDirs: present, never replaced. */
  fixed: LocalPlugin[];
  /** The running kernel that uses dataDir; absent means files only. */
  kernel?: KernelPlugins;
  /** Why there is no kernel to load into; told once files change. */
  kernelNote?: string;
  progress: InstallProgress;
  /** The sdk package the installed plugins link to; default the one this process loads. */
  sdkDir?: string;
  /** Failure injection for tests. */
  swapFs?: SwapFs;
}

export interface InstallEnvironment extends PluginEnvironment {
  registry: RegistryClient;
  trust: TrustStore;
  /** The kernel's ABI version (KERN_ABI). */
  kernelAbi: string;
}

export interface InstallRequest {
  requests: PluginRequest[];
  /** Let unsigned packages, and packages signed by untrusted keys, through. */
  allowUnsigned?: boolean;
  /** Installed ids to choose again even when they still fit (upgrade). */
  refresh?: string[];
  /** Install exactly these versions, whose digests must match. */
  locked?: PluginLock;
  /** Resolve and check signatures, change nothing. */
  dryRun?: boolean;
}

export interface InstalledPlugin {
  id: string;
  version: string;
  previous?: string;
  /** Why it is installed: the request, or the chain that requires it. */
  reason: string;
  requested: boolean;
  /** The trusted key its signature was verified with; null when let through unsigned. */
  keyId: string | null;
  dir: string;
}

export interface InstallOutcome {
  installed: InstalledPlugin[];
  satisfied: SatisfiedRequest[];
  /** Ids loaded into the running kernel, in order. */
  loaded: string[];
  /** Set when the lock file was written. */
  lockFile?: string;
  /** Newer versions of the plugins involved that were passed over because they need another kernel ABI. */
  newerForOtherAbi: NewerVersion[];
}

export interface NewerVersion {
  id: string;
  version: string;
  kernelAbi: string;
}

/**
 * For each plugin ending up at `version`, the newest published, not yanked
 * version above it that this kernel's ABI cannot load: why an upgrade
 * "is up to date" although the registry lists something newer.
 */
export function newerForOtherAbi(docs: ReadonlyMap<string, PluginDocument>, chosen: { id: string; version: string }[], kernelAbi: string): NewerVersion[] {
  const out: NewerVersion[] = [];
  for (const { id, version } of chosen) {
    const newer = (docs.get(id)?.versions ?? [])
      .filter((v) => !v.yanked && semver.gt(v.version, version) && !abiAdmits(v.kernelAbi, kernelAbi))
      .sort((a, b) => semver.rcompare(a.version, b.version))[0];
    if (newer) out.push({ id, version: newer.version, kernelAbi: newer.kernelAbi });
  }
  return out;
}

/**
 * Installs (or upgrades) plugins from a registry into
 * `<data-dir>/plugins-installed/`: resolves versions, refuses unsigned or
 * untrusted packages before downloading anything, downloads each package,
 * extracts it into a staging dir (which refuses unsafe entries and checks
 * every file against the digest), checks the digest against the index (and
 * the lock), then swaps the new set in at once together with the updated
 * lock file. With a running kernel the changed plugins are unloaded and the
 * new ones loaded; if one fails to activate, files, lock and kernel go
 * back to the previous set and the activation error is thrown.
 */
export function installPlugins(env: InstallEnvironment, req: InstallRequest): Promise<InstallOutcome> {
  const root = installedRoot(env.dataDir);
  return withOperationLock(root, async () => {
    for (const note of await recoverInterruptedSwaps(root)) env.progress.info(note);
    const installed = readInstalledPlugins(root);
    const docs = new Map<string, PluginDocument>();
    const locked = req.locked;
    const resolution = await resolvePlugins<PluginVersionInfo>({
      requests: req.requests,
      kernelAbi: env.kernelAbi,
      // Fixed plugins last: when an id is both, the kernel keeps the fixed one too.
      present: [...installed, ...env.fixed],
      refresh: req.refresh,
      ...(locked ? { pinned: Object.fromEntries(Object.entries(locked.plugins).map(([id, p]) => [id, p.version])), requestedAs: 'locked' } : {}),
      versionsOf: async (id) => {
        try {
          const doc = await env.registry.plugin(id);
          docs.set(id, doc);
          return doc.versions;
        } catch (e) {
          if (isErrorKind(e, 'NotFound')) return undefined;
          throw e;
        }
      },
    });
    const plan = resolution.install;
    const result: InstallOutcome = {
      installed: [], satisfied: resolution.satisfied, loaded: [],
      newerForOtherAbi: newerForOtherAbi(docs, [...resolution.satisfied, ...plan.map((p) => ({ id: p.id, version: p.version.version }))], env.kernelAbi),
    };

    // Refuse before downloading anything.
    const keyIds = new Map<string, string | null>();
    for (const p of plan) {
      if (locked) checkLocked(locked, p.id, p.version.digest, 'the registry index lists');
      const check = await checkSignature(env.trust, {
        id: p.id, version: p.version.version, digest: p.version.digest, publisher: docs.get(p.id)?.publisher ?? 'unknown', signature: p.version.signature,
      }, !!req.allowUnsigned);
      if (check.warning) env.progress.info(`warning: ${check.warning}`);
      keyIds.set(p.id, check.keyId);
    }
    for (const p of plan) {
      result.installed.push({
        id: p.id, version: p.version.version, reason: p.reason, requested: p.requested, keyId: keyIds.get(p.id) ?? null, dir: join(root, p.id),
        ...(p.previous ? { previous: p.previous } : {}),
      });
    }
    if (plan.length === 0 || req.dryRun) return result;

    const downloads = await mkdtemp(join(tmpdir(), 'kern-install-'));
    const staging = await mkdtemp(join(root, STAGING_PREFIX));
    try {
      for (const p of plan) await fetchAndStage(env, p, downloads, join(staging, p.id), locked);

      const lockFile = lockFilePath(env.dataDir);
      const lock = (await readLockFile(lockFile)) ?? emptyLock(env.registry.url);
      lock.registry = env.registry.url;
      for (const p of plan) {
        lock.plugins[p.id] = {
          version: p.version.version, digest: p.version.digest, keyId: keyIds.get(p.id) ?? null,
          requires: { ...p.version.requires }, resolved: env.registry.packageUrl(p.id, p.version.version),
        };
      }
      await writeLockFile(join(staging, LOCK_FILE_NAME), lock);
      await ensureSdkLink(root, env.sdkDir);

      const entries: SwapEntry[] = [];
      for (const p of plan) {
        // A hand-installed package of the same id in another folder goes too: the kernel refuses duplicate ids.
        for (const old of installed.filter((i) => i.id === p.id && i.dir !== join(root, p.id))) entries.push({ target: old.dir });
        entries.push({ target: join(root, p.id), replacement: join(staging, p.id) });
      }
      entries.push({ target: lockFile, replacement: join(staging, LOCK_FILE_NAME) });

      result.loaded = await applySwap(env, root, entries, {
        changed: plan.map((p) => p.id),
        load: plan.map((p) => ({ id: p.id, version: p.version.version, dir: join(root, p.id), requires: p.version.requires })),
      });
      result.lockFile = lockFile;
      return result;
    } finally {
      await rm(downloads, { recursive: true, force: true });
      await rm(staging, { recursive: true, force: true });
    }
  });
}

/**
 * Swaps `entries` in, under the running kernel when there is one, and
 * commits. Returns the ids loaded into the kernel.
 */
export async function applySwap(env: PluginEnvironment, root: string, entries: SwapEntry[], change: Parameters<typeof applyUnderKernel>[1]): Promise<string[]> {
  let swap: PluginSwap | undefined;
  const files = {
    apply: async () => { swap = await swapPaths(root, entries, env.swapFs); },
    undo: async () => { await swap?.rollback(); },
  };
  let loaded: string[] = [];
  if (env.kernel) {
    loaded = await applyUnderKernel(env.kernel, change, files, (t) => env.progress.info(t));
  } else {
    if (env.kernelNote) env.progress.info(env.kernelNote);
    await files.apply();
  }
  await swap!.commit();
  return loaded;
}

/** Downloads one package and extracts it into `dest`, refusing anything that is not exactly what was resolved. */
async function fetchAndStage(env: InstallEnvironment, p: ResolvedPlugin<PluginVersionInfo>, downloads: string, dest: string, locked?: PluginLock): Promise<void> {
  const { id } = p;
  const version = p.version.version;
  const file = join(downloads, `${id}-${version}.kpkg`);
  const bytes = await env.registry.download(id, version, file, p.version.size, (received, total) => env.progress.download(id, version, received, total));
  env.progress.downloaded(id, version, bytes);
  // extractPackage refuses unsafe entries and recomputes every file's hash and the digest.
  let manifest: PackageManifest;
  try {
    manifest = await extractPackage(file, dest);
  } catch (e) {
    throw new KernelError(isErrorKind(e, 'Invalid') ? 'Invalid' : 'Internal', `package ${id} ${version} from ${env.registry.url}: ${(e as Error).message}`,
      { field: id, code: (e as KernelError).code, cause: e });
  }
  if (manifest.digest !== p.version.digest) {
    throw new KernelError('Invalid', `package ${id} ${version}: its digest sha512-${manifest.digest} is not the one the registry index lists (sha512-${p.version.digest}); refused`,
      { field: id, code: CLIENT_ERROR_CODES.digestMismatch });
  }
  if (locked) checkLocked(locked, id, manifest.digest, 'the downloaded package has');
  if (manifest.id !== id || manifest.version !== version) {
    throw new KernelError('Invalid', `package ${id} ${version}: it holds ${manifest.id} ${manifest.version}; refused`, { field: id, code: CLIENT_ERROR_CODES.digestMismatch });
  }
  // The resolver trusted the index's requires and ABI; the signed package.json must say the same.
  const pkg = readManifest(dest);
  if (canonicalJson(pkg.requires) !== canonicalJson(p.version.requires ?? {}) || pkg.kernelAbi !== p.version.kernelAbi) {
    throw new KernelError('Invalid', `package ${id} ${version}: its package.json (kern.requires ${canonicalJson(pkg.requires)}, kern.kernelAbi ${pkg.kernelAbi}) does not match the registry index; refused`,
      { field: id, code: CLIENT_ERROR_CODES.digestMismatch });
  }
}

/** Refuses a digest other than the locked one, naming the plugin. */
function checkLocked(locked: PluginLock, id: string, digest: string, source: string): void {
  const want = locked.plugins[id];
  if (!want) {
    throw new KernelError('FailedPrecondition', `plugin ${id} is needed but the lock file does not list it; install from a complete lock file`, { field: `plugins.${id}`, code: CLIENT_ERROR_CODES.lockMismatch });
  }
  if (want.digest !== digest) {
    throw new KernelError('FailedPrecondition',
      `plugin ${id} ${want.version}: ${source} digest sha512-${digest}, but the lock file locks sha512-${want.digest}; refused (the package changed since the lock was written)`,
      { field: `plugins.${id}.digest`, code: CLIENT_ERROR_CODES.lockMismatch });
  }
}
