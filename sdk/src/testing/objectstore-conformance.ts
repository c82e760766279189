import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ObjectInfo, ObjectStoreDriver } from '../drivers/objectstore-driver';
import { CONFORMANCE_NAME_PREFIX, failureOf, newRunId } from './suite-helpers';

/** One object store under test, made by the suite's factory. */
export interface ObjectStoreUnderTest {
  driver: ObjectStoreDriver;
  /**
   * Releases what the factory made. Runs once, after all tests and after
   * the suite removed every bucket it created (they all start with the
   * run's prefix, {@link OBJECTSTORE_CONFORMANCE_PREFIX}).
   */
  cleanup(): Promise<void>;
}

export interface ObjectStoreConformanceOptions {
  /** Per-test timeout, in ms. Default 30000. */
  timeoutMs?: number;
  /** Size of the object the large-object test streams through put and get. Default 8 MiB. */
  largeObjectBytes?: number;
}

/** Every bucket the suite creates starts with this, then a per-run id: `kconf-<run>-`. */
export const OBJECTSTORE_CONFORMANCE_PREFIX = CONFORMANCE_NAME_PREFIX;

const MiB = 1024 * 1024;

/** Reads `body` to the end. */
async function readBody(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** A stream of `bytes` deterministic pseudo-random bytes, in 64 KiB chunks, made as it is read. */
function patternStream(bytes: number): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= bytes) {
        this.push(null);
        return;
      }
      const n = Math.min(64 * 1024, bytes - offset);
      this.push(patternBytes(offset, n));
      offset += n;
    },
  });
}

/** Bytes `[offset, offset + n)` of the pattern patternStream produces. */
function patternBytes(offset: number, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    const p = offset + i;
    out[i] = (p * 31 + (p >>> 8) * 7 + (p >>> 16)) & 0xff;
  }
  return out;
}

/**
 * The conformance suite every {@link ObjectStoreDriver} passes: buckets,
 * put/get with exact bytes (binary and empty objects included), content type
 * and user metadata, ranged gets, head, delete, S3-style listing (prefix,
 * delimiter and common prefixes, maxKeys and continuation tokens) and a large
 * streamed object.
 *
 * Call it at the top level of a test file. `factory` runs once, in
 * `beforeAll`; the driver may hold buckets of its own, which the suite leaves
 * alone: everything it creates is in buckets named
 * `kconf-<run id>-<test>`, and it deletes those (objects first) before
 * calling `cleanup`.
 *
 * ```ts
 * describeObjectStoreConformance('s3', async () => {
 *   const driver = new S3ObjectStore({ endpoint: 'http://127.0.0.1:9000', ... });
 *   return { driver, cleanup: async () => driver.close() };
 * });
 * ```
 *
 * Decisions the suite pins down where the interface leaves room:
 * - `createBucket` of an existing bucket fails with AlreadyExists; every
 *   call naming a missing bucket fails with NotFound.
 * - `deleteBucket` of a bucket that still holds objects fails with
 *   FailedPrecondition (S3's 409 BucketNotEmpty; Conflict is reserved for
 *   failed optimistic-concurrency checks) and keeps the bucket.
 * - `getObject`/`headObject` of a missing key fail with NotFound;
 *   `deleteObject` of a missing key succeeds, as in S3.
 * - A range is `{ start, end? }` with `end` inclusive (HTTP `bytes=start-end`);
 *   without `end` it runs to the last byte, and an `end` past the last byte
 *   is clamped. The suite checks only the bytes of a ranged body, not what
 *   `info.size` says then.
 * - `listObjects` returns keys in ascending (byte) order; with a delimiter,
 *   keys that contain it after the prefix are rolled up into
 *   `commonPrefixes` (prefix up to and including the delimiter, each once,
 *   sorted). `nextContinuationToken` is set exactly when more keys follow;
 *   passing it back continues after the last key of the page.
 * - `etag` is a non-empty string that changes when the content does;
 *   `lastModified` and a bucket's `creationDate` parse with `Date.parse`.
 */
export function describeObjectStoreConformance(
  name: string,
  factory: () => Promise<ObjectStoreUnderTest>,
  options: ObjectStoreConformanceOptions = {},
): void {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const largeBytes = options.largeObjectBytes ?? 8 * MiB;
  const prefix = `${OBJECTSTORE_CONFORMANCE_PREFIX}${newRunId()}-`;

  describe(`objectstore conformance: ${name}`, () => {
    let underTest: ObjectStoreUnderTest | undefined;
    let driver: ObjectStoreDriver;
    let buckets = 0;

    beforeAll(async () => {
      underTest = await factory();
      driver = underTest.driver;
    }, timeoutMs);

    afterAll(async () => {
      try {
        if (driver) await removeRunBuckets();
      } finally {
        await underTest?.cleanup();
      }
    }, timeoutMs * 2);

    /** Deletes every bucket of this run, objects first; tolerates whatever the tests left half done. */
    async function removeRunBuckets(): Promise<void> {
      const listed = await driver.listBuckets().catch(() => []);
      for (const { name: bucket } of listed.filter((b) => b.name.startsWith(prefix))) {
        let token: string | undefined;
        do {
          const page = await driver.listObjects(bucket, { continuationToken: token }).catch(() => undefined);
          for (const o of page?.objects ?? []) await driver.deleteObject(bucket, o.key).catch(() => undefined);
          token = page?.nextContinuationToken;
        } while (token);
        await driver.deleteBucket(bucket).catch(() => undefined);
      }
    }

    /** A new, empty bucket of this run. */
    async function newBucket(tag: string): Promise<string> {
      buckets += 1;
      const bucket = `${prefix}${buckets}-${tag}`.slice(0, 63);
      await driver.createBucket(bucket);
      return bucket;
    }

    const put = (bucket: string, key: string, body: Buffer | string, info: { contentType?: string; metadata?: Record<string, string> } = {}) =>
      driver.putObject(bucket, key, Readable.from([Buffer.from(body)]), info);

    async function getBytes(bucket: string, key: string, range?: { start: number; end?: number }): Promise<{ info: ObjectInfo; bytes: Buffer }> {
      const { info, body } = await driver.getObject(bucket, key, range);
      return { info, bytes: await readBody(body) };
    }

    const test = (title: string, fn: () => Promise<void>) => it(title, fn, timeoutMs);
    /** it.each with the suite's timeout. */
    const testEach = <T extends unknown[]>(table: readonly T[]) =>
      (title: string, fn: (...args: T) => Promise<void>) => it.each(table as T[])(title, fn as never, timeoutMs);

    describe('buckets', () => {
      test('createBucket makes a bucket listBuckets reports with its creation date', async () => {
        const before = Date.now();
        const bucket = await newBucket('list');
        const listed = (await driver.listBuckets()).find((b) => b.name === bucket);
        expect(listed).toBeDefined();
        const created = Date.parse(listed!.creationDate);
        expect(Number.isNaN(created)).toBe(false);
        // Second-granular stores and a little clock skew are fine.
        expect(created).toBeGreaterThanOrEqual(before - 60_000);
        expect(created).toBeLessThanOrEqual(Date.now() + 60_000);
      });

      test('createBucket of an existing bucket fails with AlreadyExists', async () => {
        const bucket = await newBucket('twice');
        expect(await failureOf(driver.createBucket(bucket))).toBe('AlreadyExists');
      });

      test('deleteBucket removes an empty bucket', async () => {
        const bucket = await newBucket('delete');
        await driver.deleteBucket(bucket);
        expect((await driver.listBuckets()).map((b) => b.name)).not.toContain(bucket);
        expect(await failureOf(driver.listObjects(bucket, {}))).toBe('NotFound');
      });

      test('deleteBucket of a bucket with objects fails with FailedPrecondition and keeps it', async () => {
        const bucket = await newBucket('nonempty');
        await put(bucket, 'k', 'v');
        expect(await failureOf(driver.deleteBucket(bucket))).toBe('FailedPrecondition');
        expect((await driver.listBuckets()).map((b) => b.name)).toContain(bucket);
        expect((await getBytes(bucket, 'k')).bytes.toString()).toBe('v');
      });

      testEach<[string, (bucket: string) => Promise<unknown>]>([
        ['deleteBucket', (b) => driver.deleteBucket(b)],
        ['putObject', (b) => put(b, 'k', 'v')],
        ['getObject', (b) => driver.getObject(b, 'k')],
        ['headObject', (b) => driver.headObject(b, 'k')],
        ['listObjects', (b) => driver.listObjects(b, {})],
      ])('%s on a missing bucket fails with NotFound', async (_, call) => {
        expect(await failureOf(call(`${prefix}missing`))).toBe('NotFound');
      });
    });

    describe('objects', () => {
      let bucket: string;
      beforeAll(async () => {
        bucket = await newBucket('objects');
      }, timeoutMs);

      test('putObject then getObject returns the bytes, and ObjectInfo describes them', async () => {
        const body = Buffer.from('hello, object store\n');
        const before = Date.now();
        const info = await put(bucket, 'greeting.txt', body, { contentType: 'text/plain', metadata: { owner: 'conformance', purpose: 'test' } });
        expect(info).toMatchObject({ key: 'greeting.txt', size: body.length });
        expect(typeof info.etag).toBe('string');
        expect(info.etag).not.toBe('');
        expect(Date.parse(info.lastModified)).toBeGreaterThanOrEqual(before - 60_000);

        const got = await getBytes(bucket, 'greeting.txt');
        expect(got.bytes.equals(body)).toBe(true);
        expect(got.info).toMatchObject({
          key: 'greeting.txt', size: body.length, etag: info.etag, contentType: 'text/plain', metadata: { owner: 'conformance', purpose: 'test' },
        });
      });

      test('binary content round-trips exactly (every byte value, not valid UTF-8)', async () => {
        const body = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80])]);
        const info = await put(bucket, 'bin/all-bytes', body, { contentType: 'application/octet-stream' });
        expect(info.size).toBe(body.length);
        const got = await getBytes(bucket, 'bin/all-bytes');
        expect(got.bytes.equals(body)).toBe(true);
        expect(got.info.contentType).toBe('application/octet-stream');
      });

      test('an empty object round-trips with size 0', async () => {
        const info = await driver.putObject(bucket, 'empty', Readable.from([]), {});
        expect(info.size).toBe(0);
        const got = await getBytes(bucket, 'empty');
        expect(got.bytes.length).toBe(0);
        expect(got.info.size).toBe(0);
        expect((await driver.headObject(bucket, 'empty')).size).toBe(0);
      });

      test('putObject over an existing key replaces content, etag and metadata', async () => {
        const first = await put(bucket, 'replace', 'first version', { metadata: { v: '1' } });
        const second = await put(bucket, 'replace', 'second, longer version', { metadata: { v: '2' } });
        expect(second.etag).not.toBe(first.etag);
        const got = await getBytes(bucket, 'replace');
        expect(got.bytes.toString()).toBe('second, longer version');
        expect(got.info).toMatchObject({ size: 22, etag: second.etag, metadata: { v: '2' } });
      });

      test('headObject returns what putObject returned, without the body', async () => {
        const info = await put(bucket, 'head/me', 'abc', { contentType: 'text/csv', metadata: { a: 'b' } });
        const head = await driver.headObject(bucket, 'head/me');
        expect(head).toMatchObject({ key: 'head/me', size: 3, etag: info.etag, contentType: 'text/csv', metadata: { a: 'b' } });
        expect(Number.isNaN(Date.parse(head.lastModified))).toBe(false);
      });

      test('getObject and headObject of a missing key fail with NotFound', async () => {
        expect(await failureOf(driver.getObject(bucket, 'no/such/key'))).toBe('NotFound');
        expect(await failureOf(driver.headObject(bucket, 'no/such/key'))).toBe('NotFound');
      });

      test('deleteObject removes the object; deleting a missing key is not an error', async () => {
        await put(bucket, 'doomed', 'x');
        await driver.deleteObject(bucket, 'doomed');
        expect(await failureOf(driver.headObject(bucket, 'doomed'))).toBe('NotFound');
        expect(await failureOf(driver.getObject(bucket, 'doomed'))).toBe('NotFound');
        await driver.deleteObject(bucket, 'doomed');
        await driver.deleteObject(bucket, 'never/existed');
      });

      describe('ranged getObject', () => {
        const body = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
        beforeAll(async () => {
          await put(bucket, 'ranged', body);
        }, timeoutMs);

        testEach<[string, { start: number; end?: number }, Buffer]>([
          ['start only: to the last byte', { start: 90 }, body.subarray(90)],
          ['start and end: end inclusive', { start: 10, end: 19 }, body.subarray(10, 20)],
          ['one byte', { start: 0, end: 0 }, body.subarray(0, 1)],
          ['the last byte', { start: 99, end: 99 }, body.subarray(99)],
          ['end past the last byte is clamped', { start: 95, end: 1000 }, body.subarray(95)],
        ])('%s', async (_, range, expected) => {
          const got = await getBytes(bucket, 'ranged', range);
          expect([...got.bytes]).toEqual([...expected]);
          expect(got.info.key).toBe('ranged');
        });
      });
    });

    describe('listObjects', () => {
      const keys = ['a.txt', 'dir/one', 'dir/sub/three', 'dir/sub/two', 'dir/two', 'dirt', 'z/last'];
      let bucket: string;
      beforeAll(async () => {
        bucket = await newBucket('list');
        // Written out of order: the listing must sort.
        for (const key of [...keys].reverse()) await put(bucket, key, `content of ${key}`);
      }, timeoutMs);

      test('lists every object in key order, with size and etag', async () => {
        const listed = await driver.listObjects(bucket, {});
        expect(listed.objects.map((o) => o.key)).toEqual(keys);
        expect(listed.commonPrefixes).toEqual([]);
        expect(listed.nextContinuationToken).toBeUndefined();
        for (const o of listed.objects) {
          expect(o.size).toBe(`content of ${o.key}`.length);
          expect(o.etag).toEqual(expect.any(String));
          expect(o.etag).not.toBe('');
        }
      });

      testEach<[string, { prefix?: string; delimiter?: string }, string[], string[]]>([
        ['prefix', { prefix: 'dir/' }, ['dir/one', 'dir/sub/three', 'dir/sub/two', 'dir/two'], []],
        ['prefix that is not a directory', { prefix: 'dir' }, ['dir/one', 'dir/sub/three', 'dir/sub/two', 'dir/two', 'dirt'], []],
        ['prefix matching nothing', { prefix: 'nothing/' }, [], []],
        ['delimiter at the top', { delimiter: '/' }, ['a.txt', 'dirt'], ['dir/', 'z/']],
        ['prefix and delimiter', { prefix: 'dir/', delimiter: '/' }, ['dir/one', 'dir/two'], ['dir/sub/']],
        ['prefix and delimiter, one level down', { prefix: 'dir/sub/', delimiter: '/' }, ['dir/sub/three', 'dir/sub/two'], []],
      ])('by %s', async (_, listOptions, expectedKeys, expectedPrefixes) => {
        const listed = await driver.listObjects(bucket, listOptions);
        expect(listed.objects.map((o) => o.key)).toEqual(expectedKeys);
        expect(listed.commonPrefixes).toEqual(expectedPrefixes);
        expect(listed.nextContinuationToken).toBeUndefined();
      });

      test('pages with maxKeys and continuationToken: every key once, in order', async () => {
        const pages: string[][] = [];
        let token: string | undefined;
        do {
          const page = await driver.listObjects(bucket, { maxKeys: 3, ...(token ? { continuationToken: token } : {}) });
          expect(page.objects.length).toBeLessThanOrEqual(3);
          pages.push(page.objects.map((o) => o.key));
          token = page.nextContinuationToken;
          if (pages.length > keys.length) throw new Error('listObjects kept returning continuation tokens');
        } while (token);
        expect(pages).toEqual([keys.slice(0, 3), keys.slice(3, 6), keys.slice(6)]);
      });

      test('pages with a prefix keep to the prefix', async () => {
        const first = await driver.listObjects(bucket, { prefix: 'dir/', maxKeys: 2 });
        expect(first.objects.map((o) => o.key)).toEqual(['dir/one', 'dir/sub/three']);
        expect(first.nextContinuationToken).toEqual(expect.any(String));
        const second = await driver.listObjects(bucket, { prefix: 'dir/', maxKeys: 2, continuationToken: first.nextContinuationToken });
        expect(second.objects.map((o) => o.key)).toEqual(['dir/sub/two', 'dir/two']);
        expect(second.nextContinuationToken).toBeUndefined();
      });

      test('sees deletes', async () => {
        await put(bucket, 'dir/transient', 'x');
        expect((await driver.listObjects(bucket, { prefix: 'dir/t' })).objects.map((o) => o.key)).toEqual(['dir/transient', 'dir/two']);
        await driver.deleteObject(bucket, 'dir/transient');
        expect((await driver.listObjects(bucket, { prefix: 'dir/t' })).objects.map((o) => o.key)).toEqual(['dir/two']);
      });
    });

    describe('large objects', () => {
      it(`streams ${largeBytes} bytes through putObject and getObject intact`, async () => {
        const bucket = await newBucket('large');
        const expected = createHash('sha256');
        for (let offset = 0; offset < largeBytes; offset += MiB) expected.update(patternBytes(offset, Math.min(MiB, largeBytes - offset)));
        const digest = expected.digest('hex');

        const info = await driver.putObject(bucket, 'large.bin', patternStream(largeBytes), { contentType: 'application/octet-stream' });
        expect(info.size).toBe(largeBytes);
        expect((await driver.headObject(bucket, 'large.bin')).size).toBe(largeBytes);

        const { body } = await driver.getObject(bucket, 'large.bin');
        const actual = createHash('sha256');
        let read = 0;
        for await (const chunk of body) {
          const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
          actual.update(buf);
          read += buf.length;
        }
        expect(read).toBe(largeBytes);
        expect(actual.digest('hex')).toBe(digest);

        // A range across the middle.
        const start = Math.floor(largeBytes / 2) - 10;
        const middle = await getBytes(bucket, 'large.bin', { start, end: start + 99 });
        expect(middle.bytes.equals(patternBytes(start, 100))).toBe(true);
      }, timeoutMs * 4);
    });
  });
}
