import { AddressInfo } from 'node:net';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CORE_KINDS, KernObject, WatchEvent } from '@kern/sdk';
import { createProgram } from './program';
import { KernClient } from './kern-client';

/**
 * A stand-in for the Kern HTTP API, just big enough to drive the commands:
 * state.kinds, state.apply (with one validation rule), get, list, delete,
 * watch, /v1/plugins and /version, all behind a bearer token.
 */
class FakeKern {
  readonly objects = new Map<string, KernObject>();
  readonly requests: string[] = [];
  private revision = 10;
  private server!: Server;
  private watchers: ((e: WatchEvent) => void)[] = [];
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  put(obj: KernObject): KernObject {
    const key = `${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const type = this.objects.has(key) ? 'MODIFIED' : 'ADDED';
    const stored = { ...obj, metadata: { creationTimestamp: new Date().toISOString(), ...obj.metadata, resourceVersion: String(++this.revision) } };
    this.objects.set(key, stored);
    this.watchers.forEach((w) => w({ type, object: stored }));
    return stored;
  }

  private status(res: ServerResponse, code: number, reason: string, message: string, field?: string): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code, field, kernCode: `KERN_ERR_${reason.toUpperCase()}`, details: field ? { causes: [{ field, message }] } : undefined }));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url!, 'http://x');
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    const json = (body: unknown) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
    if (url.pathname === '/version') return json({ major: '0', minor: '1', gitVersion: 'v0.1.0', kernAbi: '1.0.0' });
    if (req.headers.authorization !== 'Bearer secret') return this.status(res, 401, 'Unauthorized', 'invalid bearer token');
    let body = '';
    for await (const c of req) body += c;
    if (url.pathname === '/v1/plugins') {
      return json({ items: [{ id: 'store-sqlite', name: '@kern/plugin-store-sqlite', version: '0.1.0', description: 'Embedded state store', state: 'active', provides: [{ kind: 'store', name: 'sqlite' }], builtin: true }] });
    }
    if (url.pathname === '/v1/syscalls/state.kinds') return json(CORE_KINDS);
    if (url.pathname === '/v1/syscalls/state.apply') {
      const { object } = JSON.parse(body) as { object: KernObject & { spec?: { containers?: Record<string, unknown>[] } } };
      const bad = object.spec?.containers?.findIndex((c) => 'imag' in c) ?? -1;
      if (bad >= 0) return this.status(res, 422, 'Invalid', `spec.containers[${bad}].imag: unknown field (did you mean "image"?)`, `spec.containers[${bad}].imag`);
      if (object.kind === 'Pod') object.metadata.namespace ??= 'default';
      const existed = [...this.objects.values()].some((o) => o.kind === object.kind && o.metadata.name === object.metadata.name);
      return json({ object: this.put(object), action: existed ? 'configured' : 'created' });
    }
    const m = /^\/api\/v1(?:\/namespaces\/([^/]+))?\/(pods|nodes|namespaces|events)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return this.status(res, 404, 'NotFound', `no route ${url.pathname}`);
    const [, ns, plural, name] = m;
    const kind = CORE_KINDS.find((k) => k.plural === plural)!.kind;
    const matches = [...this.objects.values()].filter((o) => o.kind === kind && (!ns || o.metadata.namespace === ns) && (!name || o.metadata.name === name));
    if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const w = (e: WatchEvent) => { if (e.object.kind === kind) res.write(JSON.stringify(e) + '\n'); };
      this.watchers.push(w);
      res.on('close', () => { this.watchers = this.watchers.filter((x) => x !== w); });
      return;
    }
    if (req.method === 'DELETE') {
      if (!matches.length) return this.status(res, 404, 'NotFound', `${kind} "${name}" not found`);
      this.objects.delete(`${kind}/${ns ?? ''}/${name}`);
      return json(matches[0]);
    }
    if (name) return matches.length ? json(matches[0]) : this.status(res, 404, 'NotFound', `${kind} "${ns}/${name}" not found`);
    return json({ apiVersion: 'v1', kind: `${kind}List`, metadata: { resourceVersion: String(this.revision) }, items: matches });
  }
}

interface Result { code: number; stdout: string; stderr: string }

let fake: FakeKern;
let home: string;

async function kern(...args: string[]): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env: { KERN_HOME: home } };
  process.exitCode = 0;
  await createProgram(io).exitOverride().parseAsync(['node', 'kern', ...args]);
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { code, stdout, stderr };
}

beforeAll(async () => {
  fake = new FakeKern();
  await fake.start();
  home = mkdtempSync(join(tmpdir(), 'kern-cli-'));
  writeFileSync(join(home, 'config.json'), JSON.stringify({ server: fake.url, token: 'secret' }));
});

afterAll(async () => {
  await fake.stop();
  rmSync(home, { recursive: true, force: true });
});

const podYaml = (name: string, extra = '') => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: demo
  labels: {app: ${name}}
spec:
  containers:
  - name: main
    image: busybox${extra}
`;

describe('kern apply', () => {
  it('applies every document and says what happened to each', async () => {
    const file = join(home, 'app.yaml');
    writeFileSync(file, `apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n---\n${podYaml('web')}`);
    expect(await kern('apply', '-f', file)).toEqual({ code: 0, stdout: 'namespace/demo created\npod/web created\n', stderr: '' });
    expect((await kern('apply', '-f', file)).stdout).toBe('namespace/demo configured\npod/web configured\n');
  });

  it('goes on after a bad object, then fails naming it and its field', async () => {
    const file = join(home, 'mixed.yaml');
    writeFileSync(file, `${podYaml('bad').replace('image:', 'imag:')}---\n${podYaml('good')}`);
    const r = await kern('apply', '-f', file);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('pod/good created\n');
    expect(r.stderr).toBe([
      `error: pod/bad (${file}:1): spec.containers[0].imag: unknown field (did you mean "image"?)`,
      '  field: spec.containers[0].imag',
      'error: 1 of 2 objects failed to apply: pod/bad',
      '',
    ].join('\n'));
  });

  it('applies nothing when a file does not parse', async () => {
    const file = join(home, 'broken.yaml');
    writeFileSync(file, `${podYaml('never')}---\nkind: Pod\nmetadata: {name: [\n`);
    const before = fake.requests.length;
    const r = await kern('apply', '-f', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `));
    expect(fake.requests.slice(before).filter((x) => x.includes('state.apply'))).toEqual([]);
  });
});

describe('kern get', () => {
  it('lists pods of one namespace as a table', async () => {
    const r = await kern('get', 'pods', '-n', 'demo');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n(good|web)\s+0\/1\s+Pending\s+0\s+\d+s\n/);
  });

  it('adds NAMESPACE with -A and resolves short names', async () => {
    const r = await kern('get', 'po', '-A', '-o', 'wide');
    expect(r.stdout.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE$/);
    expect(r.stdout).toMatch(/^demo\s+web\s+0\/1\s+Pending\s+0\s+\S+\s+<none>\s+<none>$/m);
    expect(fake.requests).toContain('GET /api/v1/pods');
  });

  it('passes the label selector', async () => {
    await kern('get', 'pods', '-n', 'demo', '-l', 'app=web');
    expect(fake.requests).toContain('GET /api/v1/namespaces/demo/pods?labelSelector=app%3Dweb');
  });

  it('prints a List for json and yaml, and the object for one name', async () => {
    const list = JSON.parse((await kern('get', 'pods', '-n', 'demo', '-o', 'json')).stdout);
    expect(list).toMatchObject({ apiVersion: 'v1', kind: 'List', items: expect.arrayContaining([expect.objectContaining({ kind: 'Pod' })]) });
    expect((await kern('get', 'pod', 'web', '-n', 'demo', '-o', 'yaml')).stdout).toMatch(/^apiVersion: v1\nkind: Pod\nmetadata:\n/);
    expect((await kern('get', 'pod/web', '-n', 'demo', '-o', 'name')).stdout).toBe('pod/web\n');
  });

  it('prints several kinds as separate tables with typed names', async () => {
    const r = await kern('get', 'ns,pods', '-n', 'demo');
    expect(r.stdout).toMatch(/^NAME\s+STATUS\s+AGE\nnamespace\/demo\s+Active\s+\S+\n\nNAME\s+READY/);
  });

  it('says when nothing is found', async () => {
    expect(await kern('get', 'nodes')).toEqual({ code: 0, stdout: '', stderr: 'No resources found.\n' });
  });

  it('fails for a missing name and an unknown type', async () => {
    expect(await kern('get', 'pod', 'nope', '-n', 'demo')).toEqual({ code: 1, stdout: '', stderr: 'error: Pod "demo/nope" not found\n' });
    const r = await kern('get', 'gadgets');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: unknown resource type "gadgets": known types are /);
  });

  it('refuses names across all namespaces', async () => {
    expect((await kern('get', 'pod', 'web', '-A')).stderr).toMatch(/^error: a resource cannot be fetched by name across all namespaces/);
  });
});

describe('kern describe', () => {
  it('shows a pod', async () => {
    const r = await kern('describe', 'pod', 'web', '-n', 'demo');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Name:\s+web\nNamespace:\s+demo\n/);
    expect(r.stdout).toMatch(/^Containers:\n  main:\n    Image:\s+busybox$/m);
  });
});

describe('kern delete', () => {
  it('deletes by name and reports what is missing', async () => {
    fake.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'tmp', namespace: 'demo' } });
    expect(await kern('delete', 'pod', 'tmp', '-n', 'demo')).toEqual({ code: 0, stdout: 'pod "tmp" deleted\n', stderr: '' });
    expect((await kern('delete', 'pod', 'tmp', '-n', 'demo')).code).toBe(1);
    expect(await kern('delete', 'pod', 'tmp', '-n', 'demo', '--ignore-not-found')).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('deletes the objects of a manifest', async () => {
    const file = join(home, 'gone.yaml');
    writeFileSync(file, podYaml('gone'));
    await kern('apply', '-f', file);
    expect((await kern('delete', '-f', file)).stdout).toBe('pod "gone" deleted\n');
  });
});

describe('kern plugin list and version', () => {
  it('lists plugins', async () => {
    const r = await kern('plugin', 'list');
    expect(r.stdout).toBe([
      'ID             VERSION   STATE    PROVIDES       DESCRIPTION',
      'store-sqlite   0.1.0     active   store/sqlite   Embedded state store',
      '',
    ].join('\n'));
  });

  it('prints client and server versions', async () => {
    expect((await kern('version')).stdout).toBe('Client Version: v0.1.0 (syscall ABI 1.0.0)\nServer Version: v0.1.0 (syscall ABI 1.0.0)\n');
  });
});

describe('errors', () => {
  it('tells the user to start Kern when nothing listens', async () => {
    const r = await kern('--server', 'http://127.0.0.1:9', 'get', 'pods');
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'error: cannot reach Kern at http://127.0.0.1:9: is `kern up` running?\n' });
  });

  it('still prints the client version when the server is down', async () => {
    const r = await kern('--server', 'http://127.0.0.1:9', 'version');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Client Version: v0.1.0 (syscall ABI 1.0.0)\n');
  });

  it('passes on the server message for a bad token', async () => {
    expect((await kern('--token', 'wrong', 'get', 'pods')).stderr).toBe('error: invalid bearer token\n');
  });

  it('prints a stack trace with --debug', async () => {
    expect((await kern('--debug', '--server', 'http://127.0.0.1:9', 'get', 'pods')).stderr).toMatch(/\n\s+at /);
  });
});

describe('KernClient.watch', () => {
  it('delivers events line by line until stopped', async () => {
    const client = new KernClient({ server: fake.url, token: 'secret', kernHome: home });
    const seen: string[] = [];
    const h = client.watch('/api/v1/namespaces/demo/pods', { resourceVersion: '1' }, (e) => seen.push(`${e.type} ${e.object.metadata.name}`));
    await new Promise((r) => setTimeout(r, 100));
    fake.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'w1', namespace: 'demo' } });
    fake.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'w1', namespace: 'demo', labels: { a: 'b' } } });
    for (let i = 0; i < 50 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    h.stop();
    await h.done;
    client.close();
    expect(seen).toEqual(['ADDED w1', 'MODIFIED w1']);
  });
});
