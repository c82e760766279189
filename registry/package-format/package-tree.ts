import { readFile, readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { PACKAGE_MANIFEST_FILE, PackageManifest, digestFiles, hashFile } from './package-digest';

/** What a package's files on disk came to against its own manifest. */
export type PackageTreeCheck =
  | { ok: true; manifest: PackageManifest }
  /** No readable manifest, or one without a file list and digest. */
  | { ok: false; manifestProblem: 'missing' | 'invalid'; cause?: unknown }
  /** The first difference: a file not listed, listed but missing, or changed; or the list not giving the digest. */
  | { ok: false; problem: TreeProblem; path?: string };

export type TreeProblem = 'unlisted' | 'missing' | 'changed' | 'digest';

/**
 * Checks the files under `root` against its `PACKAGE_MANIFEST_FILE`: nothing
 * unlisted, each listed file present with its size and SHA-512, and the
 * list giving the manifest's digest. Used on a package just extracted and
 * on one installed long ago (`kern plugin verify`).
 */
export async function checkPackageTree(root: string): Promise<PackageTreeCheck> {
  let manifest: PackageManifest;
  try {
    manifest = JSON.parse(await readFile(join(root, PACKAGE_MANIFEST_FILE), 'utf8')) as PackageManifest;
  } catch (e) {
    return { ok: false, manifestProblem: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'invalid', cause: e };
  }
  if (!manifest || !Array.isArray(manifest.files) || typeof manifest.digest !== 'string') return { ok: false, manifestProblem: 'invalid' };
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  for (const p of await listFiles(root, '')) {
    if (p !== PACKAGE_MANIFEST_FILE && !listed.has(p)) return { ok: false, problem: 'unlisted', path: p };
  }
  for (const f of manifest.files) {
    const actual = await hashFile(join(root, f.path)).catch(() => undefined);
    if (!actual) return { ok: false, problem: 'missing', path: f.path };
    if (actual.size !== f.size || actual.sha512 !== f.sha512) return { ok: false, problem: 'changed', path: f.path };
  }
  if (digestFiles(manifest.files) !== manifest.digest) return { ok: false, problem: 'digest' };
  return { ok: true, manifest };
}

async function listFiles(root: string, rel: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
    const p = rel ? posix.join(rel, e.name) : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(root, p)));
    else out.push(p);
  }
  return out;
}
