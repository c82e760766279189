/**
 * The layering rules of STYLE.md, checked by scanning the sources (no build,
 * no lint plugin): TypeScript's parser finds every import, re-export,
 * require(), import() and jest.mock() specifier and every decorator, so
 * comments and strings cannot fool it.
 *
 * - sdk/ imports nothing of the repo outside sdk/.
 * - plugins/<p>/ imports @kern/sdk (its public entry points) and its own
 *   files; never kernel/, registry/, sdk/ by path or another plugin.
 * - kernel/ never imports a plugin, except the built-in list.
 * - sdk/ and plugins/ use @injectable() and @inject() only: no @singleton,
 *   @registry, @autoInjectable, @injectable({ token }) or tsyringe's global
 *   `container`, which all reach the global container.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import * as ts from 'typescript';

const ROOT = join(__dirname, '../..');
const BUILTIN_LIST = 'kernel/plugins/builtin-plugins.ts';
const SCANNED = ['sdk', 'plugins', 'kernel'];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'coverage']);
// Public entry points of @kern/sdk (its package.json `exports`).
const SDK_ENTRY = /^@kern\/sdk(\/testing|\/proto\/.+)?$/;
const BANNED_DECORATORS = ['singleton', 'registry', 'autoInjectable'];

interface Violation {
  file: string;
  line: number;
  message: string;
}

type Area = { kind: 'sdk' } | { kind: 'plugin'; name: string } | { kind: 'kernel' } | { kind: 'other' };

function areaOf(file: string): Area {
  const [top, second] = file.split('/');
  if (top === 'sdk') return { kind: 'sdk' };
  if (top === 'plugins' && second) return { kind: 'plugin', name: second };
  if (top === 'kernel') return { kind: 'kernel' };
  return { kind: 'other' };
}

/** Package names of the plugins in this repo, by folder: `@kern/plugin-store-sqlite` → `store-sqlite`. */
function pluginPackages(root: string): Map<string, string> {
  const names = new Map<string, string>();
  const dir = join(root, 'plugins');
  for (const name of safeReaddir(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, name, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name) names.set(pkg.name, name);
    } catch {
      // not a package
    }
  }
  return names;
}

interface Found {
  spec: string;
  pos: number;
}

/** Every module specifier a file names, and where. */
function specifiersOf(sf: ts.SourceFile): Found[] {
  const out: Found[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push({ spec: node.moduleSpecifier.text, pos: node.getStart(sf) });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)
        && ts.isStringLiteral(node.moduleReference.expression)) {
      out.push({ spec: node.moduleReference.expression.text, pos: node.getStart(sf) });
    } else if (ts.isCallExpression(node) && node.arguments.length > 0 && ts.isStringLiteralLike(node.arguments[0])) {
      const callee = node.expression.getText(sf);
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword
          || ['require', 'require.resolve', 'jest.mock', 'jest.requireActual', 'jest.doMock'].includes(callee)) {
        out.push({ spec: (node.arguments[0] as ts.StringLiteral).text, pos: node.getStart(sf) });
      }
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push({ spec: node.argument.literal.text, pos: node.getStart(sf) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Uses of the global container and of decorators that register in it. */
function diViolations(sf: ts.SourceFile): { pos: number; message: string }[] {
  const out: { pos: number; message: string }[] = [];
  const tsyringeNamespaces = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && node.moduleSpecifier.text === 'tsyringe') {
      const clause = node.importClause;
      if (clause && !clause.isTypeOnly) {
        if (clause.name) tsyringeNamespaces.add(clause.name.text);
        const bindings = clause.namedBindings;
        if (bindings && ts.isNamespaceImport(bindings)) tsyringeNamespaces.add(bindings.name.text);
        if (bindings && ts.isNamedImports(bindings)) {
          for (const el of bindings.elements) {
            if ((el.propertyName ?? el.name).text === 'container' && !el.isTypeOnly) {
              out.push({ pos: el.getStart(sf), message: 'imports the global tsyringe `container`; use the container the kernel gives the plugin (ctx.container)' });
            }
          }
        }
      }
    }
    if (ts.isPropertyAccessExpression(node) && node.name.text === 'container') {
      const target = node.expression;
      const isNamespace = ts.isIdentifier(target) && tsyringeNamespaces.has(target.text);
      const isRequire = ts.isCallExpression(target) && target.expression.getText(sf) === 'require'
        && target.arguments.length > 0 && ts.isStringLiteralLike(target.arguments[0]) && target.arguments[0].text === 'tsyringe';
      if (isNamespace || isRequire) {
        out.push({ pos: node.getStart(sf), message: 'uses the global tsyringe `container`; use the container the kernel gives the plugin (ctx.container)' });
      }
    }
    if (ts.isBindingElement(node) && ts.isObjectBindingPattern(node.parent) && ts.isVariableDeclaration(node.parent.parent)) {
      const init = node.parent.parent.initializer;
      const fromTsyringe = init && ts.isCallExpression(init) && init.expression.getText(sf) === 'require'
        && init.arguments.length > 0 && ts.isStringLiteralLike(init.arguments[0]) && init.arguments[0].text === 'tsyringe';
      if (fromTsyringe && ((node.propertyName ?? node.name) as ts.Identifier).text === 'container') {
        out.push({ pos: node.getStart(sf), message: 'takes the global tsyringe `container` from require(); use ctx.container' });
      }
    }
    if (ts.isDecorator(node)) {
      const expr = node.expression;
      const callee = ts.isCallExpression(expr) ? expr.expression : expr;
      const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : '';
      if (BANNED_DECORATORS.includes(name)) {
        out.push({ pos: node.getStart(sf), message: `uses @${name}, which registers in the global container; use @injectable() and register in the plugin's container` });
      }
      if (name === 'injectable' && ts.isCallExpression(expr) && expr.arguments.some((a) => ts.isObjectLiteralExpression(a)
          && a.properties.some((p) => p.name !== undefined && ts.isIdentifier(p.name) && p.name.text === 'token'))) {
        out.push({ pos: node.getStart(sf), message: 'uses @injectable({ token }), which registers in the global container; register the token in the plugin\'s container' });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The rules for one file. `file` is repo-relative with forward slashes. */
function checkSource(file: string, source: string, plugins: Map<string, string>): Violation[] {
  const area = areaOf(file);
  if (area.kind === 'other') return [];
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const violations: Violation[] = [];
  const add = (pos: number, message: string) =>
    violations.push({ file, line: sf.getLineAndCharacterOfPosition(pos).line + 1, message });

  for (const { spec, pos } of specifiersOf(sf)) {
    if (spec.startsWith('.')) {
      const target = posix.normalize(posix.join(posix.dirname(file), spec));
      const [top, second] = target.split('/');
      if (area.kind === 'sdk' && top !== 'sdk') {
        add(pos, `sdk imports "${spec}" (${target}): the sdk imports nothing of the repo outside sdk/`);
      } else if (area.kind === 'plugin' && !(top === 'plugins' && second === area.name)) {
        const what = top === 'kernel' ? 'the kernel' : top === 'registry' ? 'the registry' : top === 'plugins' ? `plugin ${second}`
          : top === 'sdk' ? 'the sdk by path (import @kern/sdk)' : target;
        add(pos, `plugin ${area.name} imports ${what} via "${spec}": plugins import @kern/sdk and their own files only`);
      } else if (area.kind === 'kernel' && top === 'plugins' && file !== BUILTIN_LIST) {
        add(pos, `kernel imports plugin ${second ?? ''} via "${spec}": only ${BUILTIN_LIST} may name plugins`);
      }
      continue;
    }
    const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
    const plugin = plugins.get(pkg) ?? (pkg.startsWith('@kern/plugin-') ? pkg.slice('@kern/plugin-'.length) : undefined);
    if (plugin !== undefined) {
      if (area.kind === 'sdk') add(pos, `sdk imports plugin package "${spec}": the sdk imports nothing of the repo`);
      if (area.kind === 'plugin' && plugin !== area.name) add(pos, `plugin ${area.name} imports plugin package "${spec}": plugins talk through sdk tokens, extension points or syscalls`);
      if (area.kind === 'kernel' && file !== BUILTIN_LIST) add(pos, `kernel imports plugin package "${spec}": only ${BUILTIN_LIST} may name plugins`);
    } else if (pkg === 'kern') {
      if (area.kind !== 'kernel') add(pos, `${area.kind} imports the kern package "${spec}"`);
    } else if (pkg === '@kern/sdk' && area.kind === 'plugin' && !SDK_ENTRY.test(spec)) {
      add(pos, `plugin ${area.name} imports "${spec}": use the sdk's public entry points (@kern/sdk, @kern/sdk/testing)`);
    }
  }

  if (area.kind === 'sdk' || area.kind === 'plugin') {
    for (const v of diViolations(sf)) add(v.pos, v.message);
  }
  return violations;
}

function* tsFiles(dir: string): Generator<string> {
  for (const name of safeReaddir(dir)) {
    if (name.startsWith('.') || SKIPPED_DIRS.has(name)) continue;
    const full = join(dir, name);
    let st;
    try {
      st = statSync(full);
    } catch {
      continue;
    }
    if (st.isDirectory()) yield* tsFiles(full);
    else if (name.endsWith('.ts')) yield full;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function scanRepo(root: string): Violation[] {
  const plugins = pluginPackages(root);
  const out: Violation[] = [];
  for (const top of SCANNED) {
    for (const full of tsFiles(join(root, top))) {
      const file = relative(root, full).split(sep).join('/');
      let source: string;
      try {
        source = readFileSync(full, 'utf8');
      } catch {
        continue; // removed while we scanned
      }
      out.push(...checkSource(file, source, plugins));
    }
  }
  return out;
}

describe('import boundaries', () => {
  const plugins = new Map([['@kern/plugin-store-sqlite', 'store-sqlite'], ['@acme/kern-volume-x', 'volume-x']]);
  const check = (file: string, source: string) => checkSource(file, source, plugins).map((v) => `${v.line}: ${v.message}`);

  it.each<[string, string, string, string | undefined]>([
    // sdk
    ['sdk may import itself', 'sdk/src/a.ts', "import { x } from './b';\nimport '../proto/y';", undefined],
    ['sdk may import npm packages', 'sdk/src/a.ts', "import type { DependencyContainer } from 'tsyringe';", undefined],
    ['sdk must not import the kernel', 'sdk/src/a.ts', "import { K } from '../../kernel/kernel';", 'the sdk imports nothing of the repo outside sdk/'],
    ['sdk must not import a plugin by path', 'sdk/src/testing/a.ts', "export * from '../../../plugins/store-sqlite/src/x';", 'outside sdk/'],
    ['sdk must not import test helpers', 'sdk/src/a.ts', "const h = require('../../test/helpers/h');", 'outside sdk/'],
    ['sdk must not import a plugin package', 'sdk/src/a.ts', "import x from '@kern/plugin-store-sqlite';", 'sdk imports plugin package'],
    // plugins
    ['a plugin may import the sdk and itself', 'plugins/store-sqlite/src/a.ts', "import { errors } from '@kern/sdk';\nimport { b } from './b';\nimport { t } from '@kern/sdk/testing';", undefined],
    ['a plugin test may import its own sources', 'plugins/store-sqlite/src/a.test.ts', "import { SqliteStore } from '../src/sqlite-store';", undefined],
    ['a plugin must not import the kernel', 'plugins/store-sqlite/src/a.ts', "import { SyscallTable } from '../../../kernel/syscalls/syscall-table';", 'imports the kernel'],
    ['a plugin must not import the registry', 'plugins/store-sqlite/src/a.ts', "import('../../../registry/client');", 'imports the registry'],
    ['a plugin must not import another plugin by path', 'plugins/net-bridge/src/a.ts', "export { X } from '../../store-sqlite/src/x';", 'imports plugin store-sqlite'],
    ['a plugin must not import another plugin package', 'plugins/net-bridge/src/a.ts', "import x = require('@kern/plugin-store-sqlite');", 'imports plugin package'],
    ['a plugin must not import the sdk by path', 'plugins/net-bridge/src/a.ts', "import { errors } from '../../../sdk/src/errors';", 'the sdk by path'],
    ['a plugin must not deep-import the sdk', 'plugins/net-bridge/src/a.ts', "import { errors } from '@kern/sdk/src/errors';", 'public entry points'],
    ['a plugin must not mock the kernel in', 'plugins/net-bridge/src/a.test.ts', "jest.mock('../../../kernel/kernel');", 'imports the kernel'],
    ['comments and strings do not count', 'plugins/net-bridge/src/a.ts', "// import { K } from '../../../kernel/kernel';\nconst s = \"from '../../../kernel/kernel'\"; /* @singleton() */", undefined],
    // kernel
    ['the kernel may import the sdk and itself', 'kernel/boot.ts', "import { errors } from '@kern/sdk';\nimport { builtinPluginDirs } from './plugins/builtin-plugins';", undefined],
    ['the kernel must not import a plugin by path', 'kernel/boot.ts', "import { SqliteStore } from '../plugins/store-sqlite/src/sqlite-store';", 'kernel imports plugin store-sqlite'],
    ['the kernel must not import a plugin package', 'kernel/state/x.ts', "const p = require('@acme/kern-volume-x');", 'kernel imports plugin package'],
    ['the built-in list may name plugins', BUILTIN_LIST, "import '../../plugins/store-sqlite/src/index';", undefined],
    // dependency injection
    ['@singleton is banned', 'plugins/x/src/a.ts', "import { singleton } from 'tsyringe';\n@singleton()\nclass A {}", 'uses @singleton'],
    ['@registry is banned', 'sdk/src/a.ts', "import { registry } from 'tsyringe';\n@registry([])\nclass A {}", 'uses @registry'],
    ['@autoInjectable is banned', 'plugins/x/src/a.ts', "import { autoInjectable } from 'tsyringe';\n@autoInjectable()\nclass A {}", 'uses @autoInjectable'],
    ['@injectable({ token }) is banned', 'plugins/x/src/a.ts', "import { injectable } from 'tsyringe';\n@injectable({ token: 'x' })\nclass A {}", 'uses @injectable({ token })'],
    ['@injectable() and @inject() are fine', 'plugins/x/src/a.ts', "import { inject, injectable } from 'tsyringe';\n@injectable()\nclass A { constructor(@inject(T) t: unknown) {} }", undefined],
    ['the global container is banned', 'plugins/x/src/a.ts', "import { container, injectable } from 'tsyringe';", 'imports the global tsyringe `container`'],
    ['the global container is banned under another name', 'sdk/src/a.ts', "import { container as c } from 'tsyringe';", 'imports the global tsyringe `container`'],
    ['the global container through a namespace', 'plugins/x/src/a.ts', "import * as tsyringe from 'tsyringe';\ntsyringe.container.resolve(X);", 'uses the global tsyringe `container`'],
    ['the global container through require', 'plugins/x/src/a.ts', "const { container } = require('tsyringe');", 'takes the global tsyringe `container`'],
    ['DependencyContainer is a type, not the container', 'sdk/src/a.ts', "import type { DependencyContainer } from 'tsyringe';\nexport const f = (c: DependencyContainer) => c.container;", undefined],
    ['the kernel may use the global container to make its root', 'kernel/kernel.ts', "import { container } from 'tsyringe';\n@singleton()\nclass K {}", undefined],
  ])('%s', (_name, file, source, expected) => {
    const found = check(file, source);
    if (expected === undefined) expect(found).toEqual([]);
    else {
      expect(found).toHaveLength(1);
      expect(found[0]).toContain(expected);
    }
  });

  it('reports the line', () => {
    expect(check('sdk/src/a.ts', "import { a } from './a';\n\nimport { k } from '../../kernel/k';")[0]).toMatch(/^3: /);
  });

  it('the repository keeps its boundaries', () => {
    const violations = scanRepo(ROOT).map((v) => `${v.file}:${v.line}: ${v.message}`);
    expect(violations).toEqual([]);
  });

  it('scans the real tree', () => {
    const files = SCANNED.flatMap((top) => [...tsFiles(join(ROOT, top))]);
    expect(files.some((f) => f.endsWith(join('sdk', 'src', 'plugin.ts')))).toBe(true);
    expect(files.some((f) => f.includes(`${sep}node_modules${sep}`) || f.includes(`${sep}dist${sep}`))).toBe(false);
    expect(dirname(BUILTIN_LIST)).toBe('kernel/plugins');
  });
});
