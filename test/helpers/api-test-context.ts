import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KERNEL_ABI_VERSION, Logger, StoreDriver, StoreWatch } from '@kern/sdk';
import { ApiContext } from '../../kernel/api/api-context';
import { Authenticator } from '../../kernel/auth/authenticator';
import { KernelMetrics } from '../../kernel/metrics/metrics';
import { KindRegistry } from '../../kernel/state/kind-registry';
import { StateService } from '../../kernel/state/state-service';
import { registerStateSyscalls } from '../../kernel/syscalls/state-syscalls';
import { SyscallTable } from '../../kernel/syscalls/syscall-table';
import { SqliteStore } from '../../plugins/store-sqlite/src/sqlite-store';

/** A log line a {@link RecordingLogger} kept. */
export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object | string;
  msg?: string;
}

/** A logger that keeps what it is given, for asserting on logs. */
export class RecordingLogger implements Logger {
  constructor(readonly records: LogRecord[] = [], private readonly bindings: Record<string, unknown> = {}) {}
  debug(obj: object | string, msg?: string): void { this.records.push({ level: 'debug', obj, msg }); }
  info(obj: object | string, msg?: string): void { this.records.push({ level: 'info', obj, msg }); }
  warn(obj: object | string, msg?: string): void { this.records.push({ level: 'warn', obj, msg }); }
  error(obj: object | string, msg?: string): void { this.records.push({ level: 'error', obj, msg }); }
  child(bindings: Record<string, unknown>): Logger { return new RecordingLogger(this.records, { ...this.bindings, ...bindings }); }
}

/** What `ctx.plugins.list()` returns, as far as the API tests care. */
export interface TestPluginInfo {
  id: string;
  name: string;
  version: string;
  description: string;
  state: string;
  provides: { kind: string; name: string }[];
  requires: Record<string, string>;
  syscalls: string[];
  error?: string;
  builtin: boolean;
}

export interface ApiTestContextOptions {
  /** Default 1 MiB. */
  bodyLimitBytes?: number;
  plugins?: TestPluginInfo[];
  /** Default: a SQLite store in the data dir. */
  store?: StoreDriver;
}

/**
 * A store with a count of its open watches, so tests can check that a
 * client going away stops the watch it started.
 */
export interface CountingStore extends StoreDriver {
  readonly openWatches: number;
}

/** Wraps `store` so it counts the watches started and not yet stopped (or failed). */
export function countWatches(store: StoreDriver): CountingStore {
  let open = 0;
  const watch: StoreDriver['watch'] = (options, onEvent, onError) => {
    let live = true;
    const done = () => { if (live) { live = false; open--; } };
    open++;
    const inner: StoreWatch = store.watch(options, onEvent, (err) => { done(); onError?.(err); });
    return { stop: () => { done(); inner.stop(); } };
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'openWatches') return open;
      if (prop === 'watch') return watch;
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as CountingStore;
}

/** A real ApiContext from real parts over a throw-away data dir; `cleanup` removes everything. */
export interface ApiTestContext {
  api: ApiContext;
  store: CountingStore;
  state: StateService;
  kinds: KindRegistry;
  syscalls: SyscallTable;
  auth: Authenticator;
  metrics: KernelMetrics;
  logger: RecordingLogger;
  adminToken: string;
  dataDir: string;
  setReady(ready: boolean): void;
  cleanup(): Promise<void>;
}

export const TEST_PLUGINS: TestPluginInfo[] = [{
  id: 'store-memory', name: '@kern/test-store-memory', version: '0.0.0', description: 'in-memory store for tests',
  state: 'active', provides: [{ kind: 'store', name: 'memory' }], requires: {}, syscalls: [], builtin: true,
}];

export async function createApiTestContext(options: ApiTestContextOptions = {}): Promise<ApiTestContext> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kern-api-test-'));
  const store = countWatches(options.store ?? new SqliteStore({ path: join(dataDir, 'state.db') }));
  const kinds = new KindRegistry();
  const state = new StateService(store, kinds);
  const metrics = new KernelMetrics();
  const syscalls = new SyscallTable(metrics);
  registerStateSyscalls(syscalls, state);
  const auth = new Authenticator(dataDir);
  const logger = new RecordingLogger();
  await store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  let ready = true;
  const plugins = options.plugins ?? TEST_PLUGINS;
  const api: ApiContext = {
    state,
    kinds,
    syscalls,
    plugins: { list: () => plugins } as unknown as ApiContext['plugins'],
    auth,
    metrics,
    logger,
    version: { kern: '0.1.0', abi: KERNEL_ABI_VERSION },
    bodyLimitBytes: options.bodyLimitBytes ?? 1024 * 1024,
    ready: () => ready,
  };
  return {
    api, store, state, kinds, syscalls, auth, metrics, logger, dataDir, adminToken: auth.adminToken,
    setReady: (r) => { ready = r; },
    cleanup: async () => {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------
// HTTP helpers

/**
 * Small fetch-based helpers for talking to a Kern HTTP server in tests:
 * plain requests, and NDJSON watch streams read event by event.
 */

export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface RequestOptions {
  token?: string | null;
  /** An object is sent as JSON; a string as is. */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

export class HttpTestClient {
  constructor(readonly baseUrl: string, readonly token?: string) {}

  withToken(token: string | undefined): HttpTestClient {
    return new HttpTestClient(this.baseUrl, token);
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<TestResponse> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    const token = options.token === undefined ? this.token : options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | Buffer | undefined;
    if (options.body !== undefined) {
      if (typeof options.body === 'string' || Buffer.isBuffer(options.body)) {
        body = options.body;
      } else {
        body = JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
    }
    if (options.contentType) headers['content-type'] = options.contentType;
    const res = await fetch(this.baseUrl + path, { method, headers, body });
    const text = await res.text();
    let json: unknown;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, headers: res.headers, text, json };
  }

  get(path: string, o?: RequestOptions) { return this.request('GET', path, o); }
  post(path: string, body: unknown, o?: RequestOptions) { return this.request('POST', path, { ...o, body }); }
  put(path: string, body: unknown, o?: RequestOptions) { return this.request('PUT', path, { ...o, body }); }
  delete(path: string, o?: RequestOptions) { return this.request('DELETE', path, o); }

  /** Opens a watch stream (GET, or POST with `body`) and reads it event by event. */
  async watch(path: string, options: { method?: string; body?: unknown } = {}): Promise<WatchReader> {
    const controller = new AbortController();
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.baseUrl + path, {
      method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: controller.signal,
    });
    return new WatchReader(res, controller);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TestWatchEvent = { type: string; object: any };

export class WatchReader {
  private buffer = '';
  private readonly reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private readonly decoder = new TextDecoder();
  private done = false;

  constructor(readonly response: Response, private readonly controller: AbortController) {
    this.reader = response.body?.getReader();
  }

  get status(): number {
    return this.response.status;
  }

  /** The next event, or `undefined` once the server ended the stream. Fails after `timeoutMs`. */
  async next(timeoutMs = 5000): Promise<TestWatchEvent | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nl = this.buffer.indexOf('\n');
      if (nl >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (line.trim()) return JSON.parse(line) as TestWatchEvent;
        continue;
      }
      if (this.done || !this.reader) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no watch event within ${timeoutMs} ms`);
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        this.reader.read(),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no watch event within ${timeoutMs} ms`)), left); }),
      ]).finally(() => clearTimeout(timer));
      if (chunk.done) this.done = true;
      else this.buffer += this.decoder.decode(chunk.value, { stream: true });
    }
  }

  /** Reads `n` events. */
  async take(n: number, timeoutMs = 5000): Promise<TestWatchEvent[]> {
    const out: TestWatchEvent[] = [];
    for (let i = 0; i < n; i++) {
      const e = await this.next(timeoutMs);
      if (!e) throw new Error(`the watch ended after ${out.length} of ${n} events`);
      out.push(e);
    }
    return out;
  }

  /** Resolves when the server has ended the stream (events left are dropped). */
  async ended(timeoutMs = 5000): Promise<void> {
    while (await this.next(timeoutMs)) { /* drain */ }
  }

  /** Hangs up, as a client going away. */
  close(): void {
    this.controller.abort();
    this.reader?.cancel().catch(() => undefined);
  }
}
