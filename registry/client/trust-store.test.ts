import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, signDigest } from '../package-format/package-signing';
import { TrustStore, checkSignature } from './trust-store';

let tmp: string;
let trust: TrustStore;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'kern-trust-test-'));
  trust = new TrustStore(tmp);
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const pkg = (signature: { keyId: string; signature: string } | null, digest = 'digest-1') => ({ id: 'web', version: '1.0.0', digest, publisher: 'acme', signature });

describe('TrustStore', () => {
  it('stores a key under the id computed from it, once', async () => {
    const keys = generateKeyPair();
    const first = await trust.add(keys.publicKeyPem);
    expect(first).toEqual({ keyId: keys.keyId, file: join(tmp, 'trusted-keys', `${keys.keyId}.pub`), added: true });
    expect((await trust.add(keys.publicKeyPem)).added).toBe(false);
    expect(await trust.list()).toEqual([{ keyId: keys.keyId, file: first.file }]);
    expect(await trust.get(keys.keyId)).toBe(keys.publicKeyPem);
  });

  it('refuses what is not an Ed25519 public key', async () => {
    await expect(trust.add('not a key')).rejects.toThrow(/not a PEM public key/);
  });

  it('does not believe a key file renamed to another key id', async () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    await trust.add(a.publicKeyPem);
    writeFileSync(join(trust.dir, `${b.keyId}.pub`), a.publicKeyPem);
    await expect(trust.get(b.keyId)).rejects.toThrow(new RegExp(`holds key ${a.keyId}, not ${b.keyId}`));
  });

  it('never reads outside its directory for a strange key id', async () => {
    expect(await trust.get('../../etc/passwd')).toBeUndefined();
  });
});

describe('checkSignature', () => {
  it('accepts a signature by a trusted key over the digest', async () => {
    const keys = generateKeyPair();
    await trust.add(keys.publicKeyPem);
    expect(await checkSignature(trust, pkg(signDigest(keys.privateKeyPem, 'digest-1')), false)).toEqual({ keyId: keys.keyId });
  });

  it('refuses an unsigned package unless --allow-unsigned', async () => {
    await expect(checkSignature(trust, pkg(null), false)).rejects.toMatchObject({
      kind: 'FailedPrecondition', code: 'KERN_ERR_REGISTRY_UNSIGNED', message: 'plugin web 1.0.0 is unsigned; refused (pass --allow-unsigned to install it anyway)',
    });
    expect(await checkSignature(trust, pkg(null), true)).toEqual({ keyId: null, warning: expect.stringMatching(/unsigned; installing it because of --allow-unsigned/) });
  });

  it('refuses a package signed by an untrusted key, saying how to trust it', async () => {
    const keys = generateKeyPair();
    const err = await checkSignature(trust, pkg(signDigest(keys.privateKeyPem, 'digest-1')), false).catch((e) => e);
    expect(err.code).toBe('KERN_ERR_REGISTRY_UNTRUSTED_KEY');
    expect(err.message).toBe(`plugin web 1.0.0 is signed by untrusted key ${keys.keyId} (publisher acme); trust it with kern plugin trust --from-registry acme (or kern plugin trust FILE.pub with the publisher's key), or pass --allow-unsigned`);
    expect((await checkSignature(trust, pkg(signDigest(keys.privateKeyPem, 'digest-1')), true)).keyId).toBeNull();
  });

  it('refuses a trusted key\'s signature over another digest, even with --allow-unsigned', async () => {
    const keys = generateKeyPair();
    await trust.add(keys.publicKeyPem);
    const sig = signDigest(keys.privateKeyPem, 'digest-1');
    await expect(checkSignature(trust, pkg(sig, 'digest-2'), true)).rejects.toThrow(/plugin web 1\.0\.0: signature: does not match the package digest/);
    expect(readdirSync(trust.dir)).toEqual([`${keys.keyId}.pub`]);
  });
});
