import * as http from 'node:http';
import * as https from 'node:https';
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

/** A running watch: `done` settles when the stream ends, fails or is stopped. */
export interface WatchHandle {
  stop(): void;
  done: Promise<void>;
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

  get server(): string {
    return this.config.server;
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
    let req: http.ClientRequest | undefined;
    let stopped = false;
    const done = new Promise<void>((resolve, reject) => {
      this.send('GET', path, undefined, { query: { ...query, watch: 'true' }, timeoutMs: 0 }, (r) => { req = r; })
        .then(async (res) => {
          if ((res.statusCode ?? 0) >= 400) {
            const text = await readAll(res);
            throw statusToError(res.statusCode ?? 0, tryJson(text), text);
          }
          res.setEncoding('utf8');
          let buffer = '';
          const flush = (final: boolean) => {
            const lines = buffer.split('\n');
            buffer = final ? '' : lines.pop() ?? '';
            for (const line of lines) {
              if (line.trim() === '') continue;
              const event = tryJson(line) as WatchEvent | undefined;
              if (!event || typeof event.type !== 'string') {
                throw new KernelError('Internal', `watch sent a line that is not an event: ${line.slice(0, 120)}`, { code: CLI_ERROR_CODES.badReply });
              }
              onEvent(event);
            }
          };
          await new Promise<void>((res2, rej2) => {
            res.on('data', (chunk: string) => {
              buffer += chunk;
              try { flush(false); } catch (e) { rej2(e); res.destroy(); }
            });
            res.on('end', () => { try { flush(true); res2(); } catch (e) { rej2(e); } });
            res.on('error', rej2);
            res.on('aborted', () => rej2(Object.assign(new Error('watch connection was cut'), { code: 'ECONNRESET' })));
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
    const url = this.url(path, options.query);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    if (this.config.token && !options.anonymous) headers.authorization = `Bearer ${this.config.token}`;
    const timeoutMs = options.timeoutMs ?? 60_000;
    return new Promise((resolve, reject) => {
      const req = this.transport.request(url, { method, headers, agent: this.agent }, resolve);
      onRequest?.(req);
      req.on('error', (e) => reject(this.wrapSocketError(e)));
      if (timeoutMs > 0) {
        req.setTimeout(timeoutMs, () => {
          req.destroy(new KernelError('DeadlineExceeded', `${method} ${url.pathname} got no answer from ${this.server} within ${timeoutMs / 1000}s`));
        });
      }
      req.end(payload);
    });
  }

  private wrapSocketError(e: unknown): unknown {
    return isConnectionError(e) ? unreachable(this.server, e) : e;
  }
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
