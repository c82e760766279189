import * as http from 'node:http';
import * as https from 'node:https';
import { Readable, Transform } from 'node:stream';
import { KernelError, SyscallArgs, SyscallName, SyscallResult, WatchEvent } from '@kern/sdk';
import { CLI_ERROR_CODES, isConnectionError, statusToError, unreachable } from './cli-error';
import { ClientConfig } from './client-config';

export interface RequestOptions {
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | undefined>;
  /** Give up after this long. Default: 60 s. */
  timeoutMs?: number;
  /** Leave out the Authorization header (healthz, version). */
  anonymous?: boolean;
}

/** A running watch or stream: `done` settles when the stream ends, fails or is stopped. */
export interface WatchHandle {
  stop(): void;
  done: Promise<void>;
}

export type StreamHandle = WatchHandle;

export interface UploadOptions extends RequestOptions {
  contentType: string;
  /** Sent as Content-Length when known; otherwise the body goes chunked. */
  contentLength?: number;
  /** Called with the bytes sent so far, after each chunk. */
  onProgress?(sent: number): void;
}

/** A request body: JSON bytes, or a stream (uploads). */
interface Payload {
  data: Buffer | Readable;
  contentType: string;
  length?: number;
}

/**
 * The CLI's HTTP client: one keep-alive agent, bearer auth, JSON in and out,
 * Status replies turned into KernelErrors naming the field.
 */
export class KernClient {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;

  constructor(readonly config: ClientConfig) {
    this.base = new URL(config.server);
    this.transport = this.base.protocol === 'https:' ? https : http;
    this.agent = new this.transport.Agent({ keepAlive: true });
  }

  /** Where requests go, as error messages name it. */
  get server(): string {
    return this.config.socketPath ? `${this.config.server} (over ${this.config.socketPath})` : this.config.server;
  }

  async request<T = unknown>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, body, options);
    const text = await readAll(res);
    if ((res.statusCode ?? 0) >= 400) throw statusToError(res.statusCode ?? 0, tryJson(text), text);
    if (text.trim() === '') return undefined as T;
    const parsed = tryJson(text);
    if (parsed === undefined) {
      throw new KernelError('Internal', `server sent a reply that is not JSON for ${method} ${path}`, { code: CLI_ERROR_CODES.badReply });
    }
    return parsed as T;
  }

  get<T = unknown>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>('GET', path, undefined, options);
  }

  /** `POST /v1/syscalls/{name}`. */
  syscall<N extends SyscallName>(name: N, args: SyscallArgs<N>): Promise<SyscallResult<N>> {
    return this.request<SyscallResult<N>>('POST', `/v1/syscalls/${encodeURIComponent(name)}`, args);
  }

  /**
   * Streams newline-delimited `{type, object}` events from `path` with
   * `watch=true`. `done` rejects on an error reply or a broken connection and
   * resolves when the server ends the stream or `stop()` is called.
   */
  watch(path: string, query: Record<string, string | undefined>, onEvent: (e: WatchEvent) => void): WatchHandle {
    return this.streamLines('GET', path, undefined, { query: { ...query, watch: 'true' } }, (value, line) => {
      const event = value as WatchEvent | undefined;
      if (!event || typeof event.type !== 'string') {
        throw new KernelError('Internal', `watch sent a line that is not an event: ${line.slice(0, 120)}`, { code: CLI_ERROR_CODES.badReply });
      }
      onEvent(event);
    });
  }

  /**
   * Streams the reply to `method path` as text, chunk by chunk as it comes
   * (the pod log). An error reply rejects `done` before any text; a
   * connection cut midway rejects it too; `stop()` resolves it. A callback
   * that throws ends the stream with that error. No timeout unless given.
   */
  streamText(method: string, path: string, body: unknown, options: RequestOptions, onText: (text: string) => void): StreamHandle {
    const payload = jsonPayload(body);
    let req: http.ClientRequest | undefined;
    let stopped = false;
    const done = new Promise<void>((resolve, reject) => {
      this.open(method, path, payload, { ...options, timeoutMs: options.timeoutMs ?? 0 }, (r) => { req = r; })
        .then(async (res) => {
          if ((res.statusCode ?? 0) >= 400) {
            const text = await readAll(res);
            throw statusToError(res.statusCode ?? 0, tryJson(text), text);
          }
          res.setEncoding('utf8');
          await new Promise<void>((ok, fail) => {
            res.on('data', (chunk: string) => {
              try { onText(chunk); } catch (e) { fail(e); res.destroy(); }
            });
            res.on('end', ok);
            res.on('error', fail);
            res.on('aborted', () => fail(Object.assign(new Error(`${method} ${path}: the connection was cut`), { code: 'ECONNRESET' })));
          });
        })
        .then(resolve, (e) => (stopped ? resolve() : reject(this.wrapSocketError(e))));
    });
    return {
      stop: () => {
        stopped = true;
        req?.destroy();
      },
      done,
    };
  }

  /**
   * Streams a newline-delimited JSON reply (watch events, exec frames,
   * streaming syscalls), one parsed value per line; otherwise as
   * {@link streamText}. A line that is not JSON fails the stream.
   */
  streamLines(
    method: string, path: string, body: unknown, options: RequestOptions, onValue: (value: unknown, line: string) => void,
  ): StreamHandle {
    let buffer = '';
    const flush = (final: boolean) => {
      const lines = buffer.split('\n');
      buffer = final ? '' : lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        const value = tryJson(line);
        if (value === undefined) {
          throw new KernelError('Internal', `${path} sent a line that is not JSON: ${line.slice(0, 120)}`, { code: CLI_ERROR_CODES.badReply });
        }
        onValue(value, line);
      }
    };
    let stopped = false;
    const handle = this.streamText(method, path, body, options, (text) => {
      buffer += text;
      flush(false);
    });
    return {
      stop: () => {
        stopped = true;
        handle.stop();
      },
      // A line cut off by stop() is dropped; one the server ended with is read.
      done: handle.done.then(() => { if (!stopped) flush(true); }),
    };
  }

  /**
   * Sends `source` as the raw request body (`kern image import`) and
   * returns the JSON reply. When the server refuses before reading it all,
   * the rest is not sent. No timeout unless given: big uploads take long.
   */
  async upload<T = unknown>(path: string, source: Readable, options: UploadOptions): Promise<T> {
    let sent = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        sent += chunk.length;
        options.onProgress?.(sent);
        callback(null, chunk);
      },
    });
    source.on('error', (e) => counted.destroy(e));
    source.pipe(counted);
    let req: http.ClientRequest | undefined;
    let res: http.IncomingMessage;
    try {
      res = await this.open('POST', path, { data: counted, contentType: options.contentType, length: options.contentLength }, {
        ...options, timeoutMs: options.timeoutMs ?? 0,
      }, (r) => { req = r; });
    } catch (e) {
      source.destroy();
      throw e;
    }
    const cutShort = !source.readableEnded;
    if (cutShort) {
      // Answered before the whole body went out (a refusal): stop sending.
      source.unpipe(counted);
      source.destroy();
    }
    const text = await readAll(res);
    if (cutShort) req?.destroy();
    if ((res.statusCode ?? 0) >= 400) throw statusToError(res.statusCode ?? 0, tryJson(text), text);
    const parsed = text.trim() === '' ? undefined : tryJson(text);
    if (text.trim() !== '' && parsed === undefined) {
      throw new KernelError('Internal', `server sent a reply that is not JSON for POST ${path}`, { code: CLI_ERROR_CODES.badReply });
    }
    return parsed as T;
  }

  /** Closes idle keep-alive sockets so the process can exit at once. */
  close(): void {
    this.agent.destroy();
  }

  private url(path: string, query?: Record<string, string | undefined>): URL {
    const basePath = this.base.pathname.replace(/\/+$/, '');
    const url = new URL(basePath + path, this.base);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    return url;
  }

  private send(
    method: string,
    path: string,
    body: unknown,
    options: RequestOptions,
    onRequest?: (req: http.ClientRequest) => void,
  ): Promise<http.IncomingMessage> {
    return this.open(method, path, jsonPayload(body), options, onRequest);
  }

  private open(
    method: string,
    path: string,
    payload: Payload | undefined,
    options: RequestOptions,
    onRequest?: (req: http.ClientRequest) => void,
  ): Promise<http.IncomingMessage> {
    const url = this.url(path, options.query);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = payload.contentType;
      if (payload.length !== undefined) headers['content-length'] = String(payload.length);
    }
    if (this.config.token && !options.anonymous) headers.authorization = `Bearer ${this.config.token}`;
    const timeoutMs = options.timeoutMs ?? 60_000;
    return new Promise((resolve, reject) => {
      const req = this.transport.request(url, { method, headers, agent: this.agent, socketPath: this.config.socketPath }, resolve);
      onRequest?.(req);
      req.on('error', (e) => reject(this.wrapSocketError(e)));
      if (timeoutMs > 0) {
        req.setTimeout(timeoutMs, () => {
          req.destroy(new KernelError('DeadlineExceeded', `${method} ${url.pathname} got no answer from ${this.server} within ${timeoutMs / 1000}s`));
        });
      }
      const data = payload?.data;
      if (data instanceof Readable) {
        data.on('error', (e) => req.destroy(e));
        data.pipe(req);
      } else {
        req.end(data);
      }
    });
  }

  private wrapSocketError(e: unknown): unknown {
    return isConnectionError(e) ? unreachable(this.server, e) : e;
  }
}

function jsonPayload(body: unknown): Payload | undefined {
  if (body === undefined) return undefined;
  const data = Buffer.from(JSON.stringify(body));
  return { data, contentType: 'application/json', length: data.length };
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
