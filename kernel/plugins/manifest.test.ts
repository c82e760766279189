import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isInvalid, isNotFound, KernelError } from '@kern/sdk';
import { abiCompatible, abiMismatch, checkManifest, isOutOfProcess, readManifest, validateManifest } from './manifest';

const FILE = 'plugins/foo/package.json';

function pkg(kern: Record<string, unknown> | undefined, top: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: '@kern/plugin-foo', version: '1.2.3', description: 'foo', main: 'dist/index.js', ...top, ...(kern ? { kern } : {}) };
}
const kern = (over: Record<string, unknown> = {}) => ({ id: 'foo', kernelAbi: '^1.0.0', ...over });

describe('manifest validation', () => {
  it('accepts a complete manifest and fills defaults', () => {
    const m = validateManifest(pkg(kern()), FILE);
    expect(m).toEqual({
      id: 'foo', kernelAbi: '^1.0.0', name: '@kern/plugin-foo', version: '1.2.3', description: 'foo',
      provides: [], requires: {}, syscalls: [], entry: 'dist/index.js',
    });
  });

  it('takes kern.entry over main and keeps the optional fields', () => {
    const m = validateManifest(pkg(kern({
      entry: 'lib/plugin.js', provides: [{ kind: 'store', name: 'foo' }], requires: { bar: '^2.1.0' },
      syscalls: ['state.*', 'state.get', '*'], command: ['./driver', '--socket'], config: { path: { type: 'string' } },
    })), FILE);
    expect(m.entry).toBe('lib/plugin.js');
    expect(m.provides).toEqual([{ kind: 'store', name: 'foo' }]);
    expect(m.requires).toEqual({ bar: '^2.1.0' });
    expect(m.syscalls).toEqual(['state.*', 'state.get', '*']);
    expect(m.command).toEqual(['./driver', '--socket']);
  });

  it('runs a package with both main and kern.command out of process', () => {
    const withCommand = validateManifest(pkg(kern({ command: ['node', 'dist/main.js'], provides: [{ kind: 'runtime', name: 'raw' }] })), FILE);
    expect(withCommand).toMatchObject({ entry: 'dist/index.js', command: ['node', 'dist/main.js'] });
    expect(isOutOfProcess(withCommand)).toBe(true);
    expect(isOutOfProcess(validateManifest(pkg(kern()), FILE))).toBe(false);
    // An absolute program is the author's choice (an interpreter, say).
    expect(validateManifest(pkg(kern({ command: ['/usr/bin/python3', 'driver.py'], provides: [{ kind: 'volume', name: 'v' }] })), FILE).command)
      .toEqual(['/usr/bin/python3', 'driver.py']);
  });

  it('validates the real store-sqlite manifest', () => {
    const m = readManifest(join(__dirname, '../../plugins/store-sqlite'));
    expect(m.id).toBe('store-sqlite');
    expect(abiCompatible(m, '1.0.0')).toBe(true);
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    ['no kern section', pkg(undefined), 'kern', 'kern: is required'],
    ['kern not an object', pkg(undefined, { kern: 'yes' }), 'kern', 'kern: must be an object'],
    ['missing name', pkg(kern(), { name: undefined }), 'name', 'name: is required'],
    ['empty name', pkg(kern(), { name: ' ' }), 'name', 'name: is required'],
    ['missing version', pkg(kern(), { version: undefined }), 'version', 'version: is required'],
    ['bad version', pkg(kern(), { version: '1.x' }), 'version', 'version: "1.x" is not a semver version'],
    ['description not a string', pkg(kern(), { description: 3 }), 'description', 'description: must be a string'],
    ['main not a string', pkg(kern(), { main: 5 }), 'main', 'main: must be a non-empty string'],
    ['main outside the package', pkg(kern(), { main: '../other/index.js' }), 'main', 'main: "../other/index.js" must be a path inside the package'],
    ['missing id', pkg(kern({ id: undefined })), 'kern.id', 'kern.id: is required'],
    ['id not kebab-case', pkg(kern({ id: 'Foo_Bar' })), 'kern.id', 'kern.id: "Foo_Bar" must be kebab-case'],
    ['id with a double dash', pkg(kern({ id: 'foo--bar' })), 'kern.id', 'kern.id: "foo--bar" must be kebab-case'],
    ['missing kernelAbi', pkg(kern({ kernelAbi: undefined })), 'kern.kernelAbi', 'kern.kernelAbi: is required'],
    ['kernelAbi not a range', pkg(kern({ kernelAbi: 'abc' })), 'kern.kernelAbi', 'plugins/foo/package.json: kern.kernelAbi: "abc" is not a semver range'],
    ['provides not a list', pkg(kern({ provides: { kind: 'store' } })), 'kern.provides', 'kern.provides: must be a list'],
    ['provides entry not an object', pkg(kern({ provides: ['store'] })), 'kern.provides[0]', 'kern.provides[0]: must be an object'],
    ['provides without kind', pkg(kern({ provides: [{ name: 'x' }] })), 'kern.provides[0].kind', 'kern.provides[0].kind: is required'],
    ['provides without name', pkg(kern({ provides: [{ kind: 'store', name: '' }] })), 'kern.provides[0].name', 'kern.provides[0].name: is required'],
    ['provides twice', pkg(kern({ provides: [{ kind: 'store', name: 'x' }, { kind: 'store', name: 'x' }] })), 'kern.provides[1]', 'kern.provides[1]: store "x" is listed twice'],
    ['requires not an object', pkg(kern({ requires: ['bar'] })), 'kern.requires', 'kern.requires: must be an object'],
    ['requires a bad range', pkg(kern({ requires: { bar: 'newest' } })), 'kern.requires.bar', 'kern.requires.bar: "newest" is not a semver range'],
    ['requires a non-string range', pkg(kern({ requires: { bar: 1 } })), 'kern.requires.bar', 'kern.requires.bar: 1 is not a semver range'],
    ['requires a bad id', pkg(kern({ requires: { Bar: '^1.0.0' } })), 'kern.requires.Bar', 'kern.requires.Bar: "Bar" is not a plugin id'],
    ['requires itself', pkg(kern({ requires: { foo: '^1.0.0' } })), 'kern.requires.foo', 'kern.requires.foo: a plugin cannot require itself'],
    ['syscalls not a list', pkg(kern({ syscalls: 'state.*' })), 'kern.syscalls', 'kern.syscalls: must be a list'],
    ['bad syscall name', pkg(kern({ syscalls: ['state.get', 'rm -rf'] })), 'kern.syscalls[1]', 'kern.syscalls[1]: "rm -rf" is not a syscall name or pattern'],
    ['entry empty', pkg(kern({ entry: '' })), 'kern.entry', 'kern.entry: must be a non-empty path'],
    ['entry absolute', pkg(kern({ entry: '/etc/passwd' })), 'kern.entry', 'kern.entry: "/etc/passwd" must be a path inside the package'],
    ['entry escaping', pkg(kern({ entry: 'lib/../../x.js' })), 'kern.entry', 'kern.entry: "lib/../../x.js" must be a path inside the package'],
    ['command empty', pkg(kern({ command: [] })), 'kern.command', 'kern.command: must be a non-empty list'],
    ['command not strings', pkg(kern({ command: ['driver', 3] })), 'kern.command', 'kern.command: must be a non-empty list'],
    ['command without provides', pkg(kern({ command: ['node', 'main.js'] })), 'kern.provides', 'kern.provides: is required for an out-of-process driver (kern.command)'],
    ['command providing two drivers', pkg(kern({ command: ['./driver'], provides: [{ kind: 'runtime', name: 'a' }, { kind: 'volume', name: 'b' }] })),
      'kern.provides', 'kern.provides: an out-of-process driver (kern.command) provides exactly one driver'],
    ['command providing no driver kind', pkg(kern({ command: ['./driver'], provides: [{ kind: 'scheduler', name: 'a' }] })),
      'kern.provides', 'with kind one of store, runtime, network, volume, objectstore'],
    ['command program outside the package', pkg(kern({ command: ['../other/driver'], provides: [{ kind: 'runtime', name: 'a' }] })),
      'kern.command[0]', 'kern.command[0]: "../other/driver" must be a path inside the package'],
    ['config not an object', pkg(kern({ config: 'x' })), 'kern.config', 'kern.config: must be an object'],
    ['unknown field (typo)', pkg(kern({ require: { bar: '^1.0.0' } })), 'kern.require', 'kern.require: unknown field'],
  ])('%s', (_name, json, field, message) => {
    let err: KernelError | undefined;
    try {
      validateManifest(json, FILE);
    } catch (e) {
      err = e as KernelError;
    }
    expect(isInvalid(err)).toBe(true);
    expect(err!.field).toBe(field);
    expect(err!.code).toBe('KERN_ERR_PLUGIN_MANIFEST_INVALID');
    expect(err!.message).toContain(message);
    expect(err!.message.startsWith(`${FILE}: `)).toBe(true);
  });

  it('lists every bad field, one problem each', () => {
    const { manifest, problems } = checkManifest(pkg(kern({ id: 'X', kernelAbi: 'abc', syscalls: [1] }), { version: 'v' }));
    expect(manifest).toBeUndefined();
    expect(problems.map((p) => p.field)).toEqual(['version', 'kern.id', 'kern.kernelAbi', 'kern.syscalls[0]']);
    expect(() => validateManifest(pkg(kern({ id: 'X', kernelAbi: 'abc' })), FILE))
      .toThrow('plugins/foo/package.json: kern.id: "X" must be kebab-case (lower-case letters, digits and single dashes, starting with a letter); kern.kernelAbi: "abc" is not a semver range');
  });

  describe('reading from disk', () => {
    let dir: string;
    beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'kern-manifest-')); });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('NotFound without a package.json', () => {
      expect.assertions(2);
      try {
        readManifest(join(dir, 'missing'));
      } catch (e) {
        expect(isNotFound(e)).toBe(true);
        expect((e as Error).message).toContain('package.json: not found');
      }
    });

    it('Invalid for broken JSON, naming the file', () => {
      mkdirSync(join(dir, 'p'));
      writeFileSync(join(dir, 'p', 'package.json'), '{ "name": ');
      expect.assertions(2);
      try {
        readManifest(join(dir, 'p'));
      } catch (e) {
        expect(isInvalid(e)).toBe(true);
        expect((e as Error).message).toMatch(/p\/package\.json: is not valid JSON/);
      }
    });
  });

  it.each([
    ['^1.0.0', '1.0.0', true],
    ['>=1.0.0 <3', '2.5.0', true],
    ['^2.0.0', '1.0.0', false],
    ['~1.1.0', '1.0.0', false],
  ])('kernelAbi %s with kernel %s: compatible=%s', (range, kernel, ok) => {
    const m = validateManifest(pkg(kern({ kernelAbi: range })), FILE);
    expect(abiCompatible(m, kernel)).toBe(ok);
  });

  it('names both versions on an ABI mismatch', () => {
    const m = validateManifest(pkg(kern({ kernelAbi: '^2.0.0' })), FILE);
    const err = abiMismatch(m, '1.0.0');
    expect(err.kind).toBe('FailedPrecondition');
    expect(err.field).toBe('kern.kernelAbi');
    expect(err.message).toContain('needs kernel ABI ^2.0.0');
    expect(err.message).toContain('provides ABI 1.0.0');
  });
});
