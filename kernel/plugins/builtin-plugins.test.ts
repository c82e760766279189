import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILTIN_PLUGINS, builtinPluginDirs, findRepoRoot } from './builtin-plugins';
import { discoverPlugins } from './discovery';

describe('built-in plugins', () => {
  const root = join(__dirname, '../..');

  it.each([
    ['the sources (jest)', __dirname],
    ['the build (dist/kernel/plugins)', join(root, 'dist', 'kernel', 'plugins')],
    ['the root itself', root],
  ])('finds the repository root from %s', (_name, from) => {
    const found = findRepoRoot(from);
    expect(found).toBe(root);
    expect(JSON.parse(readFileSync(join(found, 'package.json'), 'utf8')).name).toBe('kern');
  });

  it('skips package.json files of other packages on the way up', () => {
    expect(findRepoRoot(join(root, 'plugins', 'store-sqlite', 'src'))).toBe(root);
  });

  it('says so when there is no kern root above', () => {
    expect(() => findRepoRoot(tmpdir())).toThrow('cannot find the kern installation root');
  });

  it('lists store-sqlite, and every built-in is a valid plugin package', () => {
    expect(BUILTIN_PLUGINS).toContain('plugins/store-sqlite');
    const dirs = builtinPluginDirs();
    expect(dirs).toContain(join(root, 'plugins', 'store-sqlite'));
    for (const dir of dirs) expect(existsSync(join(dir, 'package.json'))).toBe(true);
    const found = discoverPlugins(dirs.map((dir) => ({ dir, builtin: true })));
    expect(found.map((f) => f.error?.message)).toEqual(dirs.map(() => undefined));
    expect(found.map((f) => f.manifest?.id)).toContain('store-sqlite');
  });
});
