import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiTestContext, ApiTestContext } from '../../../test/helpers/api-test-context';
import { startHttpServer } from './http-server';
import { silentLogger } from '@kern/sdk';
import { MAX_SOCKET_PATH_BYTES } from '../../config/socket-path';
import { listenUnixSocket } from './unix-listener';

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'kern-sock-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A GET over the Unix socket at `path`. */
function getOver(path: string, url: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: path, path: url, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('listenUnixSocket', () => {
  it('listens with mode 0600 and removes the file when closed', async () => {
    const path = join(dir, 'kern.sock');
    const listener = await listenUnixSocket(path, (s) => s.end('hi'), silentLogger);
    expect(statSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await listener.close();
    expect(existsSync(path)).toBe(false);
  });

  it('replaces a socket file a dead server left behind', async () => {
    const path = join(dir, 'kern.sock');
    // What a SIGKILLed kernel leaves: the file, with nobody listening.
    const child = spawn(process.execPath, ['-e', "require('net').createServer().listen(process.argv[1], () => console.log('up'))", path]);
    await new Promise((r) => child.stdout.once('data', r));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(statSync(path).isSocket()).toBe(true);
    const listener = await listenUnixSocket(path, (s) => s.end('new'), silentLogger);
    const reply = await new Promise<string>((r) => connect(path).once('data', (d) => r(String(d))));
    expect(reply).toBe('new');
    await listener.close();
  });

  it('refuses a socket a running server answers on, and leaves it alone', async () => {
    const path = join(dir, 'kern.sock');
    const live = await listenUnixSocket(path, (s) => s.end(), silentLogger);
    await expect(listenUnixSocket(path, (s) => s.end(), silentLogger)).rejects.toMatchObject({ kind: 'Unavailable', message: expect.stringContaining('in use by a running server') });
    expect(statSync(path).isSocket()).toBe(true);
    await live.close();
  });

  it('refuses a path that is not a socket, naming the setting', async () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'keep me');
    await expect(listenUnixSocket(path, (s) => s.end(), silentLogger)).rejects.toMatchObject({ kind: 'Invalid', field: 'http.socket' });
    expect(statSync(path).isFile()).toBe(true);
  });

  it('refuses a path too long for a socket', async () => {
    const path = join(dir, 'x'.repeat(MAX_SOCKET_PATH_BYTES));
    await expect(listenUnixSocket(path, (s) => s.end(), silentLogger)).rejects.toMatchObject({ kind: 'Invalid', field: 'http.socket' });
  });
});

describe('the HTTP API on its Unix socket', () => {
  let t: ApiTestContext;
  beforeEach(async () => { t = await createApiTestContext(); });
  afterEach(async () => { await t.cleanup(); });

  it('serves the same API, with the same token rules, and closes with the server', async () => {
    const path = join(dir, 'kern.sock');
    const server = await startHttpServer(t.api, { host: '127.0.0.1', port: 0, socket: path });
    expect(server.socket).toBe(path);
    expect(await getOver(path, '/healthz')).toEqual({ status: 200, body: 'ok' });
    expect((await getOver(path, '/api/v1/namespaces')).status).toBe(401);
    const listed = await getOver(path, '/api/v1/namespaces', t.adminToken);
    expect(listed.status).toBe(200);
    expect(JSON.parse(listed.body).kind).toBe('NamespaceList');
    await server.close();
    expect(existsSync(path)).toBe(false);
  });

  it('closes promptly with an idle keep-alive connection and an open watch on the socket', async () => {
    const path = join(dir, 'kern.sock');
    const server = await startHttpServer(t.api, { host: '127.0.0.1', port: 0, socket: path });
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      request({ socketPath: path, path: '/healthz', agent }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject).end();
    });
    let watchStarted: () => void = () => undefined;
    const started = new Promise<void>((r) => { watchStarted = r; });
    const watchEnded = new Promise<void>((resolve, reject) => {
      request({ socketPath: path, path: '/api/v1/namespaces?watch=true', headers: { authorization: `Bearer ${t.adminToken}` } }, (res) => {
        watchStarted();
        res.resume();
        res.on('end', resolve);
        res.on('error', resolve);
      }).on('error', reject).end();
    });
    await started;
    const forced = jest.spyOn(server.server, 'closeAllConnections');
    await server.close();
    await watchEnded;
    // Both were ended at once, not by the forced close after the 1 s grace.
    expect(forced).not.toHaveBeenCalled();
    agent.destroy();
  });

  it('ends a request still in flight on the socket after the grace, as over TCP', async () => {
    const path = join(dir, 'kern.sock');
    const server = await startHttpServer(t.api, { host: '127.0.0.1', port: 0, socket: path });
    // A body that never completes: the request stays in flight, and no watch tracks it.
    const arrived = new Promise((r) => server.server.once('request', r));
    const req = request({ socketPath: path, method: 'POST', path: '/api/v1/namespaces', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json', 'content-length': '1000' } });
    const ended = new Promise<void>((resolve) => { req.on('error', () => resolve()); req.on('response', (res) => { res.resume(); res.on('end', resolve); res.on('error', resolve); }); });
    req.write('{"apiVersion":');
    await arrived;
    const forced = jest.spyOn(server.server, 'closeAllConnections');
    await server.close();
    await ended;
    expect(forced).toHaveBeenCalled(); // the grace ran out: the forced close reached the socket's connection
    expect(existsSync(path)).toBe(false);
  });

  it('refuses to start on a socket another server answers on, leaving it to that server', async () => {
    const path = join(dir, 'kern.sock');
    const first = await startHttpServer(t.api, { host: '127.0.0.1', port: 0, socket: path });
    await expect(startHttpServer(t.api, { host: '127.0.0.1', port: 0, socket: path }))
      .rejects.toMatchObject({ kind: 'Unavailable', message: expect.stringContaining('choose another --socket') });
    expect((await getOver(path, '/healthz')).status).toBe(200);
    await first.close();
  });

  it('does not start when its socket path is taken by a file, naming the setting', async () => {
    const path = join(dir, 'kern.sock');
    writeFileSync(path, 'not a socket');
    await expect(startHttpServer(t.api, { host: '127.0.0.1', port: 0, socket: path })).rejects.toMatchObject({ field: 'http.socket' });
  });
});
