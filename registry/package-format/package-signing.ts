import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { KernelError } from '@kern/sdk';
import { PACKAGE_ERROR_CODES } from './package-digest';

/** A publisher's Ed25519 key pair, PEM-encoded (PKCS#8 private, SPKI public). */
export interface PublisherKeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
  keyId: string;
}

/** What `<file>.kpkg.sig` holds. */
export interface PackageSignature {
  keyId: string;
  /** Ed25519 signature of the package digest (its UTF-8 bytes), base64. */
  signature: string;
}

/** Makes a new Ed25519 key pair for signing packages. */
export function generateKeyPair(): PublisherKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem,
    keyId: keyIdOf(publicKeyPem),
  };
}

/** The key id: the first 16 hex digits of SHA-256 over the public key's SPKI DER. */
export function keyIdOf(publicKeyPem: string): string {
  const der = parsePublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

/** Signs a package digest; the key id comes from the private key's public half. */
export function signDigest(privateKeyPem: string, digest: string): PackageSignature {
  let key;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch (e) {
    throw new KernelError('Invalid', `private key: not a PEM private key: ${(e as Error).message}`, { field: 'key', cause: e });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new KernelError('Invalid', `private key: is ${key.asymmetricKeyType}, packages are signed with ed25519 keys (kern plugin keygen makes one)`, { field: 'key' });
  }
  const signature = sign(null, Buffer.from(digest, 'utf8'), key).toString('base64');
  const publicKeyPem = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  return { keyId: keyIdOf(publicKeyPem), signature };
}

/**
 * True when `signature` (base64) is the public key's Ed25519 signature of
 * `digest`. A malformed signature is simply not valid; a malformed key throws.
 */
export function verifySignature(publicKeyPem: string, digest: string, signature: string): boolean {
  const key = parsePublicKey(publicKeyPem);
  try {
    return verify(null, Buffer.from(digest, 'utf8'), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * Checks a signature file against a public key and a digest; throws Invalid
 * (code KERN_ERR_REGISTRY_SIGNATURE_INVALID) naming what did not match.
 */
export function assertSigned(publicKeyPem: string, digest: string, sig: PackageSignature): void {
  const expected = keyIdOf(publicKeyPem);
  if (sig.keyId !== expected) {
    throw new KernelError('Invalid', `signature: made with key ${sig.keyId}, but the public key given is ${expected}; verify with the publisher's key`, { field: 'keyId', code: PACKAGE_ERROR_CODES.signature });
  }
  if (!verifySignature(publicKeyPem, digest, sig.signature)) {
    throw new KernelError('Invalid', `signature: does not match the package digest for key ${expected}; the package or its signature was altered`, { field: 'signature', code: PACKAGE_ERROR_CODES.signature });
  }
}

/** Parses the JSON of a `.sig` file. */
export function parseSignature(text: string, source = 'signature'): PackageSignature {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new KernelError('Invalid', `${source}: is not valid JSON: ${(e as Error).message}`, { code: PACKAGE_ERROR_CODES.signature, cause: e });
  }
  const s = v as Partial<PackageSignature> | null;
  if (!s || typeof s.keyId !== 'string' || typeof s.signature !== 'string') {
    throw new KernelError('Invalid', `${source}: must be {"keyId": string, "signature": string}`, { code: PACKAGE_ERROR_CODES.signature });
  }
  return { keyId: s.keyId, signature: s.signature };
}

function parsePublicKey(pem: string) {
  let key;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw new KernelError('Invalid', `public key: not a PEM public key: ${(e as Error).message}`, { field: 'pub', cause: e });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new KernelError('Invalid', `public key: is ${key.asymmetricKeyType}, expected an ed25519 key`, { field: 'pub' });
  }
  return key;
}
