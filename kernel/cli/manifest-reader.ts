import { readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { KernObject, KernelError } from '@kern/sdk';
import { JsonSyntaxError, JsonValueAt, lineColumn, parseJsonStream } from '../json-text';
import { tooDeepAt, tooDeepMessage } from '../nesting';
import { YamlDocument, YamlInputError, parseYamlDocuments } from '../yaml-text';
import { CLI_ERROR_CODES } from './cli-error';

/** One object from a manifest, with where it came from (`file:line`) for messages. */
export interface ManifestObject {
  object: KernObject;
  source: string;
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

function manifestError(message: string): KernelError {
  return new KernelError('Invalid', message, { code: CLI_ERROR_CODES.manifest });
}

/** `kind: List` (or any `FooList` with items) stands for its items. */
function expand(value: unknown, source: string, out: ManifestObject[]): void {
  if (value === null || value === undefined) return;
  if (typeof value !== 'object' || Array.isArray(value)) {
    if (Array.isArray(value)) {
      value.forEach((v) => expand(v, source, out));
      return;
    }
    throw manifestError(`${source}: expected an object with apiVersion, kind and metadata, got ${JSON.stringify(value).slice(0, 60)}`);
  }
  const obj = value as Record<string, unknown>;
  if (typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray(obj.items)) {
    obj.items.forEach((item, i) => expand(item, `${source} (items[${i}])`, out));
    return;
  }
  if (typeof obj.kind !== 'string' || obj.kind === '') throw manifestError(`${source}: kind is required (for example kind: Pod)`);
  if (typeof obj.apiVersion !== 'string' || obj.apiVersion === '') {
    throw manifestError(`${source}: apiVersion is required (for example apiVersion: v1)`);
  }
  out.push({ object: obj as unknown as KernObject, source });
}

/**
 * Parses YAML (one or more `---` documents) or JSON text into objects. Empty
 * documents are skipped; a `List` expands to its items. A syntax error names
 * the file, line and column.
 */
export function parseManifests(text: string, file: string): ManifestObject[] {
  const out: ManifestObject[] = [];
  const trimmed = text.trimStart();
  // JSON first when it looks like JSON: tab-indented JSON is not valid YAML.
  // A .json file must be strict JSON; other text falls back to YAML.
  if (extname(file).toLowerCase() === '.json' || trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let values: JsonValueAt[] | undefined;
    try {
      values = parseJsonStream(text);
    } catch (e) {
      if (!(e instanceof JsonSyntaxError)) throw e;
      if (extname(file).toLowerCase() === '.json') {
        const at = e.offset === undefined ? undefined : lineColumn(text, e.offset);
        throw manifestError(`${file}:${at ? `${at.line}:${at.col}` : '1'}: not valid JSON: ${e.reason}`);
      }
    }
    if (values) {
      for (const { value, line } of values) {
        const deep = tooDeepAt(value);
        if (deep !== undefined) throw manifestError(`${file}:${line}: ${tooDeepMessage(`at ${deep}`)}`);
        expand(value, `${file}:${line}`, out);
      }
      return out;
    }
  }
  let docs: YamlDocument[];
  try {
    docs = parseYamlDocuments(text);
  } catch (e) {
    throw e instanceof YamlInputError ? manifestError(`${file}:${e.line}:${e.col}: ${e.reason}`) : e;
  }
  for (const doc of docs) expand(doc.value, `${file}:${doc.line}`, out);
  return out;
}

/** The manifest files a `-f` path stands for: the file, or a directory's .yaml/.yml/.json files. */
export function expandManifestPaths(paths: readonly string[], recursive = false): string[] {
  const out: string[] = [];
  const walk = (dir: string, top: boolean) => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    const found = out.length;
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) {
        if (recursive) walk(full, false);
      } else if (MANIFEST_EXTENSIONS.has(extname(e.name).toLowerCase())) {
        out.push(full);
      }
    }
    if (top && out.length === found) throw manifestError(`${dir}: no .yaml, .yml or .json files in this directory${recursive ? '' : ' (add -R to look in subdirectories)'}`);
  };
  for (const p of paths) {
    if (p === '-') {
      out.push(p);
      continue;
    }
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (e) {
      throw manifestError(`${p}: cannot read: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
    }
    if (isDir) walk(p, true);
    else out.push(p);
  }
  return out;
}

export async function readStdin(stream: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

/** Errors per file, so one bad file is reported together with the others. */
export interface ManifestRead {
  objects: ManifestObject[];
  errors: KernelError[];
}

/**
 * Reads and parses every `-f` path (`-` is stdin). Nothing is applied when a
 * file is bad, so the caller gets all objects or the list of what is wrong.
 */
export async function readManifests(paths: readonly string[], options: { recursive?: boolean; stdin?: () => Promise<string> } = {}): Promise<ManifestRead> {
  if (paths.length === 0) throw manifestError('no manifest given: use -f FILE, -f DIRECTORY or -f - for stdin');
  const files = expandManifestPaths(paths, options.recursive);
  const objects: ManifestObject[] = [];
  const errors: KernelError[] = [];
  for (const file of files) {
    try {
      const text = file === '-' ? await (options.stdin ?? readStdin)() : readFileSync(file, 'utf8');
      objects.push(...parseManifests(text, file === '-' ? '<stdin>' : file));
    } catch (e) {
      if (e instanceof KernelError || (e as KernelError).isKernelError) errors.push(e as KernelError);
      else errors.push(manifestError(`${file}: cannot read: ${(e as Error).message}`));
    }
  }
  return { objects, errors };
}
