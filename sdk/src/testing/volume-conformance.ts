import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VolumeCapabilities, VolumeDriver, VolumeInfo } from '../drivers/volume-driver';
import { CONFORMANCE_NAME_PREFIX, failureOf, newRunId } from './suite-helpers';

/** How the suite reads and writes files through published paths. */
export interface VolumeFileAccess {
  writeFile(path: string, data: string): Promise<void>;
  readFile(path: string): Promise<string>;
}

/** One volume driver under test, made by the suite's factory. */
export interface VolumeUnderTest {
  driver: VolumeDriver;
  /**
   * An existing directory on this node the suite makes staging and target
   * paths under (each test gets a fresh subdirectory). It must be somewhere
   * the driver can mount.
   */
  baseDir: string;
  /**
   * How the suite reaches files under a published target path; default
   * node's `fs` in the test's process. Supply one when the volume is
   * visible only elsewhere (another mount namespace, a helper container).
   */
  files?: VolumeFileAccess;
  /**
   * Releases what the factory made. Runs once, after all tests, after the
   * suite unpublished, unstaged and deleted every volume it created (all
   * named `kconf-<run id>-...`).
   */
  cleanup(): Promise<void>;
}

export interface VolumeConformanceOptions {
  /** Per-test timeout, in ms. Default 60000 (formatting and mounting take a while). */
  timeoutMs?: number;
  /** Capacity the suite requests for each volume. Default 64 MiB. */
  capacityBytes?: number;
}

/** Every volume the suite creates is named with this, then a per-run id. */
export const VOLUME_CONFORMANCE_PREFIX = CONFORMANCE_NAME_PREFIX;

/** What a write through a read-only publication may fail with. */
const READ_ONLY_CODES = ['EROFS', 'EACCES', 'EPERM'];

const nodeFiles: VolumeFileAccess = {
  writeFile: (path, data) => writeFile(path, data),
  readFile: (path) => readFile(path, 'utf8'),
};

/**
 * The conformance suite every {@link VolumeDriver} passes, CSI style:
 * capabilities, createVolume (capacity at least the request, idempotent by
 * name), stage then publish, data written through the target path
 * persisting across unpublish/unstage and back, read-only publication,
 * idempotent unpublish/unstage/deleteVolume, isolation between volumes, and
 * NotFound for unknown ids. With `readWriteMany` it also publishes one volume
 * at two targets at once. `expand` and `snapshot` have no methods in the
 * interface yet, so nothing tests them.
 *
 * Call it at the top level of a test file. `factory` runs once, in
 * `beforeAll`. Needs whatever the driver needs to mount (usually root).
 *
 * ```ts
 * describeVolumeConformance('loop-ext4', async () => {
 *   const dir = await mkdtemp(join(tmpdir(), 'loop-'));
 *   const driver = new LoopVolumeDriver({ dataDir: join(dir, 'data') });
 *   await mkdir(join(dir, 'mounts'));
 *   return { driver, baseDir: join(dir, 'mounts'), cleanup: () => rm(dir, { recursive: true, force: true }) };
 * });
 * ```
 *
 * Decisions the suite pins down where the interface leaves room:
 * - The staging and target paths the suite passes do not exist yet (their
 *   parent does): stage and publish create them, as CSI drivers create the
 *   target path. After unpublish/unstage the path may stay behind, empty.
 * - `createVolume` with a name that exists returns that volume (same id);
 *   its `capacityBytes` is at least what was requested.
 * - `stage` and `publish` of an unknown id fail with NotFound;
 *   `deleteVolume` of an unknown id succeeds (it is idempotent), as do
 *   `unpublish` of a path not published and `unstage` of a path not staged.
 * - A volume deleted and created again under the same name is empty.
 * - Writing under a read-only target fails with EROFS, EACCES or EPERM.
 */
export function describeVolumeConformance(
  name: string,
  factory: () => Promise<VolumeUnderTest>,
  options: VolumeConformanceOptions = {},
): void {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const capacity = options.capacityBytes ?? 64 * 1024 * 1024;
  const prefix = `${VOLUME_CONFORMANCE_PREFIX}${newRunId()}-`;

  describe(`volume conformance: ${name}`, () => {
    let underTest: VolumeUnderTest | undefined;
    let driver: VolumeDriver;
    let files: VolumeFileAccess;
    let caps: VolumeCapabilities;
    let testDir: string;
    let counter = 0;
    /** What the current test made, undone after it in reverse. */
    const published: { id: string; target: string }[] = [];
    const staged: { id: string; staging: string }[] = [];
    const volumes = new Set<string>();

    beforeAll(async () => {
      underTest = await factory();
      driver = underTest.driver;
      files = underTest.files ?? nodeFiles;
      caps = await driver.capabilities();
    }, timeoutMs);

    beforeEach(async () => {
      if (underTest) testDir = await mkdtemp(join(underTest.baseDir, 'test-'));
    });

    afterEach(async () => {
      if (!driver) return;
      for (const p of published.splice(0).reverse()) await driver.unpublish(p.id, p.target).catch(() => undefined);
      for (const s of staged.splice(0).reverse()) await driver.unstage(s.id, s.staging).catch(() => undefined);
      for (const id of volumes) await driver.deleteVolume(id).catch(() => undefined);
      volumes.clear();
    }, timeoutMs);

    afterAll(async () => {
      await underTest?.cleanup();
    }, timeoutMs);

    const test = (title: string, fn: () => Promise<void>) => it(title, fn, timeoutMs);

    async function create(tag: string): Promise<VolumeInfo> {
      const info = await driver.createVolume({ name: `${prefix}${tag}`, capacityBytes: capacity });
      volumes.add(info.id);
      return info;
    }

    /** A fresh path under this test's directory, not created. */
    const path = (what: string) => join(testDir, `${what}-${++counter}`);

    async function stage(id: string, staging = path('staging')): Promise<string> {
      await driver.stage(id, staging);
      staged.push({ id, staging });
      return staging;
    }

    async function publish(id: string, staging: string, readOnly = false, target = path('target')): Promise<string> {
      await driver.publish(id, staging, target, readOnly);
      published.push({ id, target });
      return target;
    }

    /** A created, staged and read-write published volume. */
    async function ready(tag: string): Promise<{ volume: VolumeInfo; staging: string; target: string }> {
      const volume = await create(tag);
      const staging = await stage(volume.id);
      const target = await publish(volume.id, staging);
      return { volume, staging, target };
    }

    async function writeFailure(file: string): Promise<string> {
      try {
        await files.writeFile(file, 'must not be written');
      } catch (e) {
        return (e as NodeJS.ErrnoException).code ?? String(e);
      }
      return 'no error: the write succeeded';
    }

    test('capabilities reports readWriteMany, expand and snapshot as booleans', async () => {
      expect(caps).toEqual({ readWriteMany: expect.any(Boolean), expand: expect.any(Boolean), snapshot: expect.any(Boolean) });
    });

    describe('createVolume', () => {
      test('returns an id and at least the requested capacity', async () => {
        const volume = await create('size');
        expect(typeof volume.id).toBe('string');
        expect(volume.id).not.toBe('');
        expect(volume.capacityBytes).toBeGreaterThanOrEqual(capacity);
      });

      test('is idempotent by name: the same name gives the same volume, another name another one', async () => {
        const first = await create('same');
        const again = await create('same');
        expect(again.id).toBe(first.id);
        expect(again.capacityBytes).toBe(first.capacityBytes);
        const other = await create('other');
        expect(other.id).not.toBe(first.id);
      });
    });

    describe('stage and publish', () => {
      test('a file written through the target path reads back', async () => {
        const { target } = await ready('rw');
        await files.writeFile(join(target, 'hello.txt'), 'hello, volume');
        expect(await files.readFile(join(target, 'hello.txt'))).toBe('hello, volume');
      });

      test('data persists across unpublish and a new publish', async () => {
        const { volume, staging, target } = await ready('persist');
        await files.writeFile(join(target, 'data.txt'), 'kept');
        await driver.unpublish(volume.id, target);
        const again = await publish(volume.id, staging);
        expect(await files.readFile(join(again, 'data.txt'))).toBe('kept');
      });

      test('data persists across unpublish, unstage, stage and publish', async () => {
        const { volume, staging, target } = await ready('restage');
        await files.writeFile(join(target, 'data.txt'), 'kept across staging');
        await driver.unpublish(volume.id, target);
        await driver.unstage(volume.id, staging);
        const restaged = await stage(volume.id);
        const again = await publish(volume.id, restaged);
        expect(await files.readFile(join(again, 'data.txt'))).toBe('kept across staging');
      });

      test('a read-only publication shows the data and refuses writes', async () => {
        const { volume, staging, target } = await ready('ro');
        await files.writeFile(join(target, 'existing.txt'), 'readable');
        await driver.unpublish(volume.id, target);
        const readOnly = await publish(volume.id, staging, true);
        expect(await files.readFile(join(readOnly, 'existing.txt'))).toBe('readable');
        expect(READ_ONLY_CODES).toContain(await writeFailure(join(readOnly, 'new.txt')));
        expect(READ_ONLY_CODES).toContain(await writeFailure(join(readOnly, 'existing.txt')));
        expect(await files.readFile(join(readOnly, 'existing.txt'))).toBe('readable');
      });

      test('volumes are isolated: one volume does not see another\'s files', async () => {
        const a = await ready('iso-a');
        const b = await ready('iso-b');
        await files.writeFile(join(a.target, 'only-a.txt'), 'a');
        await expect(files.readFile(join(b.target, 'only-a.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
      });

      test('with readWriteMany: one volume published at two targets at once shares its data', async () => {
        if (!caps.readWriteMany) return;
        const { volume, staging, target } = await ready('rwx');
        const second = await publish(volume.id, staging);
        await files.writeFile(join(target, 'shared.txt'), 'from the first');
        expect(await files.readFile(join(second, 'shared.txt'))).toBe('from the first');
      });

      test('unpublish and unstage are idempotent', async () => {
        const { volume, staging, target } = await ready('idem');
        await driver.unpublish(volume.id, target);
        await driver.unpublish(volume.id, target);
        await driver.unstage(volume.id, staging);
        await driver.unstage(volume.id, staging);
        await driver.unpublish(volume.id, path('never-published'));
        await driver.unstage(volume.id, path('never-staged'));
      });
    });

    describe('deleteVolume', () => {
      test('deletes it: stage then fails with NotFound, a second delete succeeds, the name can be reused empty', async () => {
        const { volume, staging, target } = await ready('delete');
        await files.writeFile(join(target, 'gone.txt'), 'x');
        await driver.unpublish(volume.id, target);
        await driver.unstage(volume.id, staging);
        await driver.deleteVolume(volume.id);
        volumes.delete(volume.id);
        expect(await failureOf(driver.stage(volume.id, path('staging')))).toBe('NotFound');
        await driver.deleteVolume(volume.id);

        const reborn = await ready('delete');
        await expect(files.readFile(join(reborn.target, 'gone.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
      });
    });

    describe('unknown ids', () => {
      const unknown = `${prefix}no-such-volume`;
      test('stage fails with NotFound', async () => {
        expect(await failureOf(driver.stage(unknown, path('staging')))).toBe('NotFound');
      });
      test('publish fails with NotFound', async () => {
        expect(await failureOf(driver.publish(unknown, path('staging'), path('target'), false))).toBe('NotFound');
      });
      test('deleteVolume succeeds (it is idempotent)', async () => {
        await driver.deleteVolume(unknown);
      });
    });
  });
}
