import { copyFile, lstat, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import * as tar from 'tar';
import { KernelError } from '@kern/sdk';
import { displayPath, readManifest } from '../../kernel/plugins/manifest';
import { PACKAGE_ERROR_CODES, PACKAGE_MANIFEST_FILE, PackageFile, PackageManifest, digestFiles, hashFile } from './package-digest';

export interface PackResult {
  file: string;
  digest: string;
  bytes: number;
}

/** Never packed, wherever they are: dependencies, sources, dot-files. */
const SKIPPED = new Set(['node_modules', 'src']);
// A fixed mtime keeps the same inputs giving the same tarball.
const FIXED_MTIME = new Date('2000-01-01T00:00:00Z');

/**
 * Packs a built plugin directory into `<id>-<version>.kpkg` (in the working
 * directory unless `outFile` is given): a gzipped tarball of package.json,
 * README.md, the built files (dist/, else the entry's folder) and
 * `kern-package.json` listing every file with its size and SHA-512.
 * Invalid for a bad manifest or a link among the files; FailedPrecondition
 * when the README or the built entry is missing.
 */
export async function packPlugin(dir: string, outFile?: string): Promise<PackResult> {
  const root = resolve(dir);
  const manifest = readManifest(root);
  await requireFile(root, 'README.md', 'a plugin package needs a README.md');
  if (manifest.entry === undefined && manifest.command === undefined) {
    throw new KernelError('Invalid', `${displayPath(join(root, 'package.json'))}: main or kern.entry is required to pack a plugin`, { field: 'kern.entry', code: PACKAGE_ERROR_CODES.invalid });
  }
  if (manifest.entry !== undefined) {
    await requireFile(root, manifest.entry, 'the built entry is missing; build the plugin first (npm run build)');
  }

  const paths = new Set<string>(['package.json', 'README.md']);
  let built: string | undefined;
  if (await isDir(join(root, 'dist'))) built = 'dist';
  else if (manifest.entry !== undefined) built = posix.dirname(toPosix(manifest.entry)).replace(/^\.\/?/, '') || undefined;
  if (built !== undefined) for (const p of await walk(root, built)) paths.add(p);
  else if (manifest.entry !== undefined) paths.add(posix.normalize(toPosix(manifest.entry)));

  const stage = await mkdtemp(join(tmpdir(), 'kern-pack-'));
  try {
    const files: PackageFile[] = [];
    for (const p of [...paths].sort()) {
      const to = join(stage, p);
      await mkdir(dirname(to), { recursive: true });
      await copyFile(join(root, p), to);
      // Hash the staged copy: it is exactly what goes into the tarball.
      files.push({ path: p, ...(await hashFile(to)) });
    }
    const described: PackageManifest = {
      id: manifest.id,
      name: manifest.name,
      version: manifest.version,
      kernelAbi: manifest.kernelAbi,
      files,
      digest: digestFiles(files),
    };
    await writeFile(join(stage, PACKAGE_MANIFEST_FILE), JSON.stringify(described, null, 2) + '\n');

    const file = resolve(outFile ?? `${manifest.id}-${manifest.version}.kpkg`);
    await mkdir(dirname(file), { recursive: true });
    await tar.c({ gzip: true, file, cwd: stage, portable: true, mtime: FIXED_MTIME }, [PACKAGE_MANIFEST_FILE, ...files.map((f) => f.path)]);
    return { file, digest: described.digest, bytes: (await stat(file)).size };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

async function requireFile(root: string, rel: string, why: string): Promise<void> {
  const s = await lstat(join(root, rel)).catch(() => undefined);
  if (!s || !s.isFile()) {
    throw new KernelError('FailedPrecondition', `${displayPath(join(root, rel))}: not found; ${why}`, { field: rel, code: PACKAGE_ERROR_CODES.entryMissing });
  }
}

async function isDir(p: string): Promise<boolean> {
  const s = await lstat(p).catch(() => undefined);
  return !!s && s.isDirectory();
}

/** Regular files under `root/rel`, as `/`-separated paths relative to root. */
async function walk(root: string, rel: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
    if (e.name.startsWith('.') || SKIPPED.has(e.name) || e.name.endsWith('.tsbuildinfo')) continue;
    const p = posix.join(rel, e.name);
    if (e.isSymbolicLink()) {
      throw new KernelError('Invalid', `${p}: is a symbolic link; packages hold regular files only`, { field: p, code: PACKAGE_ERROR_CODES.invalid });
    }
    if (e.isDirectory()) out.push(...(await walk(root, p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

function toPosix(p: string): string {
  return p.replace(/\\/g, '/');
}
