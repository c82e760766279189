import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KernelError, isKernelError } from '@kern/sdk';
import { assertSigned, keyIdOf } from '../package-format/package-signing';
import { CLIENT_ERROR_CODES } from './client-errors';
import { RegistrySignature } from './registry-api';

/** Trusted publisher keys live in `<data-dir>/trusted-keys/<keyId>.pub`. */
export const TRUSTED_KEYS_DIR = 'trusted-keys';

// Key ids become file names: only the shape keyIdOf makes is accepted.
const KEY_ID_PATTERN = /^[0-9a-f]{16}$/;

export interface TrustedKey {
  keyId: string;
  file: string;
}

/**
 * The publisher keys this machine trusts. A key is stored under its own key
 * id (recomputed from the key, never taken from whoever sent it), so a file
 * name cannot claim another key.
 */
export class TrustStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, TRUSTED_KEYS_DIR);
  }

  /** Trusts an Ed25519 public key (PEM). Invalid for anything else. `added` is false when it was trusted already. */
  async add(publicKeyPem: string): Promise<{ keyId: string; file: string; added: boolean }> {
    const keyId = keyIdOf(publicKeyPem);
    const file = join(this.dir, `${keyId}.pub`);
    if ((await this.get(keyId)) !== undefined) return { keyId, file, added: false };
    await mkdir(this.dir, { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    await writeFile(tmp, publicKeyPem.endsWith('\n') ? publicKeyPem : `${publicKeyPem}\n`, { mode: 0o644 });
    await rename(tmp, file);
    return { keyId, file, added: true };
  }

  /** The trusted key's PEM, or undefined when the key is not trusted. */
  async get(keyId: string): Promise<string | undefined> {
    if (!KEY_ID_PATTERN.test(keyId)) return undefined;
    const file = join(this.dir, `${keyId}.pub`);
    let pem: string;
    try {
      pem = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    let actual: string;
    try {
      actual = keyIdOf(pem);
    } catch (e) {
      throw new KernelError('Invalid', `${file}: is not an Ed25519 public key; remove it and trust the key again (kern plugin trust)`, { field: file, cause: e });
    }
    if (actual !== keyId) {
      throw new KernelError('Invalid', `${file}: holds key ${actual}, not ${keyId}; remove it and trust the key again (kern plugin trust)`, { field: file });
    }
    return pem;
  }

  async list(): Promise<TrustedKey[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return names
      .filter((n) => n.endsWith('.pub') && KEY_ID_PATTERN.test(n.slice(0, -4)))
      .sort()
      .map((n) => ({ keyId: n.slice(0, -4), file: join(this.dir, n) }));
  }
}

/** What a package says about its signature (from the registry index). */
export interface SignedPackage {
  id: string;
  version: string;
  /** The digest the signature covers; the installer checks the package against it. */
  digest: string;
  publisher: string;
  signature: RegistrySignature | null;
}

export interface SignatureCheck {
  /** The trusted key the signature was verified with; null when let through by allowUnsigned. */
  keyId: string | null;
  /** Set when allowUnsigned let an unsigned or untrusted package through. */
  warning?: string;
}

/**
 * Checks a package's signature against the trusted keys. Refused
 * (FailedPrecondition) when unsigned or signed by a key that is not trusted,
 * unless `allowUnsigned`; a signature by a trusted key that does not match
 * the digest is refused always (Invalid): that package was altered.
 */
export async function checkSignature(trust: TrustStore, pkg: SignedPackage, allowUnsigned: boolean): Promise<SignatureCheck> {
  const what = `plugin ${pkg.id} ${pkg.version}`;
  const sig = pkg.signature;
  if (!sig || typeof sig.keyId !== 'string' || typeof sig.signature !== 'string') {
    if (allowUnsigned) return { keyId: null, warning: `${what} is unsigned; installing it because of --allow-unsigned` };
    throw new KernelError('FailedPrecondition', `${what} is unsigned; refused (pass --allow-unsigned to install it anyway)`, { field: pkg.id, code: CLIENT_ERROR_CODES.unsigned });
  }
  const pem = await trust.get(sig.keyId);
  if (pem === undefined) {
    const keyId = KEY_ID_PATTERN.test(sig.keyId) ? sig.keyId : JSON.stringify(sig.keyId);
    if (allowUnsigned) return { keyId: null, warning: `${what} is signed by untrusted key ${keyId} (publisher ${pkg.publisher}); installing it because of --allow-unsigned` };
    throw new KernelError('FailedPrecondition',
      `${what} is signed by untrusted key ${keyId} (publisher ${pkg.publisher}); trust it with kern plugin trust --from-registry ${pkg.publisher} (or kern plugin trust FILE.pub with the publisher's key), or pass --allow-unsigned`,
      { field: pkg.id, code: CLIENT_ERROR_CODES.untrusted });
  }
  try {
    assertSigned(pem, pkg.digest, sig);
  } catch (e) {
    const detail = isKernelError(e) ? e.message : String(e);
    throw new KernelError('Invalid', `${what}: ${detail}; refused`, { field: pkg.id, code: CLIENT_ERROR_CODES.untrusted, cause: e });
  }
  return { keyId: sig.keyId };
}
