import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { KernelError } from '@kern/sdk';
import { statusToError } from '../../kernel/cli/cli-error';
import { CLIENT_ERROR_CODES } from './client-errors';
import { DEFAULT_REGISTRY_URL } from '../registry-api';
import { IndexItem, PluginDocument, PublisherKey } from './registry-api';


/** A metadata request gives up after this long. */
const REQUEST_TIMEOUT_MS = 30_000;
/** A download gives up when no byte arrives for this long (big packages may take long in total). */
const DOWNLOAD_IDLE_MS = 60_000;

/**
 * `--registry URL`, else `KERN_REGISTRY`, else `fallback` (the registry a
 * lock file names), else the default; Invalid naming where it came from
 * when not an http(s) URL.
 */
export function registryUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, fallback?: string): string {
  const raw = flag || env.KERN_REGISTRY || fallback || DEFAULT_REGISTRY_URL;
  const field = flag ? '--registry' : env.KERN_REGISTRY ? 'KERN_REGISTRY' : 'registry';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new KernelError('Invalid', `registry "${raw}" is not a URL (example: ${DEFAULT_REGISTRY_URL})`, { field, code: CLIENT_ERROR_CODES.badRequest });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new KernelError('Invalid', `registry "${raw}" must be an http:// or https:// URL`, { field, code: CLIENT_ERROR_CODES.badRequest });
  }
  return raw.replace(/\/+$/, '');
}

/**
 * Talks to a plugin registry over its HTTP API: search, plugin documents,
 * publisher keys and package downloads. Error replies (Status JSON) become
 * KernelErrors of the matching kind; a registry that does not answer is
 * Unavailable, naming the URL.
 */
export class RegistryClient {
  constructor(readonly url: string) {}

  async search(query: { text?: string; kind?: string } = {}): Promise<IndexItem[]> {
    const reply = await this.getJson<{ items?: IndexItem[] }>('/v1/index', { q: query.text, kind: query.kind });
    if (!reply || !Array.isArray(reply.items)) throw this.badReply('/v1/index', 'has no items list');
    return reply.items;
  }

  /** The plugin with every version, newest first. NotFound for a plugin the registry does not have. */
  async plugin(id: string): Promise<PluginDocument> {
    const path = `/v1/plugins/${encodeURIComponent(id)}`;
    const doc = await this.getJson<PluginDocument>(path);
    if (!doc || doc.id !== id || !Array.isArray(doc.versions)) throw this.badReply(path, `is not the document of plugin ${id}`);
    return doc;
  }

  async keys(): Promise<PublisherKey[]> {
    const reply = await this.getJson<{ items?: PublisherKey[] }>('/v1/keys');
    if (!reply || !Array.isArray(reply.items)) throw this.badReply('/v1/keys', 'has no items list');
    return reply.items;
  }

  /** Where a version's package is downloaded from (also what the lock file records). */
  packageUrl(id: string, version: string): string {
    return `${this.url}/v1/plugins/${encodeURIComponent(id)}/${encodeURIComponent(version)}/package`;
  }

  /**
   * Downloads a package to `file`, calling `onProgress(received, total)`
   * after each chunk. Refused (and the file removed) when the registry sends
   * more bytes than `expectedSize`, or a size other than it.
   */
  async download(id: string, version: string, file: string, expectedSize: number, onProgress?: (received: number, total: number) => void): Promise<number> {
    const url = this.packageUrl(id, version);
    const idle = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const touch = () => {
      clearTimeout(timer);
      timer = setTimeout(() => idle.abort(new KernelError('DeadlineExceeded', `downloading ${id} ${version} from ${url}: nothing arrived for ${DOWNLOAD_IDLE_MS / 1000}s`)), DOWNLOAD_IDLE_MS);
    };
    touch();
    try {
      const res = await this.fetch(url, idle.signal);
      if (!res.ok) throw await this.replyError(res);
      const declared = Number(res.headers.get('content-length'));
      if (Number.isFinite(declared) && res.headers.get('content-length') !== null && declared !== expectedSize) {
        throw new KernelError('Invalid', `package ${id} ${version}: the registry sends ${declared} bytes but its index says ${expectedSize}; refused`, { code: CLIENT_ERROR_CODES.digestMismatch });
      }
      if (!res.body) throw this.badReply(url, 'has no body');
      let received = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          received += chunk.length;
          touch();
          if (received > expectedSize) {
            done(new KernelError('Invalid', `package ${id} ${version}: the registry sent more than the ${expectedSize} bytes its index says; refused`, { code: CLIENT_ERROR_CODES.digestMismatch }));
            return;
          }
          onProgress?.(received, expectedSize);
          done(null, chunk);
        },
      });
      await pipeline(Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>), counter, createWriteStream(file));
      if (received !== expectedSize) {
        throw new KernelError('Invalid', `package ${id} ${version}: received ${received} bytes but the index says ${expectedSize}; refused`, { code: CLIENT_ERROR_CODES.digestMismatch });
      }
      return received;
    } catch (e) {
      await rm(file, { force: true });
      throw idle.signal.aborted && idle.signal.reason instanceof KernelError ? idle.signal.reason : e;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A publisher's request (publish, yank, deprecate), carrying its token;
   * the JSON reply. Errors as for every other request.
   */
  async send<T>(method: string, path: string, init: { token: string; body: Buffer | string; headers?: Record<string, string> }): Promise<T> {
    const res = await this.fetch(this.url + path, AbortSignal.timeout(REQUEST_TIMEOUT_MS), {
      method, body: init.body, headers: { authorization: `Bearer ${init.token}`, ...init.headers },
    });
    return this.jsonReply<T>(res, path);
  }

  private async getJson<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
    const url = new URL(this.url + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, v);
    return this.jsonReply<T>(await this.fetch(url.toString(), AbortSignal.timeout(REQUEST_TIMEOUT_MS)), path);
  }

  private async jsonReply<T>(res: Response, path: string): Promise<T> {
    if (!res.ok) throw await this.replyError(res);
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw this.badReply(path, 'is not JSON');
    }
  }

  private async fetch(url: string, signal: AbortSignal, init: { method?: string; body?: Buffer | string; headers?: Record<string, string> } = {}): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal, headers: { accept: 'application/json', ...init.headers } });
    } catch (e) {
      if (signal.aborted && signal.reason instanceof KernelError) throw signal.reason;
      if ((e as Error)?.name === 'TimeoutError') {
        throw new KernelError('DeadlineExceeded', `the registry at ${this.url} did not answer within ${REQUEST_TIMEOUT_MS / 1000}s`, { code: CLIENT_ERROR_CODES.unreachable, cause: e });
      }
      const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
      throw new KernelError('Unavailable',
        `cannot reach the registry at ${this.url}: is \`kern registry serve\` running? (--registry or KERN_REGISTRY name another)${cause?.code ? ` [${cause.code}]` : ''}`,
        { code: CLIENT_ERROR_CODES.unreachable, cause: e });
    }
  }

  private async replyError(res: Response): Promise<KernelError> {
    const text = await res.text().catch(() => '');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return statusToError(res.status, body, text);
  }

  private badReply(path: string, what: string): KernelError {
    return new KernelError('Internal', `the registry at ${this.url} sent a reply to ${path} that ${what}; is it a Kern registry?`, { code: CLIENT_ERROR_CODES.badReply });
  }
}
