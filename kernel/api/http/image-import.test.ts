import { request } from 'node:http';
import { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import Koa from 'koa';
import { errors } from '@kern/sdk';
import { ApiTestContext, HttpTestClient, createApiTestContext } from '../../../test/helpers/api-test-context';
import { RunningHttpServer, startHttpServer } from './http-server';
import { importImage, validateImageName, withDefaultTag } from './image-import';
import { sendJson } from './resource-api';
import { toWireError } from './status';

/** What a fake runtime received: the name, the bytes, or the error its stream ended with. */
interface Received { name: string; bytes: Buffer; error?: Error }

function recordingImages(received: Received[], fail?: Error) {
  return {
    import: async (name: string, tar: Readable) => {
      const r: Received = { name, bytes: Buffer.alloc(0) };
      received.push(r);
      if (fail) throw fail;
      const chunks: Buffer[] = [];
      try {
        for await (const c of tar) chunks.push(c as Buffer);
      } catch (e) {
        r.error = e as Error;
        throw errors.unavailable(`import failed: ${(e as Error).message}`);
      } finally {
        r.bytes = Buffer.concat(chunks);
      }
    },
  };
}

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('validateImageName', () => {
  it.each(['app', 'my-team/app:1.0', 'kern/busybox:1', 'localhost:5000/a/b:latest', 'registry.example.com/x_y/z'])('accepts %s', (name) => {
    expect(validateImageName(name)).toBe(name);
  });

  it.each(['App', 'a b', '-app', 'app:', 'app:-x', 'a//b', 'app@sha256:abc'])('refuses %s naming the field', (name) => {
    expect(() => validateImageName(name)).toThrow(expect.objectContaining({ kind: 'Invalid', field: 'name' }));
  });

  it.each([['app', 'app:latest'], ['a/b:2', 'a/b:2'], ['localhost:5000/app', 'localhost:5000/app:latest']])('%s is %s', (name, full) => {
    expect(withDefaultTag(name)).toBe(full);
  });
});

describe('POST /v1/images/import', () => {
  let t: ApiTestContext;
  let server: RunningHttpServer;
  let client: HttpTestClient;
  let received: Received[];

  beforeEach(async () => {
    t = await createApiTestContext({ bodyLimitBytes: 64 * 1024 });
    server = await startHttpServer(t.api, { host: '127.0.0.1', port: 0 });
    client = new HttpTestClient(`http://127.0.0.1:${server.address.port}`, t.adminToken);
    received = [];
    t.api.images = recordingImages(received);
  });

  afterEach(async () => {
    await server.close();
    await t.cleanup();
  });

  it('streams the body to the runtime, past the JSON body limit', async () => {
    const tar = Buffer.alloc(1024 * 1024, 7);
    const res = await client.post('/v1/images/import?name=my/app', tar, { contentType: 'application/x-tar' });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ image: 'my/app:latest', bytes: tar.length });
    expect(received).toHaveLength(1);
    expect(received[0].name).toBe('my/app');
    expect(received[0].bytes.equals(tar)).toBe(true);
  });

  it.each([
    ['no name', '/v1/images/import', 'application/x-tar', 400, 'BadRequest', 'name'],
    ['a bad name', '/v1/images/import?name=Bad%20Name', 'application/x-tar', 422, 'Invalid', 'name'],
    ['a JSON body', '/v1/images/import?name=app', 'application/json', 415, 'UnsupportedMediaType', 'Content-Type'],
  ])('refuses %s before the runtime sees anything', async (_what, path, contentType, code, reason, field) => {
    const res = await client.post(path, Buffer.from('x'), { contentType });
    expect(res.status).toBe(code);
    expect(res.json).toEqual(expect.objectContaining({ kind: 'Status', reason, field }));
    expect(received).toEqual([]);
  });

  it('needs a token', async () => {
    expect((await client.post('/v1/images/import?name=app', Buffer.from('x'), { token: null })).status).toBe(401);
    expect(received).toEqual([]);
  });

  it('answers 503 naming why when the kernel has nothing to import into', async () => {
    delete t.api.images;
    const res = await client.post('/v1/images/import?name=app', Buffer.from('x'), { contentType: 'application/x-tar' });
    expect(res.status).toBe(503);
    expect(res.json.message).toMatch(/no container runtime to import images into/);
  });

  it('passes on the runtime\'s refusal', async () => {
    t.api.images = recordingImages(received, errors.invalid('tarball', 'not a root filesystem tar archive'));
    const res = await client.post('/v1/images/import?name=app', Buffer.from('not a tar'), { contentType: 'application/x-tar' });
    expect(res.status).toBe(422);
    expect(res.json).toEqual(expect.objectContaining({ field: 'tarball', message: 'tarball: not a root filesystem tar archive' }));
  });

  it('refuses a declared size over the limit without reading the body', async () => {
    const { port } = server.address;
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1', port, method: 'POST', path: '/v1/images/import?name=app',
        headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/x-tar', 'content-length': String(3 * 1024 ** 3) },
      }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.write(Buffer.alloc(1024));
    });
    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.body)).toEqual(expect.objectContaining({ reason: 'RequestEntityTooLarge', kernCode: 'KERN_ERR_API_IMAGE_TOO_LARGE' }));
    expect(received).toEqual([]);
  });

  it('fails the runtime\'s stream when the client stops sending midway', async () => {
    const { port } = server.address;
    const req = request({
      host: '127.0.0.1', port, method: 'POST', path: '/v1/images/import?name=app',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/x-tar', 'content-length': String(1024 * 1024) },
    });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(64 * 1024));
    await waitFor(() => received.length === 1 && received[0].bytes !== undefined);
    await new Promise((r) => setTimeout(r, 50));
    req.destroy();
    await waitFor(() => received[0].error !== undefined);
    expect(received[0].error?.message).toMatch(/stopped sending the tarball/);
  });
});

describe('importImage with a small limit', () => {
  it('fails the stream with 413 once the body passes the limit', async () => {
    const t = await createApiTestContext();
    const received: Received[] = [];
    t.api.images = recordingImages(received);
    const app = new Koa();
    app.use(async (c, next) => {
      try { await next(); } catch (e) { const wire = toWireError(e, t.logger); sendJson(c, wire.http, wire.status); }
    });
    app.use((c) => importImage(c, t.api, 1000));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const res = await fetch(`http://127.0.0.1:${port}/?name=app`, {
        method: 'POST', body: Readable.toWeb(Readable.from([Buffer.alloc(600), Buffer.alloc(600)])) as ReadableStream, duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(413);
      expect(received[0].error?.message).toMatch(/larger than the import limit of 1000 bytes/);
    } finally {
      server.closeAllConnections();
      server.close();
      await t.cleanup();
    }
  });
});
