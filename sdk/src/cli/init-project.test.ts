import { mkdtempSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ts from 'typescript';
import { isKernelError } from '../errors';
import { DRIVER_KINDS, DriverKind } from '../plugin';
import { DRIVER_KIND_TEMPLATES } from './driver-kinds';
import { initProject } from './init-project';
import { runCli } from './main';

const SDK_SRC = resolve(__dirname, '..');
const REPO_TYPES = resolve(__dirname, '../../../node_modules/@types');

async function failureOf(p: Promise<unknown>): Promise<{ kind: string; field?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return isKernelError(e) ? { kind: e.kind, field: e.field, message: e.message } : { kind: `not a KernelError: ${String(e)}`, message: '' };
  }
  return { kind: 'no error', message: '' };
}

/**
 * Type-checks the generated projects together, with their own tsconfig and
 * `@kern/sdk` mapped to this checkout's sources (as a project would see the
 * published package), and returns the diagnostics as text.
 */
function typeCheck(dirs: string[], files: string[]): string[] {
  const config = ts.readConfigFile(join(dirs[0], 'tsconfig.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, dirs[0]);
  const program = ts.createProgram(files, {
    ...parsed.options,
    noEmit: true,
    rootDir: undefined,
    typeRoots: [REPO_TYPES],
    baseUrl: dirs[0],
    paths: { '@kern/sdk': [join(SDK_SRC, 'index.ts')], '@kern/sdk/testing': [join(SDK_SRC, 'testing', 'index.ts')] },
  });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

describe('kern-sdk init', () => {
  const root = mkdtempSync(join(tmpdir(), 'kern-sdk-init-'));

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  describe.each(DRIVER_KINDS.map((k) => [k]))('a %s driver project', (kind: DriverKind) => {
    const dir = join(root, kind);
    let files: string[];

    beforeAll(async () => {
      files = (await initProject({ kind, name: 'demo-one', dir, sdkVersion: '1.2.3' })).files;
    });

    it('has the package files, the entries and a test', () => {
      const expected = ['.gitignore', 'README.md', 'package.json', 'tsconfig.json', 'src/driver.ts', 'src/index.ts', 'src/main.ts', 'src/driver.test.ts'];
      if (DRIVER_KIND_TEMPLATES[kind].suite) expected.push('src/conformance-target.ts');
      expect(files).toEqual(expected.sort());
    });

    it('has a package.json with the kern manifest, the sdk dependency and the scripts', async () => {
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
      expect(pkg).toMatchObject({
        name: `kern-plugin-${kind}-demo-one`,
        main: 'dist/index.js',
        kern: { id: `${kind}-demo-one`, kernelAbi: '^1.0.0', provides: [{ kind, name: 'demo-one' }], command: ['node', 'dist/main.js'] },
        dependencies: { '@kern/sdk': '^1.2.3' },
        scripts: { build: 'tsc -p tsconfig.json', test: 'jest', pack: 'npm run build && kern plugin pack .' },
        jest: { preset: 'ts-jest' },
      });
      expect(Object.keys(pkg.devDependencies)).toEqual(expect.arrayContaining(['jest', 'ts-jest', '@types/jest', 'typescript']));
      expect(pkg.scripts.conformance !== undefined).toBe(DRIVER_KIND_TEMPLATES[kind].suite !== undefined);
    });

    it('stubs every method of the interface to throw NotImplemented', async () => {
      const source = await readFile(join(dir, 'src', 'driver.ts'), 'utf8');
      const template = DRIVER_KIND_TEMPLATES[kind];
      expect(source).toContain(`implements ${template.interfaceName}`);
      for (const method of template.methods) expect(source).toContain(`throw notImplemented('${method.name}');`);
      expect(source).toContain("new KernelError('NotImplemented'");
    });

    it('registers the driver in the plugin entry and serves it in the out-of-process one', async () => {
      expect(await readFile(join(dir, 'src', 'index.ts'), 'utf8')).toContain(`ctx.drivers.register('${kind}', 'demo-one', driver)`);
      expect(await readFile(join(dir, 'src', 'main.ts'), 'utf8')).toContain(`serveDriver({ kind: '${kind}', name: 'demo-one', version, driver })`);
    });
  });

  it('the generated projects type-check against the sdk, tests included', async () => {
    const dirs: string[] = [];
    const files: string[] = [];
    for (const kind of DRIVER_KINDS) {
      const created = await initProject({ kind, name: 'checked', dir: join(root, 'type-check', kind), sdkVersion: '1.0.0' });
      dirs.push(created.dir);
      files.push(...created.files.filter((f) => f.endsWith('.ts')).map((f) => join(created.dir, f)));
    }
    expect(files).toHaveLength(4 * DRIVER_KINDS.length + DRIVER_KINDS.filter((k) => DRIVER_KIND_TEMPLATES[k].suite).length);
    expect(typeCheck(dirs, files)).toEqual([]);
  }, 60_000);

  it('names the class after the driver without repeating the kind', async () => {
    const dir = join(root, 'named');
    await initProject({ kind: 'runtime', name: 'my-runtime', dir, sdkVersion: '1.0.0' });
    expect(await readFile(join(dir, 'src', 'driver.ts'), 'utf8')).toContain('export class MyRuntimeDriver implements RuntimeDriver');
  });

  it('writes the --sdk spec as given', async () => {
    const dir = join(root, 'local-sdk');
    await initProject({ kind: 'store', name: 'x', dir, sdkVersion: '1.0.0', sdkSpec: 'file:../kern/sdk' });
    expect(JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')).dependencies['@kern/sdk']).toBe('file:../kern/sdk');
  });

  it('refuses a directory that is not empty and writes nothing', async () => {
    const dir = join(root, 'occupied');
    await mkdir(dir);
    await writeFile(join(dir, 'keep.txt'), 'mine');
    expect(await failureOf(initProject({ kind: 'runtime', name: 'x', dir, sdkVersion: '1.0.0' }))).toMatchObject({ kind: 'AlreadyExists', field: 'dir' });
    expect(await failureOf(readFile(join(dir, 'package.json')))).toMatchObject({ kind: expect.stringContaining('ENOENT') });
  });

  it.each([
    [{ kind: 'scheduler', name: 'x' }, 'KIND'],
    [{ kind: 'runtime', name: 'Bad_Name' }, 'NAME'],
  ])('refuses %j with Invalid naming %s', async (args, field) => {
    expect(await failureOf(initProject({ ...args, dir: join(root, 'never'), sdkVersion: '1.0.0' }))).toMatchObject({ kind: 'Invalid', field });
  });

  it('through the command line: 0 and the files, or 1 and the reason on stderr', async () => {
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const dir = join(root, 'cli');
      expect(await runCli(['node', 'kern-sdk', 'init', '--kind', 'volume', 'disk', '--dir', dir])).toBe(0);
      expect(String(out.mock.calls[0][0])).toContain(`created a volume driver project in ${dir}`);
      expect(await runCli(['node', 'kern-sdk', 'init', '--kind', 'volume', 'disk', '--dir', dir])).toBe(1);
      expect(String(err.mock.calls.at(-1)?.[0])).toMatch(/^kern-sdk: .* is not empty/);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });
});
