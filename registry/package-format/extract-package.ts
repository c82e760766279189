import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import * as tar from 'tar';
import { KernelError } from '@kern/sdk';
import { PACKAGE_ERROR_CODES, PACKAGE_MANIFEST_FILE, PackageManifest } from './package-digest';
import { checkPackageTree } from './package-tree';

export interface ExtractOptions {
  /** Largest total of file sizes accepted; default 100 MiB. */
  maxBytes?: number;
  /** Most entries (files and folders) accepted; default 10 000. */
  maxFiles?: number;
}

export const DEFAULT_MAX_BYTES = 100 * 1024 * 1024;
export const DEFAULT_MAX_FILES = 10_000;

const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);

/**
 * Extracts a `.kpkg` into `destDir` (which must not exist or be empty) and
 * returns its verified `kern-package.json`. Every entry is checked before
 * anything is written: absolute paths, `..` segments, links of any kind,
 * devices and FIFOs, and packages over the size or count limits are refused
 * with Invalid naming the entry. After extraction every file's SHA-512 and
 * the digest are recomputed; on any mismatch ("tampered package") or other
 * failure nothing is left in `destDir`.
 */
export async function extractPackage(file: string, destDir: string, options: ExtractOptions = {}): Promise<PackageManifest> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxFiles = options.maxFiles ?? DEFAULT_MAX_FILES;
  const dest = resolve(destDir);
  await scanPackage(file, maxBytes, maxFiles);

  const existing = await readdir(dest).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (existing && existing.length > 0) {
    throw new KernelError('AlreadyExists', `${dest}: is not empty; extract a package into a new or empty directory`, { field: 'destDir' });
  }

  // Extract beside the destination and move into place only once verified,
  // so a refused package leaves no partial output behind.
  await mkdir(dirname(dest), { recursive: true });
  const work = await mkdtemp(join(dirname(dest), `.${basename(dest)}.partial-`));
  try {
    await tar.x({
      file,
      cwd: work,
      strict: true,
      preserveOwner: false,
      // The scan refused these already; the filter keeps it that way.
      filter: (_p, entry) => 'type' in entry && ALLOWED_TYPES.has(entry.type),
    });
    const manifest = await verifyTree(work);
    if (existing) await rmdir(dest);
    await rename(work, dest);
    return manifest;
  } catch (e) {
    await rm(work, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Verifies a `.kpkg` without keeping its content: extracts into a temporary
 * directory, checks it as {@link extractPackage} does, and removes it.
 */
export async function verifyPackage(file: string, options: ExtractOptions = {}): Promise<PackageManifest> {
  const tmp = await mkdtemp(join(tmpdir(), 'kern-verify-'));
  try {
    return await extractPackage(file, join(tmp, 'package'), options);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Reads every header once, refusing unsafe entries before anything touches the disk. */
async function scanPackage(file: string, maxBytes: number, maxFiles: number): Promise<void> {
  await stat(file).catch((e) => {
    throw new KernelError('NotFound', `${file}: not found`, { field: 'file', cause: e });
  });
  await new Promise<void>((done, fail) => {
    let count = 0;
    let bytes = 0;
    let failed = false;
    const input = createReadStream(file);
    const parser = new tar.Parser({ strict: true });
    const stop = (e: unknown) => {
      if (failed) return;
      failed = true;
      input.destroy();
      fail(e);
    };
    parser.on('entry', (entry: tar.ReadEntry) => {
      entry.resume();
      if (failed) return;
      const problem = entryProblem(entry.path, entry.type, entry.linkpath);
      if (problem) return stop(invalid(entry.path, problem));
      count++;
      bytes += entry.size ?? 0;
      if (count > maxFiles) return stop(invalid(entry.path, `the package has more than ${maxFiles} entries (the limit)`));
      if (bytes > maxBytes) return stop(invalid(entry.path, `the package holds more than ${maxBytes} bytes (the limit)`));
    });
    parser.on('error', (e: Error) => stop(new KernelError('Invalid', `${file}: is not a valid package (a gzipped tarball): ${e.message}`, { code: PACKAGE_ERROR_CODES.invalid, cause: e })));
    parser.on('end', () => { if (!failed) done(); });
    input.on('error', stop);
    input.pipe(parser);
  });
}

/** Why an entry may not be extracted, or undefined when it may. */
export function entryProblem(path: string, type: string, linkpath?: string): string | undefined {
  if (path === '' || path.includes('\0')) return 'has an empty or malformed path';
  const p = path.replace(/\\/g, '/');
  if (p.startsWith('/') || /^[a-zA-Z]:/.test(p)) return 'has an absolute path';
  if (p.split('/').includes('..')) return 'has a ".." path segment (it would land outside the destination)';
  if (type === 'SymbolicLink' || type === 'Link') return `is a ${type === 'Link' ? 'hard' : 'symbolic'} link${linkpath ? ` to ${linkpath}` : ''}; packages hold regular files only`;
  if (!ALLOWED_TYPES.has(type)) return `is a ${type} entry; packages hold regular files and folders only`;
  return undefined;
}

function invalid(path: string, problem: string): KernelError {
  return new KernelError('Invalid', `package entry ${JSON.stringify(path)}: ${problem}`, { field: path, code: PACKAGE_ERROR_CODES.invalid });
}

function tampered(what: string): KernelError {
  return new KernelError('Invalid', `tampered package: ${what}; do not install it`, { code: PACKAGE_ERROR_CODES.tampered });
}

async function verifyTree(root: string): Promise<PackageManifest> {
  const check = await checkPackageTree(root);
  if (check.ok) return check.manifest;
  if ('problem' in check) {
    throw tampered({
      unlisted: `${check.path} is not listed in ${PACKAGE_MANIFEST_FILE}`,
      missing: `${check.path} is listed but missing`,
      changed: `${check.path} does not match its recorded SHA-512`,
      digest: 'the file list does not match the package digest',
    }[check.problem]);
  }
  throw check.manifestProblem === 'invalid' && !check.cause
    ? new KernelError('Invalid', `package: ${PACKAGE_MANIFEST_FILE} must list files and a digest`, { field: PACKAGE_MANIFEST_FILE, code: PACKAGE_ERROR_CODES.invalid })
    : new KernelError('Invalid', `package: ${PACKAGE_MANIFEST_FILE} is missing or not valid JSON; not a kern package`, { field: PACKAGE_MANIFEST_FILE, code: PACKAGE_ERROR_CODES.invalid, cause: check.cause });
}
