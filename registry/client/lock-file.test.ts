import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PluginLock, emptyLock, formatLockFile, parseLockFile, readLockFile, writeLockFile } from './lock-file';

let tmp: string;
beforeEach(() => { tmp = mkdtempSync(join(tmpdir(), 'kern-lock-test-')); });
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const lock: PluginLock = {
  lockfileVersion: 1,
  registry: 'http://127.0.0.1:7080',
  plugins: {
    web: { version: '1.2.0', digest: 'd-web', keyId: '0123456789abcdef', requires: { net: '^1.0.0', auth: '^2.0.0' }, resolved: 'http://127.0.0.1:7080/v1/plugins/web/1.2.0/package' },
    auth: { version: '2.0.1', digest: 'd-auth', keyId: null, requires: {}, resolved: 'http://127.0.0.1:7080/v1/plugins/auth/2.0.1/package' },
  },
};

describe('lock file', () => {
  it('writes atomically and reads back the same lock', async () => {
    const file = join(tmp, 'plugins.lock.json');
    await writeLockFile(file, lock);
    expect(await readLockFile(file)).toEqual(lock);
    expect(readdirSync(tmp)).toEqual(['plugins.lock.json']);
  });

  it('sorts plugins and requires, so the same set gives the same bytes', () => {
    const text = formatLockFile(lock);
    expect(Object.keys(JSON.parse(text).plugins)).toEqual(['auth', 'web']);
    expect(Object.keys(JSON.parse(text).plugins.web.requires)).toEqual(['auth', 'net']);
    expect(formatLockFile(JSON.parse(text))).toBe(text);
    expect(JSON.parse(text)).toMatchObject({ lockfileVersion: 1, registry: 'http://127.0.0.1:7080' });
  });

  it('replaces the old lock whole, never leaving a half-written one', async () => {
    const file = join(tmp, 'plugins.lock.json');
    writeFileSync(file, formatLockFile(emptyLock('http://old')));
    await writeLockFile(file, lock);
    expect(JSON.parse(readFileSync(file, 'utf8')).registry).toBe('http://127.0.0.1:7080');
  });

  it('reads a missing lock as none', async () => {
    expect(await readLockFile(join(tmp, 'nope.json'))).toBeUndefined();
  });

  it.each([
    ['not JSON', '{', /is not valid JSON/, undefined],
    ['another version', JSON.stringify({ ...lock, lockfileVersion: 2 }), /lockfileVersion: 2 is not supported/, 'lockfileVersion'],
    ['a bad id', JSON.stringify({ ...lock, plugins: { '../etc': lock.plugins.web } }), /plugins\.\.\.\/etc: "\.\.\/etc" is not a plugin id/, 'plugins.../etc'],
    ['a bad version', JSON.stringify({ ...lock, plugins: { web: { ...lock.plugins.web, version: 'latest' } } }), /plugins\.web\.version: must be a semver version/, 'plugins.web.version'],
    ['no digest', JSON.stringify({ ...lock, plugins: { web: { ...lock.plugins.web, digest: undefined } } }), /plugins\.web\.digest/, 'plugins.web.digest'],
  ])('refuses %s, naming the field', (_what, text, message, field) => {
    let err: { message: string; field?: string } | undefined;
    try {
      parseLockFile(text, 'x.lock.json');
    } catch (e) {
      err = e as never;
    }
    expect(err?.message).toMatch(message);
    expect(err?.message).toMatch(/^x\.lock\.json: /);
    if (field) expect(err?.field).toBe(field);
  });
});
