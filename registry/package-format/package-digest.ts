import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** One file of a package, as listed in `kern-package.json`. */
export interface PackageFile {
  /** Path inside the package, `/`-separated, relative to its root. */
  path: string;
  size: number;
  /** SHA-512 of the content, base64. */
  sha512: string;
}

/** `kern-package.json`: what a `.kpkg` says about itself. */
export interface PackageManifest {
  id: string;
  name: string;
  version: string;
  kernelAbi: string;
  files: PackageFile[];
  /** SHA-512 (base64) over {@link canonicalJson} of `files`; what a signature signs. */
  digest: string;
}

/** The name of the package's own description inside the tarball. */
export const PACKAGE_MANIFEST_FILE = 'kern-package.json';

/** Stable codes of the package-format errors. */
export const PACKAGE_ERROR_CODES = {
  invalid: 'KERN_ERR_REGISTRY_PACKAGE_INVALID',
  tampered: 'KERN_ERR_REGISTRY_PACKAGE_TAMPERED',
  signature: 'KERN_ERR_REGISTRY_SIGNATURE_INVALID',
  entryMissing: 'KERN_ERR_REGISTRY_ENTRY_MISSING',
} as const;

/**
 * JSON with object keys sorted at every level and no whitespace, so the same
 * value always gives the same bytes (and so the same digest).
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The digest of a file list: order-independent (the list is sorted by path first). */
export function digestFiles(files: readonly PackageFile[]): string {
  const sorted = [...files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => ({ path: f.path, size: f.size, sha512: f.sha512 }));
  return createHash('sha512').update(canonicalJson(sorted)).digest('base64');
}

/** Size and SHA-512 (base64) of a file on disk, streamed. */
export async function hashFile(file: string): Promise<{ size: number; sha512: string }> {
  const hash = createHash('sha512');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    size += (chunk as Buffer).length;
    hash.update(chunk as Buffer);
  }
  return { size, sha512: hash.digest('base64') };
}
