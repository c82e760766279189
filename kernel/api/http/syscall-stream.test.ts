import { errors } from '@kern/sdk';
import { ApiTestContext, HttpTestClient, createApiTestContext } from '../../../test/helpers/api-test-context';
import { RunningHttpServer, startHttpServer } from './http-server';

/**
 * The streaming routes (pod log, pod exec, streaming syscalls) over fake
 * `compute.logs` / `compute.exec` handlers on the test context's table.
 */

const LOG = '/api/v1/namespaces/demo/pods/web/log';
const EXEC = '/api/v1/namespaces/demo/pods/web/exec';

/** A stream that never ends by itself: one chunk every 10 ms; counts `return()` calls. */
function endless<T>(chunk: (i: number) => T) {
  const state = { returned: 0, served: 0 };
  let stopped = false;
  const iterable: AsyncIterable<T> = {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        if (stopped) return { done: true, value: undefined };
        await new Promise((r) => setTimeout(r, 10));
        return { done: false, value: chunk(state.served++) };
      },
      return: async () => {
        stopped = true;
        state.returned++;
        return { done: true, value: undefined };
      },
    }),
  };
  return { state, iterable };
}

async function* chunksOf<T>(items: T[], then?: Error): AsyncIterable<T> {
  for (const item of items) yield item;
  if (then) throw then;
}

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const ndjson = (text: string) => text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));

describe('streaming routes', () => {
  let t: ApiTestContext;
  let server: RunningHttpServer;
  let client: HttpTestClient;
  let base: string;
  /** Arguments each fake handler was called with. */
  let calls: { name: string; args: unknown; principal: string }[];

  beforeEach(async () => {
    t = await createApiTestContext();
    server = await startHttpServer(t.api, { host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${server.address.port}`;
    client = new HttpTestClient(base, t.adminToken);
    calls = [];
  });

  afterEach(async () => {
    await server.close();
    await t.cleanup();
  });

  function fake(name: 'compute.logs' | 'compute.exec', make: (args: Record<string, unknown>) => AsyncIterable<unknown> | Promise<never>) {
    t.syscalls.registerStream(name, async (args, caller) => {
      calls.push({ name, args, principal: caller.principal });
      return make(args as Record<string, unknown>);
    });
  }

  /** Opens `path`, reads until `enough` says so, then hangs up. */
  async function readThenHangUp(path: string, init: RequestInit, enough: (text: string) => boolean): Promise<{ status: number; text: string }> {
    const controller = new AbortController();
    const res = await fetch(base + path, {
      ...init, signal: controller.signal, headers: { authorization: `Bearer ${t.adminToken}`, ...(init.headers ?? {}) },
    });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!enough(text)) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    controller.abort();
    await reader.cancel().catch(() => undefined);
    return { status: res.status, text };
  }

  describe('GET .../pods/{name}/log', () => {
    it.each([
      ['no query', '', { namespace: 'demo', name: 'web', follow: false, previous: false }],
      ['every kubectl parameter', '?container=side&follow=true&tailLines=5&previous=true',
        { namespace: 'demo', name: 'web', container: 'side', follow: true, previous: true, tail: 5 }],
      ['flags as 1 and tail 0', '?follow=1&tailLines=0', { namespace: 'demo', name: 'web', follow: true, previous: false, tail: 0 }],
    ])('maps %s to compute.logs arguments and streams the text', async (_what, query, args) => {
      fake('compute.logs', () => chunksOf([{ data: 'hello\n' }, { data: 'world\n' }]));
      const res = await client.get(LOG + query);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(res.text).toBe('hello\nworld\n');
      expect(calls).toEqual([{ name: 'compute.logs', args, principal: 'user:admin' }]);
    });

    it.each(['-1', 'ten', '1.5'])('refuses tailLines=%s naming the field', async (tail) => {
      fake('compute.logs', () => chunksOf([]));
      const res = await client.get(`${LOG}?tailLines=${tail}`);
      expect(res.status).toBe(422);
      expect(res.json).toEqual(expect.objectContaining({ kind: 'Status', reason: 'Invalid', field: 'tailLines' }));
      expect(calls).toEqual([]);
    });

    it('ends the text where the stream fails after it started', async () => {
      fake('compute.logs', () => chunksOf([{ data: 'partial\n' }], errors.unavailable('the container went away')));
      const res = await client.get(LOG);
      expect([res.status, res.text]).toEqual([200, 'partial\n']);
    });

    it('stops the syscall through return() when the client hangs up', async () => {
      const { state, iterable } = endless((i) => ({ data: `line ${i}\n` }));
      fake('compute.logs', () => iterable);
      const res = await readThenHangUp(`${LOG}?follow=true`, {}, (text) => text.includes('line 2\n'));
      expect(res.status).toBe(200);
      expect(res.text).toMatch(/^line 0\nline 1\nline 2\n/);
      await waitFor(() => state.returned === 1);
    });
  });

  describe('POST .../pods/{name}/exec', () => {
    it('passes command, container and stdin, and streams the frames as NDJSON', async () => {
      fake('compute.exec', () => chunksOf([{ stream: 'stdout', data: b64('out') }, { stream: 'stderr', data: b64('err') }, { exitCode: 7 }]));
      const res = await client.post(EXEC, { command: ['sh', '-c', 'cat'], container: 'main', stdin: b64('in'), name: 'ignored', namespace: 'ignored' });
      expect(res.status).toBe(200);
      expect(ndjson(res.text)).toEqual([{ stream: 'stdout', data: b64('out') }, { stream: 'stderr', data: b64('err') }, { exitCode: 7 }]);
      // The path names the pod, whatever the body says.
      expect(calls[0].args).toEqual({ command: ['sh', '-c', 'cat'], container: 'main', stdin: b64('in'), namespace: 'demo', name: 'web' });
    });

    it('refuses a body that is not an object before starting anything', async () => {
      fake('compute.exec', () => chunksOf([]));
      const res = await client.post(EXEC, '["ls"]', { contentType: 'application/json' });
      expect(res.status).toBe(400);
      expect(res.json).toEqual(expect.objectContaining({ kind: 'Status', reason: 'BadRequest' }));
      expect(calls).toEqual([]);
    });

    it('sends an ERROR line when the stream fails after it started', async () => {
      fake('compute.exec', () => chunksOf([{ stream: 'stdout', data: b64('x') }], errors.unavailable('the container went away')));
      const res = await client.post(EXEC, { command: ['ls'] });
      expect(res.status).toBe(200);
      const lines = ndjson(res.text);
      expect(lines[0]).toEqual({ stream: 'stdout', data: b64('x') });
      expect(lines[1]).toEqual({ type: 'ERROR', object: expect.objectContaining({ kind: 'Status', code: 503, message: 'the container went away' }) });
    });

    it('stops the syscall through return() when the client hangs up', async () => {
      const { state, iterable } = endless((i) => ({ stream: 'stdout', data: b64(`${i}\n`) }));
      fake('compute.exec', () => iterable);
      await readThenHangUp(EXEC, { method: 'POST', body: JSON.stringify({ command: ['yes'] }), headers: { 'content-type': 'application/json' } },
        (text) => text.split('\n').length > 3);
      await waitFor(() => state.returned === 1);
    });
  });

  describe('POST /v1/syscalls/{streaming syscall}', () => {
    it('streams the chunks as NDJSON', async () => {
      fake('compute.logs', () => chunksOf([{ data: 'a\n' }, { data: 'b\n' }]));
      const res = await client.post('/v1/syscalls/compute.logs', { namespace: 'demo', name: 'web', tail: 2 });
      expect(res.status).toBe(200);
      expect(ndjson(res.text)).toEqual([{ data: 'a\n' }, { data: 'b\n' }]);
      expect(calls[0].args).toEqual({ namespace: 'demo', name: 'web', tail: 2 });
    });

    it('stops the syscall through return() when the client hangs up', async () => {
      const { state, iterable } = endless((i) => ({ data: `${i}\n` }));
      fake('compute.logs', () => iterable);
      await readThenHangUp('/v1/syscalls/compute.logs', { method: 'POST', body: '{"name":"web","follow":true}', headers: { 'content-type': 'application/json' } },
        (text) => text.split('\n').length > 3);
      await waitFor(() => state.returned === 1);
    });
  });

  describe('errors before the stream starts are Status replies', () => {
    const routes: [string, string, unknown][] = [
      ['the log route', LOG, undefined],
      ['the exec route', EXEC, { command: ['ls'] }],
      ['the syscall route', '/v1/syscalls/compute.logs', { name: 'web' }],
    ];

    it.each(routes)('404 for a missing pod on %s', async (_what, path, body) => {
      const refuse = () => Promise.reject(errors.notFound('pod "demo/web"'));
      fake('compute.logs', refuse);
      fake('compute.exec', refuse);
      const res = body === undefined ? await client.get(path) : await client.post(path, body);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.json).toEqual(expect.objectContaining({ kind: 'Status', reason: 'NotFound', code: 404, message: 'pod "demo/web" not found' }));
    });

    it.each(routes)('503 naming the missing node agent on %s', async (_what, path, body) => {
      const res = body === undefined ? await client.get(path) : await client.post(path, body);
      expect(res.status).toBe(503);
      expect(res.json.message).toMatch(/needs a node agent/);
    });

    it.each(routes)('401 without a token on %s', async (_what, path, body) => {
      fake('compute.logs', () => chunksOf([{ data: 'secret\n' }]));
      fake('compute.exec', () => chunksOf([{ exitCode: 0 }]));
      const res = body === undefined ? await client.get(path, { token: null }) : await client.post(path, body, { token: null });
      expect(res.status).toBe(401);
      expect(calls).toEqual([]);
    });

    it.each(routes)('403 for a principal without compute.* on %s', async (_what, path, body) => {
      fake('compute.logs', () => chunksOf([{ data: 'secret\n' }]));
      fake('compute.exec', () => chunksOf([{ exitCode: 0 }]));
      const reader = client.withToken(t.auth.issue({ name: 'user:reader', allowed: ['state.*'] }));
      const res = body === undefined ? await reader.get(path) : await reader.post(path, body);
      expect(res.status).toBe(403);
      expect(calls).toEqual([]);
    });
  });
});
