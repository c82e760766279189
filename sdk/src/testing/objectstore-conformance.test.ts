import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ListObjectsResult, ObjectInfo, ObjectStoreDriver } from '../drivers/objectstore-driver';
import { errors, KernelError } from '../errors';
import { describeObjectStoreConformance } from './objectstore-conformance';

interface StoredObject {
  info: ObjectInfo;
  data: Buffer;
}

/** A reference object store in memory: what the suite expects of a driver, and nothing more. */
class MemoryObjectStore implements ObjectStoreDriver {
  readonly name = 'memory';
  private readonly buckets = new Map<string, { creationDate: string; objects: Map<string, StoredObject> }>();

  async createBucket(bucket: string): Promise<void> {
    if (this.buckets.has(bucket)) throw errors.alreadyExists(`bucket ${bucket}`);
    this.buckets.set(bucket, { creationDate: new Date().toISOString(), objects: new Map() });
  }

  async deleteBucket(bucket: string): Promise<void> {
    if (this.bucket(bucket).objects.size > 0) throw new KernelError('FailedPrecondition', `bucket ${bucket} is not empty`);
    this.buckets.delete(bucket);
  }

  async listBuckets(): Promise<{ name: string; creationDate: string }[]> {
    return [...this.buckets].map(([name, b]) => ({ name, creationDate: b.creationDate }));
  }

  async putObject(bucket: string, key: string, body: Readable, info: { contentType?: string; metadata?: Record<string, string> }): Promise<ObjectInfo> {
    const objects = this.bucket(bucket).objects;
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
    const data = Buffer.concat(chunks);
    const stored: ObjectInfo = {
      key, size: data.length, etag: createHash('md5').update(data).digest('hex'), lastModified: new Date().toISOString(),
      ...(info.contentType ? { contentType: info.contentType } : {}),
      ...(info.metadata ? { metadata: { ...info.metadata } } : {}),
    };
    objects.set(key, { info: stored, data });
    return { ...stored };
  }

  async getObject(bucket: string, key: string, range?: { start: number; end?: number }): Promise<{ info: ObjectInfo; body: Readable }> {
    const o = this.object(bucket, key);
    const data = range ? o.data.subarray(range.start, range.end === undefined ? undefined : range.end + 1) : o.data;
    return { info: { ...o.info }, body: Readable.from([data]) };
  }

  async headObject(bucket: string, key: string): Promise<ObjectInfo> {
    return { ...this.object(bucket, key).info };
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    this.bucket(bucket).objects.delete(key);
  }

  async listObjects(bucket: string, options: { prefix?: string; delimiter?: string; maxKeys?: number; continuationToken?: string }): Promise<ListObjectsResult> {
    const prefix = options.prefix ?? '';
    const after = options.continuationToken ? Buffer.from(options.continuationToken, 'base64url').toString() : undefined;
    const max = options.maxKeys ?? 1000;
    const keys = [...this.bucket(bucket).objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    const result: ListObjectsResult = { objects: [], commonPrefixes: [] };
    let last: string | undefined;
    for (const key of keys) {
      // An entry is a key, or a common prefix rolling up several keys.
      const cut = options.delimiter ? key.indexOf(options.delimiter, prefix.length) : -1;
      const entry = cut >= 0 ? key.slice(0, cut + options.delimiter!.length) : key;
      if (after !== undefined && entry <= after) continue;
      if (entry === last) continue;
      if (result.objects.length + result.commonPrefixes.length === max) {
        result.nextContinuationToken = Buffer.from(last!).toString('base64url');
        break;
      }
      if (cut >= 0) result.commonPrefixes.push(entry);
      else result.objects.push({ ...this.bucket(bucket).objects.get(key)!.info });
      last = entry;
    }
    return result;
  }

  private bucket(bucket: string) {
    const b = this.buckets.get(bucket);
    if (!b) throw errors.notFound(`bucket ${bucket}`);
    return b;
  }

  private object(bucket: string, key: string): StoredObject {
    const o = this.bucket(bucket).objects.get(key);
    if (!o) throw errors.notFound(`object ${bucket}/${key}`);
    return o;
  }
}

const store = new MemoryObjectStore();

describeObjectStoreConformance('in-memory reference', async () => {
  // A bucket of someone else's: the suite must leave it alone.
  await store.createBucket('not-the-suites');
  return { driver: store, cleanup: async () => undefined };
});

afterAll(async () => {
  // Runs after the suite's afterAll: only the foreign bucket is left.
  expect((await store.listBuckets()).map((b) => b.name)).toEqual(['not-the-suites']);
});
