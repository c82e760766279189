import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeepAliveConnection, postHead } from './keep-alive-connection';

/** A server on loopback, closed after each test. */
async function listen(server: net.Server, where: number | string = 0): Promise<net.AddressInfo | string> {
  await new Promise<void>((ok) => server.listen(where, typeof where === 'number' ? '127.0.0.1' : undefined, ok));
  return server.address()!;
}

describe('KeepAliveConnection', () => {
  const servers: net.Server[] = [];
  const connections: KeepAliveConnection[] = [];
  afterEach(async () => {
    connections.splice(0).forEach((c) => c.close());
    await Promise.all(servers.splice(0).map((s) => new Promise((ok) => { s.close(ok); (s as http.Server).closeAllConnections?.(); })));
  });

  const connect = (port: number, head = postHead('/things', { authorization: 'Bearer t' })) => {
    const c = new KeepAliveConnection({ host: '127.0.0.1', port }, head);
    connections.push(c);
    return c;
  };

  it('sends requests one after another on one connection to a node:http server', async () => {
    const seen: { path?: string; auth?: string; body: string; socket: net.Socket }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        seen.push({ path: req.url, auth: req.headers.authorization, body, socket: req.socket });
        const reply = JSON.stringify({ echo: body });
        res.writeHead(seen.length === 2 ? 409 : 201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) });
        res.end(reply);
      });
    });
    servers.push(server);
    const { port } = (await listen(server)) as net.AddressInfo;
    const c = connect(port);

    const first = await c.send('{"a":"é"}');
    const second = await c.send('{"b":2}');
    expect(first.status).toBe(201);
    expect(JSON.parse(first.body.toString())).toEqual({ echo: '{"a":"é"}' });
    expect(second.status).toBe(409);
    expect(seen.map((s) => [s.path, s.auth, s.body])).toEqual([['/things', 'Bearer t', '{"a":"é"}'], ['/things', 'Bearer t', '{"b":2}']]);
    expect(seen[0].socket).toBe(seen[1].socket); // kept alive
  });

  it('puts together a reply that arrives in pieces', async () => {
    const server = net.createServer((s) => {
      s.once('data', () => {
        const reply = 'HTTP/1.1 201 Created\r\nContent-Length: 11\r\n\r\nhello world';
        // Head split inside "\r\n\r\n", body split too.
        const cuts = [10, 40, 43, 50];
        let from = 0;
        cuts.forEach((to, k) => setTimeout(() => { s.write(reply.slice(from, to)); from = to; }, k * 20));
        setTimeout(() => s.write(reply.slice(from)), cuts.length * 20);
      });
    });
    servers.push(server);
    const { port } = (await listen(server)) as net.AddressInfo;
    const reply = await connect(port).send('{}');
    expect(reply.status).toBe(201);
    expect(reply.body.toString()).toBe('hello world');
  });

  it('refuses a chunked reply instead of guessing where it ends', async () => {
    const server = net.createServer((s) => s.once('data', () => s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n')));
    servers.push(server);
    const { port } = (await listen(server)) as net.AddressInfo;
    const c = connect(port);
    await expect(c.send('{}')).rejects.toThrow('a reply without a plain Content-Length: HTTP/1.1 200 OK');
    await expect(c.send('{}')).rejects.toThrow('Content-Length'); // the connection stays failed
  });

  it('fails the request in flight when the server closes the connection', async () => {
    const server = net.createServer((s) => s.once('data', () => s.end()));
    servers.push(server);
    const { port } = (await listen(server)) as net.AddressInfo;
    await expect(connect(port).send('{}')).rejects.toThrow('the server closed the connection');
  });

  it('allows one request in flight at a time', async () => {
    const server = net.createServer(() => undefined);
    servers.push(server);
    const { port } = (await listen(server)) as net.AddressInfo;
    const c = connect(port);
    const first = c.send('{}');
    await expect(c.send('{}')).rejects.toThrow('already in flight');
    c.close();
    await expect(first).rejects.toThrow('closed');
  });

  it('connects over a Unix socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kern-keepalive-'));
    try {
      const server = http.createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(201, { 'content-length': 2 }); res.end('ok'); }); });
      servers.push(server);
      const socketPath = join(dir, 's.sock');
      await listen(server, socketPath);
      const c = new KeepAliveConnection({ socketPath }, postHead('/x', {}));
      connections.push(c);
      const reply = await c.send('{}');
      expect([reply.status, reply.body.toString()]).toEqual([201, 'ok']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
