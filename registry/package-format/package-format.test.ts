import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';
import { isErrorKind, isInvalid } from '@kern/sdk';
import { digestFiles } from './package-digest';
import { extractPackage } from './extract-package';
import { packPlugin } from './pack-plugin';
import { assertSigned, generateKeyPair, keyIdOf, signDigest, verifySignature } from './package-signing';

let tmp: string;
beforeEach(() => { tmp = mkdtempSync(join(tmpdir(), 'kern-pkg-test-')); });
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

function write(file: string, text: string): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
}

function fixturePlugin(): string {
  const dir = join(tmp, 'hello');
  write(join(dir, 'package.json'), JSON.stringify({
    name: '@kern-test/hello', version: '1.2.3', main: 'dist/index.js',
    kern: { id: 'hello', kernelAbi: '^1.0.0' },
  }));
  write(join(dir, 'README.md'), '# hello\n');
  write(join(dir, 'dist/index.js'), 'module.exports = {};\n');
  write(join(dir, 'dist/lib/util.js'), 'exports.x = 1;\n');
  write(join(dir, 'src/index.ts'), 'export {};\n');
  write(join(dir, 'node_modules/dep/index.js'), '');
  return dir;
}

interface RawEntry { path: string; type?: string; body?: string; linkpath?: string; size?: number }

/** A gzipped tarball written header by header, so it can hold what tar.c would refuse to make. */
function rawTarball(entries: RawEntry[]): string {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const header = new tar.Header({ path: e.path, type: (e.type ?? 'File') as never, size: e.size ?? body.length, mode: 0o644, mtime: new Date(0), linkpath: e.linkpath });
    header.encode();
    blocks.push(header.block!);
    if (body.length) blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  const file = join(tmp, `evil-${Math.random().toString(36).slice(2)}.kpkg`);
  writeFileSync(file, gzipSync(Buffer.concat(blocks)));
  return file;
}

describe('packPlugin and extractPackage', () => {
  it('round-trips a plugin: built files in, sources and node_modules out, digest verified', async () => {
    const out = join(tmp, 'out', 'hello.kpkg');
    const packed = await packPlugin(fixturePlugin(), out);
    expect(packed.file).toBe(out);
    expect(packed.bytes).toBeGreaterThan(0);

    const dest = join(tmp, 'installed');
    const manifest = await extractPackage(out, dest);
    expect(manifest).toMatchObject({ id: 'hello', name: '@kern-test/hello', version: '1.2.3', kernelAbi: '^1.0.0', digest: packed.digest });
    expect(manifest.files.map((f) => f.path).sort()).toEqual(['README.md', 'dist/index.js', 'dist/lib/util.js', 'package.json']);
    expect(readFileSync(join(dest, 'dist/lib/util.js'), 'utf8')).toBe('exports.x = 1;\n');
    expect(existsSync(join(dest, 'src'))).toBe(false);
    expect(existsSync(join(dest, 'node_modules'))).toBe(false);
    expect(digestFiles(manifest.files)).toBe(packed.digest);
  });

  it('names the file <id>-<version>.kpkg by default and is reproducible', async () => {
    const dir = fixturePlugin();
    const cwd = process.cwd();
    process.chdir(tmp);
    try {
      const a = await packPlugin(dir);
      expect(a.file).toBe(join(tmp, 'hello-1.2.3.kpkg'));
      const b = await packPlugin(dir, join(tmp, 'again.kpkg'));
      expect(b.digest).toBe(a.digest);
    } finally {
      process.chdir(cwd);
    }
  });

  it.each([
    ['a README', 'README.md', 'FailedPrecondition'],
    ['the built entry', 'dist/index.js', 'FailedPrecondition'],
  ])('refuses a plugin without %s', async (_what, file, kind) => {
    const dir = fixturePlugin();
    rmSync(join(dir, file));
    const err = await packPlugin(dir, join(tmp, 'x.kpkg')).catch((e) => e);
    expect(isErrorKind(err, kind as never)).toBe(true);
    expect(err.field).toBe(file);
  });

  it('refuses an invalid manifest with the kernel validator', async () => {
    const dir = fixturePlugin();
    write(join(dir, 'package.json'), JSON.stringify({ name: 'x', version: '1.0.0', main: 'dist/index.js', kern: { id: 'Bad_Id', kernelAbi: '^1.0.0' } }));
    await expect(packPlugin(dir, join(tmp, 'x.kpkg'))).rejects.toMatchObject({ kind: 'Invalid', field: 'kern.id' });
  });

  it('refuses a tampered file and leaves nothing behind', async () => {
    const packed = await packPlugin(fixturePlugin(), join(tmp, 'hello.kpkg'));
    const unpacked = join(tmp, 'unpacked');
    mkdirSync(unpacked);
    await tar.x({ file: packed.file, cwd: unpacked });
    writeFileSync(join(unpacked, 'dist/index.js'), 'require("child_process").exec("evil")\n');
    const evil = join(tmp, 'evil.kpkg');
    await tar.c({ gzip: true, file: evil, cwd: unpacked }, readdirSync(unpacked));

    const dest = join(tmp, 'dest');
    await expect(extractPackage(evil, dest)).rejects.toThrow(/tampered package: dist\/index\.js/);
    expect(existsSync(dest)).toBe(false);
    expect(readdirSync(tmp).filter((n) => n.includes('partial'))).toEqual([]);
  });

  it('refuses a file the package list does not name', async () => {
    const packed = await packPlugin(fixturePlugin(), join(tmp, 'hello.kpkg'));
    const unpacked = join(tmp, 'unpacked');
    mkdirSync(unpacked);
    await tar.x({ file: packed.file, cwd: unpacked });
    writeFileSync(join(unpacked, 'dist/extra.js'), 'evil()\n');
    const evil = join(tmp, 'evil.kpkg');
    await tar.c({ gzip: true, file: evil, cwd: unpacked }, readdirSync(unpacked));
    await expect(extractPackage(evil, join(tmp, 'dest'))).rejects.toThrow(/tampered package: dist\/extra\.js is not listed/);
  });

  it.each<[string, RawEntry[], RegExp]>([
    ['zip-slip', [{ path: '../evil', body: 'x' }], /"\.\.\/evil".*\.\./],
    ['nested zip-slip', [{ path: 'dist/../../evil', body: 'x' }], /"dist\/\.\.\/\.\.\/evil"/],
    ['absolute path', [{ path: '/tmp/kern-evil', body: 'x' }], /"\/tmp\/kern-evil": has an absolute path/],
    ['symlink', [{ path: 'dist/link', type: 'SymbolicLink', linkpath: '/etc/passwd' }], /"dist\/link": is a symbolic link to \/etc\/passwd/],
    ['hard link', [{ path: 'dist/link', type: 'Link', linkpath: '../../etc/passwd' }], /"dist\/link": is a hard link/],
    ['character device', [{ path: 'dev', type: 'CharacterDevice' }], /"dev": is a CharacterDevice entry/],
    ['FIFO', [{ path: 'fifo', type: 'FIFO' }], /"fifo": is a FIFO entry/],
  ])('refuses a %s entry', async (_name, entries, message) => {
    const file = rawTarball([{ path: 'README.md', body: '# ok\n' }, ...entries]);
    const dest = join(tmp, 'dest');
    const err = await extractPackage(file, dest).catch((e) => e);
    expect(isInvalid(err)).toBe(true);
    expect(err.message).toMatch(message);
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(join(tmp, '..', 'evil'))).toBe(false);
  });

  it.each([
    ['bytes', { maxBytes: 1000 }, [{ path: 'big', body: 'x'.repeat(2000) }], /more than 1000 bytes/],
    ['files', { maxFiles: 3 }, ['a', 'b', 'c', 'd'].map((p) => ({ path: p, body: p })), /"d": the package has more than 3 entries/],
  ])('refuses a package over the %s limit', async (_what, limits, entries, message) => {
    const file = rawTarball(entries);
    await expect(extractPackage(file, join(tmp, 'dest'), limits)).rejects.toThrow(message);
  });

  it('refuses to extract into a non-empty directory', async () => {
    const packed = await packPlugin(fixturePlugin(), join(tmp, 'hello.kpkg'));
    const dest = join(tmp, 'dest');
    write(join(dest, 'keep.txt'), 'mine');
    await expect(extractPackage(packed.file, dest)).rejects.toMatchObject({ kind: 'AlreadyExists' });
    expect(readFileSync(join(dest, 'keep.txt'), 'utf8')).toBe('mine');
  });
});

describe('signing', () => {
  it('signs and verifies a digest; a key id is 16 hex digits of the public key', () => {
    const keys = generateKeyPair();
    expect(keys.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(keyIdOf(keys.publicKeyPem)).toBe(keys.keyId);
    const sig = signDigest(keys.privateKeyPem, 'digest-a');
    expect(sig.keyId).toBe(keys.keyId);
    expect(verifySignature(keys.publicKeyPem, 'digest-a', sig.signature)).toBe(true);
  });

  it.each([
    ['another digest', (s: string) => ({ digest: 'digest-b', sig: s, other: false })],
    ['another key', (s: string) => ({ digest: 'digest-a', sig: s, other: true })],
    ['a garbled signature', (_s: string) => ({ digest: 'digest-a', sig: 'AAAA', other: false })],
  ])('refuses a signature checked against %s', (_what, make) => {
    const keys = generateKeyPair();
    const { digest, sig, other } = make(signDigest(keys.privateKeyPem, 'digest-a').signature);
    const pub = other ? generateKeyPair().publicKeyPem : keys.publicKeyPem;
    expect(verifySignature(pub, digest, sig)).toBe(false);
  });

  it('assertSigned names a wrong key and a signature that does not match the digest', () => {
    const keys = generateKeyPair();
    const sig = signDigest(keys.privateKeyPem, 'digest-a');
    expect(() => assertSigned(keys.publicKeyPem, 'digest-a', sig)).not.toThrow();
    expect(() => assertSigned(keys.publicKeyPem, 'digest-b', sig)).toThrow(/does not match the package digest/);
    expect(() => assertSigned(generateKeyPair().publicKeyPem, 'digest-a', sig)).toThrow(/made with key/);
  });
});
