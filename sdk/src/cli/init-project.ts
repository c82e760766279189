import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { KernelError } from '../errors';
import { DriverKind } from '../plugin';
import { checkDriverKind, checkDriverName } from './names';
import { projectFiles } from './project-files';

export interface InitOptions {
  kind: string;
  name: string;
  /** Where to create the project. Default `./<kind>-<name>`. */
  dir?: string;
  /** The `@kern/sdk` dependency to write. Default `^<this sdk's version>`. */
  sdkSpec?: string;
  /** This sdk's version, for the default `sdkSpec`. */
  sdkVersion: string;
}

export interface InitResult {
  dir: string;
  kind: DriverKind;
  /** Paths written, relative to `dir`. */
  files: string[];
}

/**
 * `kern-sdk init`: writes a new driver project. AlreadyExists when the
 * directory exists and is not empty (nothing is overwritten); Invalid for a
 * bad kind or name.
 */
export async function initProject(options: InitOptions): Promise<InitResult> {
  const kind = checkDriverKind(options.kind);
  const name = checkDriverName(options.name);
  const dir = resolve(options.dir ?? `${kind}-${name}`);
  const existing = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    if (e.code === 'ENOTDIR') throw new KernelError('AlreadyExists', `${dir} exists and is not a directory: choose another --dir`, { field: 'dir' });
    throw e;
  });
  if (existing.length > 0) {
    throw new KernelError('AlreadyExists', `${dir} exists and is not empty: choose another --dir (nothing was written)`, { field: 'dir' });
  }
  const files = projectFiles({ kind, name, sdkSpec: options.sdkSpec ?? `^${options.sdkVersion}` });
  for (const [path, content] of Object.entries(files)) {
    const target = join(dir, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
  }
  return { dir, kind, files: Object.keys(files).sort() };
}
