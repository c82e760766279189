import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A pod sandbox: a directory; its containers share the host's network. */
export interface SandboxRecord {
  id: string;
  podUid: string;
  podName: string;
  podNamespace: string;
  hostname: string;
  labels: Record<string, string>;
  createdAt: string;
}

/** A container as created: everything needed to start it, exec in it and report on it. */
export interface ContainerRecord {
  id: string;
  sandboxId: string;
  name: string;
  /** Recorded and reported, never used: processes run from the host's filesystem. */
  image: string;
  /** `command` followed by `args`. */
  argv: string[];
  /** The whole environment the process gets (PATH with the applets first, HOME, TMPDIR, ...). */
  env: Record<string, string>;
  workingDir: string;
  labels: Record<string, string>;
  createdAt: string;
}

/** Written right after the shim was spawned. */
export interface LaunchRecord {
  shimPid: number;
  /** From /proc, so a reused pid is not mistaken for the shim. */
  shimStartTime?: string;
  bootId: string;
  startedAt: string;
}

const ID_PATTERN = /^[0-9a-f]{16}$/;

/** A new sandbox or container id. */
export function newId(): string {
  return randomBytes(8).toString('hex');
}

/** Ids double as directory names: anything else cannot name one of ours. */
export function isId(id: string): boolean {
  return typeof id === 'string' && ID_PATTERN.test(id);
}

/**
 * The layout of the driver's state directory; everything the driver knows
 * lives here, so any number of driver instances (or a restarted one) share
 * it:
 *
 * ```
 * sandboxes/<id>/sandbox.json   SandboxRecord
 * sandboxes/<id>/work/          default working directory and HOME
 * sandboxes/<id>/tmp/           TMPDIR
 * containers/<id>/container.json  ContainerRecord
 * containers/<id>/launch.json   LaunchRecord (once started)
 * containers/<id>/pid           main process id, written by the shim
 * containers/<id>/exit          exit code, written by the shim when it ends
 * containers/<id>/log           stdout and stderr
 * bin/, applets/                the shim script and the busybox applet links
 * ```
 */
export class StateDir {
  constructor(readonly root: string) {}

  sandboxDir(id: string): string { return join(this.root, 'sandboxes', id); }
  sandboxWorkDir(id: string): string { return join(this.sandboxDir(id), 'work'); }
  sandboxTmpDir(id: string): string { return join(this.sandboxDir(id), 'tmp'); }
  containerDir(id: string): string { return join(this.root, 'containers', id); }
  logFile(id: string): string { return join(this.containerDir(id), 'log'); }

  async init(): Promise<void> {
    // Records hold the containers' environments: readable by the driver's user only.
    await mkdir(join(this.root, 'sandboxes'), { recursive: true, mode: 0o700 });
    await mkdir(join(this.root, 'containers'), { recursive: true, mode: 0o700 });
  }

  async createSandbox(record: SandboxRecord): Promise<void> {
    await mkdir(this.sandboxWorkDir(record.id), { recursive: true });
    await mkdir(this.sandboxTmpDir(record.id), { recursive: true });
    await writeJsonAtomically(join(this.sandboxDir(record.id), 'sandbox.json'), record);
  }

  async readSandbox(id: string): Promise<SandboxRecord | undefined> {
    return isId(id) ? readJson<SandboxRecord>(join(this.sandboxDir(id), 'sandbox.json')) : undefined;
  }

  async removeSandbox(id: string): Promise<void> {
    if (isId(id)) await rm(this.sandboxDir(id), { recursive: true, force: true });
  }

  async sandboxIds(): Promise<string[]> {
    return listIds(join(this.root, 'sandboxes'));
  }

  async createContainer(record: ContainerRecord): Promise<void> {
    await mkdir(this.containerDir(record.id), { recursive: true, mode: 0o700 });
    await writeFile(this.logFile(record.id), '', { flag: 'a' });
    await writeJsonAtomically(join(this.containerDir(record.id), 'container.json'), record);
  }

  async readContainer(id: string): Promise<ContainerRecord | undefined> {
    return isId(id) ? readJson<ContainerRecord>(join(this.containerDir(id), 'container.json')) : undefined;
  }

  async removeContainer(id: string): Promise<void> {
    if (isId(id)) await rm(this.containerDir(id), { recursive: true, force: true });
  }

  async containerIds(): Promise<string[]> {
    return listIds(join(this.root, 'containers'));
  }

  async writeLaunch(id: string, record: LaunchRecord): Promise<void> {
    await writeJsonAtomically(join(this.containerDir(id), 'launch.json'), record);
  }

  async readLaunch(id: string): Promise<LaunchRecord | undefined> {
    return readJson<LaunchRecord>(join(this.containerDir(id), 'launch.json'));
  }
}

async function listIds(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter(isId);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
  return JSON.parse(text) as T;
}

/** Readers see the old file or the new one, never half of one. */
async function writeJsonAtomically(file: string, value: unknown): Promise<void> {
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  await rename(temporary, file);
}
