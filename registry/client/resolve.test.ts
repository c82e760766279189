import { isErrorKind } from '@kern/sdk';
import { parsePluginRequest } from './plugin-request';
import { CandidateVersion, PresentPlugin, ResolveInput, resolvePlugins } from './resolve';

/** `v('1.2.0', {b: '^1'})`, or with `{abi, yanked}` in a third argument. */
function v(version: string, requires: Record<string, string> = {}, o: { abi?: string; yanked?: string } = {}): CandidateVersion {
  return { version, requires, kernelAbi: o.abi ?? '^1.0.0', yanked: o.yanked !== undefined, ...(o.yanked ? { yankReason: o.yanked } : {}) };
}

type Catalog = Record<string, CandidateVersion[]>;

function input(catalog: Catalog, requests: string[], more: Partial<ResolveInput<CandidateVersion>> = {}): ResolveInput<CandidateVersion> {
  return {
    requests: requests.map(parsePluginRequest),
    kernelAbi: '1.0.0',
    present: [],
    versionsOf: async (id) => catalog[id],
    ...more,
  };
}

const installed = (id: string, version: string, requires: Record<string, string> = {}): PresentPlugin => ({ id, version, requires, source: 'installed' });
const builtin = (id: string, version: string): PresentPlugin => ({ id, version, requires: {}, source: 'builtin' });

async function plan(catalog: Catalog, requests: string[], more: Partial<ResolveInput<CandidateVersion>> = {}): Promise<string[]> {
  const r = await resolvePlugins(input(catalog, requests, more));
  return r.install.map((p) => `${p.id}@${p.version.version}${p.previous ? ` (was ${p.previous})` : ''}`);
}

async function failure(catalog: Catalog, requests: string[], more: Partial<ResolveInput<CandidateVersion>> = {}): Promise<Error & { kind?: string; field?: string }> {
  try {
    await resolvePlugins(input(catalog, requests, more));
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the resolver to fail');
}

describe('resolvePlugins', () => {
  it.each<[string, Catalog, string[], string[]]>([
    ['the highest version', { a: [v('1.0.0'), v('1.2.0'), v('2.0.0')] }, ['a'], ['a@2.0.0']],
    ['the highest in the range', { a: [v('1.0.0'), v('1.2.0'), v('2.0.0')] }, ['a@^1.0.0'], ['a@1.2.0']],
    ['an exact version', { a: [v('1.0.0'), v('1.2.0')] }, ['a@1.0.0'], ['a@1.0.0']],
    ['no yanked version', { a: [v('1.0.0'), v('1.1.0', {}, { yanked: 'broken' })] }, ['a'], ['a@1.0.0']],
    ['no pre-release unless asked', { a: [v('1.0.0'), v('1.1.0-beta.1')] }, ['a'], ['a@1.0.0']],
    ['a pre-release when asked', { a: [v('1.0.0'), v('1.1.0-beta.1')] }, ['a@1.1.0-beta.1'], ['a@1.1.0-beta.1']],
    ['only versions built for this ABI', { a: [v('1.0.0'), v('2.0.0', {}, { abi: '^2.0.0' })] }, ['a'], ['a@1.0.0']],
    ['dependencies first, recursively', {
      a: [v('1.0.0', { b: '^1.0.0' })], b: [v('1.0.0', { c: '~1.1.0' }), v('1.5.0', { c: '~1.1.0' })], c: [v('1.1.3'), v('1.2.0')],
    }, ['a'], ['c@1.1.3', 'b@1.5.0', 'a@1.0.0']],
    ['a shared dependency once, fitting both', {
      a: [v('1.0.0', { c: '>=1.0.0' })], b: [v('1.0.0', { c: '<1.5.0' })], c: [v('1.0.0'), v('1.4.0'), v('1.9.0')],
    }, ['a', 'b'], ['c@1.4.0', 'a@1.0.0', 'b@1.0.0']],
  ])('chooses %s', async (_what, catalog, requests, expected) => {
    expect(await plan(catalog, requests)).toEqual(expected);
  });

  it('backtracks to a lower version when the highest leads to a conflict', async () => {
    const catalog = {
      a: [v('1.0.0', { b: '^1.0.0' }), v('2.0.0', { b: '^2.0.0' })],
      b: [v('1.0.0'), v('2.0.0', {}, { abi: '^2.0.0' })],
    };
    expect(await plan(catalog, ['a'])).toEqual(['b@1.0.0', 'a@1.0.0']);
  });

  it('does not fetch a dependency a built-in or installed plugin already satisfies', async () => {
    const asked: string[] = [];
    const catalog: Catalog = { a: [v('1.0.0', { 'store-sqlite': '^0.1.0', b: '^1.0.0' })], b: [v('1.9.0')], 'store-sqlite': [v('0.2.0')] };
    const r = await resolvePlugins({
      ...input(catalog, ['a']),
      present: [builtin('store-sqlite', '0.1.0'), installed('b', '1.0.0')],
      versionsOf: async (id) => { asked.push(id); return catalog[id]; },
    });
    expect(r.install.map((p) => p.id)).toEqual(['a']);
    expect(asked).toEqual(['a']);
  });

  it('reports a request a present plugin already satisfies, and fetches nothing for it', async () => {
    const r = await resolvePlugins({ ...input({}, ['b@^1.0.0', 'store-sqlite']), present: [installed('b', '1.2.0'), builtin('store-sqlite', '0.1.0')] });
    expect(r.install).toEqual([]);
    expect(r.satisfied).toEqual([
      { id: 'b', range: '^1.0.0', version: '1.2.0', source: 'installed' },
      { id: 'store-sqlite', range: '*', version: '0.1.0', source: 'builtin' },
    ]);
  });

  it('replaces an installed dependency that no longer fits, within what its other dependents allow', async () => {
    const catalog = { a: [v('2.0.0', { b: '^2.0.0' })], b: [v('2.0.0'), v('2.5.0'), v('3.0.0')] };
    const present = [installed('b', '1.0.0'), installed('d', '1.0.0', { b: '>=1.0.0 <2.4.0' })];
    expect(await plan(catalog, ['a'], { present })).toEqual(['b@2.0.0 (was 1.0.0)', 'a@2.0.0']);
  });

  it('upgrades the refreshed plugins to the newest version their dependents allow, and skips the up-to-date ones', async () => {
    const catalog = { a: [v('1.0.0'), v('1.3.0'), v('2.0.0')], b: [v('1.0.0', { a: '^1.0.0' })] };
    const present = [installed('a', '1.0.0'), installed('b', '1.0.0', { a: '^1.0.0' })];
    const all = await resolvePlugins({ ...input(catalog, ['a', 'b']), present, refresh: ['a', 'b'] });
    expect(all.install.map((p) => [p.id, p.version.version, p.previous])).toEqual([['a', '1.3.0', '1.0.0']]);
    expect(all.satisfied.map((s) => s.id)).toEqual(['b']);
    const one = await resolvePlugins({ ...input(catalog, ['a']), present, refresh: ['a'] });
    expect(one.install.map((p) => [p.id, p.version.version])).toEqual([['a', '1.3.0']]);
  });

  it('uses pinned versions exactly, even yanked ones', async () => {
    const catalog = { a: [v('1.0.0', { b: '^1.0.0' }), v('1.1.0', { b: '^1.0.0' })], b: [v('1.0.0', {}, { yanked: 'cve' }), v('1.2.0')] };
    expect(await plan(catalog, ['a@1.0.0', 'b@1.0.0'], { pinned: { a: '1.0.0', b: '1.0.0' } })).toEqual(['b@1.0.0', 'a@1.0.0']);
  });

  describe('conflicts', () => {
    it('names both chains that ask for incompatible ranges', async () => {
      const catalog = {
        a: [v('1.0.0', { b: '^2.0.0' })], b: [v('2.0.0', { c: '^1.0.0' }), v('2.1.0', { c: '^1.0.0' })],
        c: [v('1.0.0'), v('2.0.0')], d: [v('1.2.0', { c: '^2.0.0' })],
      };
      const present = [installed('d', '1.2.0', { c: '^2.0.0' }), installed('c', '2.0.0')];
      const err = await failure(catalog, ['a'], { present });
      expect(err.message).toBe('cannot install a@1.0.0: a@1.0.0 → b ^2.0.0 → c ^1.0.0, but d@1.2.0 → c ^2.0.0');
      expect(err.kind).toBe('FailedPrecondition');

      const both = await failure(catalog, ['d', 'a']);
      expect(both.message).toBe('cannot install a@1.0.0: a@1.0.0 → b ^2.0.0 → c ^1.0.0, but d@1.2.0 → c ^2.0.0');
    });

    it('names both versions on an ABI mismatch', async () => {
      const err = await failure({ a: [v('2.0.0', {}, { abi: '^2.0.0' })] }, ['a']);
      expect(err.message).toBe('cannot install a@*: a 2.0.0 needs kernel ABI ^2.0.0 but this kernel provides ABI 1.0.0 (a@* (requested)); no version of a matching * is built for ABI 1.0.0');
    });

    it('names the chain to a dependency built for another ABI', async () => {
      const err = await failure({ a: [v('1.0.0', { b: '^1.0.0' })], b: [v('1.0.0', {}, { abi: '^2.0.0' })] }, ['a']);
      expect(err.message).toMatch(/^cannot install a@1\.0\.0: b 1\.0\.0 needs kernel ABI \^2\.0\.0 but this kernel provides ABI 1\.0\.0 \(a@1\.0\.0 → b \^1\.0\.0\)/);
    });

    it.each<[string, Catalog, string[], RegExp]>([
      ['no version in range', { a: [v('1.0.0'), v('1.1.0')] }, ['a@^3.0.0'], /no version of a matches \^3\.0\.0 \(a@\^3\.0\.0 \(requested\)\); the registry has 1\.0\.0, 1\.1\.0/],
      ['only yanked versions', { a: [v('1.0.0', {}, { yanked: 'leaks tokens' })] }, ['a@1.0.0'], /every version of a matching 1\.0\.0 is yanked: 1\.0\.0 \(leaks tokens\)/],
      ['a missing dependency', { a: [v('1.0.0', { ghost: '^1.0.0' })] }, ['a'], /plugin ghost not found in the registry \(a@1\.0\.0 → ghost \^1\.0\.0\)/],
    ])('explains %s', async (_what, catalog, requests, message) => {
      expect((await failure(catalog, requests)).message).toMatch(message);
    });

    it('throws NotFound for a requested plugin the registry does not have', async () => {
      const err = await failure({}, ['nope']);
      expect(isErrorKind(err, 'NotFound')).toBe(true);
      expect(err.message).toMatch(/plugin nope not found in the registry/);
    });

    it('does not replace a built-in', async () => {
      const err = await failure({ a: [v('1.0.0', { 'store-sqlite': '^2.0.0' })], 'store-sqlite': [v('2.0.0')] }, ['a'], { present: [builtin('store-sqlite', '0.1.0')] });
      expect(err.message).toBe('cannot install a@1.0.0: a@1.0.0 → store-sqlite ^2.0.0, but store-sqlite is the built-in plugin store-sqlite 0.1.0, which kern plugin install does not replace');
    });

    it('refuses a dependency cycle', async () => {
      const err = await failure({ a: [v('1.0.0', { b: '^1.0.0' })], b: [v('1.0.0', { a: '^1.0.0' })] }, ['a']);
      expect(err.message).toMatch(/dependency cycle: (a@1\.0\.0 → b@1\.0\.0 → a@1\.0\.0|b@1\.0\.0 → a@1\.0\.0 → b@1\.0\.0)/);
    });

    it('refuses a plugin id from the registry that is not an id', async () => {
      const err = await failure({ a: [v('1.0.0', { '../../etc': '*' })] }, ['a']);
      expect(err.message).toMatch(/"\.\.\/\.\.\/etc" is not a plugin id/);
    });
  });
});

describe('parsePluginRequest', () => {
  it.each([
    ['web', { id: 'web', range: '*' }],
    ['web@1.2.3', { id: 'web', range: '1.2.3' }],
    ['web@^1.2', { id: 'web', range: '^1.2' }],
  ])('parses %s', (arg, expected) => {
    expect(parsePluginRequest(arg)).toEqual(expected);
  });

  it.each([
    ['Web', /"Web" is not a plugin id/],
    ['../x', /is not a plugin id/],
    ['web@', /"" is not a semver range/],
    ['web@banana', /"banana" is not a semver range/],
  ])('refuses %s naming it', (arg, message) => {
    expect(() => parsePluginRequest(arg)).toThrow(message);
  });
});
