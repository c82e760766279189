import { Readable } from 'node:stream';
import { createToken } from '../tokens';

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  lastModified: string;
  contentType?: string;
  metadata?: Record<string, string>;
}

export interface ListObjectsResult {
  objects: ObjectInfo[];
  commonPrefixes: string[];
  nextContinuationToken?: string;
}

/** Buckets of objects, served to users through an S3-compatible API. */
export interface ObjectStoreDriver {
  readonly name: string;
  createBucket(bucket: string): Promise<void>;
  deleteBucket(bucket: string): Promise<void>;
  listBuckets(): Promise<{ name: string; creationDate: string }[]>;
  putObject(bucket: string, key: string, body: Readable, info: { contentType?: string; metadata?: Record<string, string> }): Promise<ObjectInfo>;
  getObject(bucket: string, key: string, range?: { start: number; end?: number }): Promise<{ info: ObjectInfo; body: Readable }>;
  headObject(bucket: string, key: string): Promise<ObjectInfo>;
  deleteObject(bucket: string, key: string): Promise<void>;
  listObjects(bucket: string, options: { prefix?: string; delimiter?: string; maxKeys?: number; continuationToken?: string }): Promise<ListObjectsResult>;
}

export const ObjectStoreDriver = createToken<ObjectStoreDriver>('driver.objectstore');
