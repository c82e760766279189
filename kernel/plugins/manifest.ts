import { readFileSync } from 'node:fs';
import { isAbsolute, join, normalize, relative, sep } from 'node:path';
import * as semver from 'semver';
import { DRIVER_KINDS, KernelError, PluginManifest } from '@kern/sdk';

/** One thing wrong with a manifest, named by its field path (`kern.requires.foo`). */
export interface ManifestProblem {
  field: string;
  message: string;
}

export const PLUGIN_ID_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
// `*`, `state.*` or `state.get`: the shapes syscallAllowed() understands.
const SYSCALL_PATTERN = /^(\*|[a-z]+\.(\*|[A-Za-z]+))$/;
const KERN_FIELDS = ['id', 'kernelAbi', 'provides', 'requires', 'syscalls', 'entry', 'command', 'config'];

/** Stable code of every manifest error (their kind is Invalid). */
export const MANIFEST_INVALID = 'KERN_ERR_PLUGIN_MANIFEST_INVALID';

/**
 * Reads `<dir>/package.json` and validates it as a plugin manifest. Throws
 * NotFound when there is no package.json and Invalid (naming the file and
 * every bad field) when it is not a valid plugin manifest.
 */
export function readManifest(dir: string): PluginManifest {
  const file = join(dir, 'package.json');
  const pkg = readPackageJson(file);
  return validateManifest(pkg, file);
}

/** Parses a package.json; NotFound when missing, Invalid when not a JSON object. */
export function readPackageJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new KernelError('NotFound', `${displayPath(file)}: not found; a plugin is a package directory with a package.json that has a "kern" section`, { field: 'package.json', cause: e });
    }
    throw new KernelError('Invalid', `${displayPath(file)}: cannot be read: ${(e as Error).message}`, { field: 'package.json', code: MANIFEST_INVALID, cause: e });
  }
  let pkg: unknown;
  try {
    pkg = JSON.parse(text);
  } catch (e) {
    throw new KernelError('Invalid', `${displayPath(file)}: is not valid JSON: ${(e as Error).message}`, { field: 'package.json', code: MANIFEST_INVALID, cause: e });
  }
  if (!isObject(pkg)) {
    throw new KernelError('Invalid', `${displayPath(file)}: must hold a JSON object`, { field: 'package.json', code: MANIFEST_INVALID });
  }
  return pkg;
}

/** Validates a parsed package.json; throws one Invalid error listing every problem. */
export function validateManifest(pkg: unknown, file: string): PluginManifest {
  const { manifest, problems } = checkManifest(pkg);
  if (problems.length > 0 || !manifest) {
    const list = problems.map((p) => `${p.field}: ${p.message}`).join('; ');
    return failWith(file, list, problems[0]?.field);
  }
  return manifest;
}

function failWith(file: string, list: string, field?: string): never {
  throw new KernelError('Invalid', `${displayPath(file)}: ${list}`, { field, code: MANIFEST_INVALID });
}

/**
 * Checks a parsed package.json without throwing: every problem is listed,
 * and the manifest is returned only when there are none.
 */
export function checkManifest(pkg: unknown): { manifest?: PluginManifest; problems: ManifestProblem[] } {
  const problems: ManifestProblem[] = [];
  const bad = (field: string, message: string) => problems.push({ field, message });
  if (!isObject(pkg)) {
    bad('package.json', 'must hold a JSON object');
    return { problems };
  }

  const name = pkg.name;
  if (typeof name !== 'string' || name.trim() === '') bad('name', 'is required (a non-empty string)');
  const version = pkg.version;
  if (typeof version !== 'string') bad('version', 'is required (a semver version such as "1.0.0")');
  else if (!semver.valid(version)) bad('version', `${JSON.stringify(version)} is not a semver version`);
  if (pkg.description !== undefined && typeof pkg.description !== 'string') bad('description', 'must be a string');
  if (pkg.main !== undefined && (typeof pkg.main !== 'string' || pkg.main === '')) bad('main', 'must be a non-empty string');

  const kern = pkg.kern;
  if (kern === undefined) {
    bad('kern', 'is required: a plugin package has a "kern" section with at least id and kernelAbi');
    return { problems };
  }
  if (!isObject(kern)) {
    bad('kern', 'must be an object');
    return { problems };
  }

  for (const key of Object.keys(kern)) {
    if (!KERN_FIELDS.includes(key)) bad(`kern.${key}`, `unknown field (known fields: ${KERN_FIELDS.join(', ')})`);
  }

  const id = kern.id;
  if (typeof id !== 'string' || id === '') bad('kern.id', 'is required (a kebab-case plugin id such as "store-sqlite")');
  else if (!PLUGIN_ID_PATTERN.test(id)) bad('kern.id', `${JSON.stringify(id)} must be kebab-case (lower-case letters, digits and single dashes, starting with a letter)`);

  const kernelAbi = kern.kernelAbi;
  if (typeof kernelAbi !== 'string' || kernelAbi === '') bad('kern.kernelAbi', 'is required (a semver range of the kernel ABI such as "^1.0.0")');
  else if (!semver.validRange(kernelAbi)) bad('kern.kernelAbi', `${JSON.stringify(kernelAbi)} is not a semver range`);

  const provides: { kind: string; name: string }[] = [];
  if (kern.provides !== undefined) {
    if (!Array.isArray(kern.provides)) bad('kern.provides', 'must be a list of { kind, name }');
    else {
      const seen = new Set<string>();
      kern.provides.forEach((p: unknown, i: number) => {
        const f = `kern.provides[${i}]`;
        if (!isObject(p)) return bad(f, 'must be an object { kind, name }');
        let ok = true;
        if (typeof p.kind !== 'string' || p.kind === '') { bad(`${f}.kind`, 'is required (a non-empty string such as "store")'); ok = false; }
        if (typeof p.name !== 'string' || p.name === '') { bad(`${f}.name`, 'is required (a non-empty string)'); ok = false; }
        if (!ok) return;
        const key = `${p.kind}/${p.name}`;
        if (seen.has(key)) return bad(f, `${p.kind} "${p.name}" is listed twice`);
        seen.add(key);
        provides.push({ kind: p.kind as string, name: p.name as string });
      });
    }
  }

  const requires: Record<string, string> = {};
  if (kern.requires !== undefined) {
    if (!isObject(kern.requires)) bad('kern.requires', 'must be an object of plugin id → semver range');
    else {
      for (const [dep, range] of Object.entries(kern.requires)) {
        const f = `kern.requires.${dep}`;
        if (!PLUGIN_ID_PATTERN.test(dep)) { bad(f, `${JSON.stringify(dep)} is not a plugin id (kebab-case)`); continue; }
        if (dep === id) { bad(f, 'a plugin cannot require itself'); continue; }
        if (typeof range !== 'string' || !semver.validRange(range)) { bad(f, `${JSON.stringify(range)} is not a semver range`); continue; }
        requires[dep] = range;
      }
    }
  }

  const syscalls: string[] = [];
  if (kern.syscalls !== undefined) {
    if (!Array.isArray(kern.syscalls)) bad('kern.syscalls', 'must be a list of syscall names or patterns ("state.get", "state.*")');
    else {
      kern.syscalls.forEach((s: unknown, i: number) => {
        if (typeof s !== 'string' || !SYSCALL_PATTERN.test(s)) {
          return bad(`kern.syscalls[${i}]`, `${JSON.stringify(s)} is not a syscall name or pattern ("state.get", "state.*" or "*")`);
        }
        syscalls.push(s);
      });
    }
  }

  if (kern.entry !== undefined) {
    if (typeof kern.entry !== 'string' || kern.entry === '') bad('kern.entry', 'must be a non-empty path relative to the package');
    else checkInside('kern.entry', kern.entry, bad);
  } else if (typeof pkg.main === 'string' && pkg.main !== '') {
    checkInside('main', pkg.main, bad);
  }

  if (kern.command !== undefined) {
    if (!Array.isArray(kern.command) || kern.command.length === 0 || !kern.command.every((c) => typeof c === 'string' && c !== '')) {
      bad('kern.command', 'must be a non-empty list of non-empty strings (program and arguments)');
    } else {
      const program = kern.command[0] as string;
      if (program.includes('/') && !isAbsolute(program)) checkInside('kern.command[0]', program, bad);
      // One process serves one driver: the handshake names it, and it must be this one.
      const drivers = provides.filter((p) => (DRIVER_KINDS as readonly string[]).includes(p.kind));
      // Entries already found bad are reported as such.
      const allValid = Array.isArray(kern.provides) && provides.length === kern.provides.length;
      if (allValid && (drivers.length !== 1 || provides.length !== 1)) {
        bad('kern.provides', `an out-of-process driver (kern.command) provides exactly one driver, e.g. [{ "kind": "runtime", "name": "my-runtime" }] with kind one of ${DRIVER_KINDS.join(', ')}`);
      } else if (kern.provides === undefined) {
        bad('kern.provides', 'is required for an out-of-process driver (kern.command): the one driver it provides, e.g. [{ "kind": "runtime", "name": "my-runtime" }]');
      }
    }
  }
  if (kern.config !== undefined && !isObject(kern.config)) bad('kern.config', 'must be an object');

  if (problems.length > 0) return { problems };
  const entry = (kern.entry as string | undefined) ?? (pkg.main as string | undefined);
  const manifest: PluginManifest = {
    id: id as string,
    kernelAbi: kernelAbi as string,
    name: name as string,
    version: version as string,
    description: (pkg.description as string | undefined) ?? '',
    provides,
    requires,
    syscalls,
    ...(entry !== undefined ? { entry } : {}),
    ...(kern.command !== undefined ? { command: kern.command as string[] } : {}),
    ...(kern.config !== undefined ? { config: kern.config as Record<string, unknown> } : {}),
  };
  return { manifest, problems };
}

/**
 * True for a plugin that runs as its own process (`kern.command`). The
 * command wins over `kern.entry` and `main`, which such a package may keep
 * for in-process tests.
 */
export function isOutOfProcess(manifest: PluginManifest): boolean {
  return manifest.command !== undefined;
}

/** True when the kernel's ABI version satisfies the plugin's `kern.kernelAbi`. */
export function abiCompatible(manifest: PluginManifest, kernelVersion: string): boolean {
  return abiAdmits(manifest.kernelAbi, kernelVersion);
}

/** True when the kernel ABI range `range` (a manifest's or a registry entry's) is valid and admits `kernelVersion`. */
export function abiAdmits(range: string, kernelVersion: string): boolean {
  return semver.validRange(range) !== null && semver.satisfies(kernelVersion, range, { includePrerelease: true });
}

/** FailedPrecondition naming both versions, for a plugin built for another kernel ABI. */
export function abiMismatch(manifest: PluginManifest, kernelVersion: string): KernelError {
  return new KernelError('FailedPrecondition',
    `plugin ${manifest.id} ${manifest.version} needs kernel ABI ${manifest.kernelAbi} (kern.kernelAbi) but this kernel provides ABI ${kernelVersion}; install a version of ${manifest.id} built for ABI ${kernelVersion}`,
    { field: 'kern.kernelAbi', code: 'KERN_ERR_PLUGIN_ABI_MISMATCH' });
}

/** A path for messages: relative to the working directory when inside it. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

function checkInside(field: string, p: string, bad: (f: string, m: string) => void): void {
  const n = normalize(p);
  if (isAbsolute(p) || n === '..' || n.startsWith(`..${sep}`) || n.startsWith('../')) {
    bad(field, `${JSON.stringify(p)} must be a path inside the package, relative to its package.json`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
