import { randomUUID } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readdir, realpath, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { CreateVolumeRequest, VolumeCapabilities, VolumeDriver, VolumeInfo } from '../drivers/volume-driver';
import { errors } from '../errors';
import { VolumeFileAccess, describeVolumeConformance } from './volume-conformance';

/**
 * A reference volume driver over plain directories: a volume is a directory,
 * staging and publishing are symlinks. Symlinks cannot be read-only for root,
 * so read-only targets are enforced by the file access the test hands the
 * suite (as a mount namespace helper would).
 */
class DirectoryVolumeDriver implements VolumeDriver {
  readonly name = 'directories';
  private readonly byName = new Map<string, VolumeInfo>();
  readonly readOnlyTargets = new Set<string>();

  constructor(private readonly root: string) {}

  async capabilities(): Promise<VolumeCapabilities> {
    return { readWriteMany: true, expand: false, snapshot: false };
  }

  async createVolume(req: CreateVolumeRequest): Promise<VolumeInfo> {
    const existing = this.byName.get(req.name);
    if (existing) return { ...existing };
    const info: VolumeInfo = { id: randomUUID(), capacityBytes: Math.ceil(req.capacityBytes / 4096) * 4096 };
    await mkdir(this.dir(info.id));
    this.byName.set(req.name, info);
    return { ...info };
  }

  async deleteVolume(id: string): Promise<void> {
    for (const [name, info] of this.byName) if (info.id === id) this.byName.delete(name);
    await rm(this.dir(id), { recursive: true, force: true });
  }

  async stage(id: string, stagingPath: string): Promise<void> {
    this.known(id);
    await this.link(this.dir(id), stagingPath);
  }

  async unstage(_id: string, stagingPath: string): Promise<void> {
    await unlink(stagingPath).catch(ignoreMissing);
  }

  async publish(id: string, stagingPath: string, targetPath: string, readOnly: boolean): Promise<void> {
    this.known(id);
    const staged = await realpath(stagingPath).catch(() => undefined);
    if (staged !== await realpath(this.dir(id))) throw errors.failedPrecondition(`volume ${id} is not staged at ${stagingPath}`);
    await this.link(stagingPath, targetPath);
    if (readOnly) this.readOnlyTargets.add(resolve(targetPath));
    else this.readOnlyTargets.delete(resolve(targetPath));
  }

  async unpublish(_id: string, targetPath: string): Promise<void> {
    this.readOnlyTargets.delete(resolve(targetPath));
    await unlink(targetPath).catch(ignoreMissing);
  }

  private dir(id: string): string {
    return join(this.root, id);
  }

  private known(id: string): void {
    if (![...this.byName.values()].some((v) => v.id === id)) throw errors.notFound(`volume ${id}`);
  }

  private async link(to: string, at: string): Promise<void> {
    const present = await lstat(at).catch(() => undefined);
    if (present) {
      if (present.isSymbolicLink() && await realpath(at) === await realpath(to)) return;
      throw errors.failedPrecondition(`${at} is in use`);
    }
    await symlink(to, at);
  }
}

function ignoreMissing(e: NodeJS.ErrnoException): void {
  if (e.code !== 'ENOENT') throw e;
}

/** node's fs, refusing writes under the driver's read-only targets with EROFS. */
function filesFor(driver: DirectoryVolumeDriver): VolumeFileAccess {
  return {
    readFile: (path) => readFile(path, 'utf8'),
    writeFile: async (path, data) => {
      const full = resolve(path);
      for (const target of driver.readOnlyTargets) {
        if (full.startsWith(target + sep)) throw Object.assign(new Error(`EROFS: read-only file system, open '${path}'`), { code: 'EROFS' });
      }
      await writeFile(path, data);
    },
  };
}

let root: string;
let volumesDir: string;

describeVolumeConformance('directory reference', async () => {
  root = await mkdtemp(join(tmpdir(), 'kern-volume-conformance-'));
  volumesDir = join(root, 'volumes');
  await mkdir(volumesDir);
  await mkdir(join(root, 'mounts'));
  const driver = new DirectoryVolumeDriver(volumesDir);
  return {
    driver,
    baseDir: join(root, 'mounts'),
    files: filesFor(driver),
    cleanup: async () => {
      // The suite deleted every volume it made before calling this.
      expect(await readdir(volumesDir)).toEqual([]);
      await rm(root, { recursive: true, force: true });
    },
  };
});
