import { AddressInfo } from 'node:net';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CORE_KINDS, KernObject, WatchEvent } from '@kern/sdk';
import { createProgram } from './program';
import { KernClient } from './kern-client';

/**
 * A stand-in for the Kern HTTP API, just big enough to drive the commands:
 * state.kinds, state.apply (with one validation rule), get, list, create,
 * delete, watch, pod log and exec, image import, /v1/plugins and /version,
 * all behind a bearer token.
 */
class FakeKern {
  readonly objects = new Map<string, KernObject>();
  readonly requests: string[] = [];
  /** Bodies of exec requests and image uploads, as received. */
  readonly execBodies: Record<string, unknown>[] = [];
  readonly imports: { name: string; bytes: Buffer; contentType?: string; contentLength?: string }[] = [];
  /** Follow log streams the client hung up on. */
  closedFollows = 0;
  /** Called after a pod is created through POST (tests move it along). */
  onPodCreated?: (pod: KernObject) => void;
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
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const body = raw.toString('utf8');
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
    if (url.pathname === '/v1/images/import') return this.importImage(req, res, url, raw);
    const sub = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(log|exec)$/.exec(url.pathname);
    if (sub) {
      const pod = this.objects.get(`Pod/${sub[1]}/${sub[2]}`);
      if (!pod) return this.status(res, 404, 'NotFound', `pods "${sub[2]}" not found`);
      return sub[3] === 'log' ? this.log(res, url) : this.exec(res, JSON.parse(body));
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
    if (req.method === 'POST' && !name) {
      const object = JSON.parse(body) as KernObject;
      if (this.objects.has(`${kind}/${ns ?? ''}/${object.metadata.name}`)) {
        return this.status(res, 409, 'AlreadyExists', `${plural} "${object.metadata.name}" already exists`);
      }
      const stored = this.put({ ...object, metadata: { ...object.metadata, namespace: ns } });
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify(stored));
      this.onPodCreated?.(stored);
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

  /** `kern logs`: two lines, then with follow=true one more every 20 ms until the client hangs up. */
  private log(res: ServerResponse, url: URL): void {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.write('line 1\nline 2\n');
    if (url.searchParams.get('follow') !== 'true') return void res.end();
    let n = 3;
    const timer = setInterval(() => res.write(`line ${n++}\n`), 20);
    res.on('close', () => { clearInterval(timer); this.closedFollows++; });
  }

  /** `kern exec`: echoes the command and stdin, then exits with `exit N`'s N; `fail` sends an ERROR line. */
  private exec(res: ServerResponse, body: { command: string[]; stdin?: string }): void {
    this.execBodies.push(body);
    res.writeHead(200, { 'content-type': 'application/json;stream=watch' });
    const send = (frame: unknown) => res.write(JSON.stringify(frame) + '\n');
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    send({ stream: 'stdout', data: b64(`ran ${body.command.join(' ')}\n`) });
    if (body.stdin) send({ stream: 'stdout', data: body.stdin });
    send({ stream: 'stderr', data: b64('to stderr\n') });
    if (body.command[0] === 'fail') {
      send({ type: 'ERROR', object: { kind: 'Status', code: 503, reason: 'ServiceUnavailable', message: 'the container went away' } });
    } else {
      const exit = body.command.join(' ').match(/exit (\d+)/);
      send({ exitCode: exit ? Number(exit[1]) : 0 });
    }
    res.end();
  }

  private importImage(req: IncomingMessage, res: ServerResponse, url: URL, bytes: Buffer): void {
    const name = url.searchParams.get('name') ?? '';
    if (name === 'refused/app') return this.status(res, 503, 'ServiceUnavailable', 'the runtime driver "fake" cannot import images');
    this.imports.push({ name, bytes, contentType: req.headers['content-type'], contentLength: req.headers['content-length'] });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ image: name.includes(':') ? name : `${name}:latest`, bytes: bytes.length }));
  }
}

interface Result { code: number; stdout: string; stderr: string }

let fake: FakeKern;
let home: string;

async function kern(...args: string[]): Promise<Result> {
  return kernWith({}, ...args);
}

/** `kern` with stdin and a terminal (or not) on stderr. */
async function kernWith(extra: { stdin?: NodeJS.ReadableStream; tty?: boolean }, ...args: string[]): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (s: string | Uint8Array) => (stdout += s) },
    stderr: { write: (s: string | Uint8Array) => (stderr += s), isTTY: extra.tty },
    env: { KERN_HOME: home },
    stdin: extra.stdin,
  };
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

describe('kern run', () => {
  const stored = (name: string, ns = 'demo') => fake.objects.get(`Pod/${ns}/${name}`) as KernObject & { spec: { containers: Record<string, unknown>[]; restartPolicy?: string } };

  it('creates a bare pod from the flags', async () => {
    const r = await kern('run', 'runner', '--image', 'kern/busybox:1', '-n', 'demo', '--cpu', '500m', '--memory', '256Mi',
      '--env', 'A=1', '--env', 'B=x=y', '--port', '8080', '--restart', 'Never', '--', 'sh', '-c', 'echo hi');
    expect(r).toEqual({ code: 0, stdout: 'pod/runner created\n', stderr: '' });
    const pod = stored('runner');
    expect(pod.metadata.labels).toEqual({ run: 'runner' });
    expect(pod.spec.restartPolicy).toBe('Never');
    expect(pod.spec.containers).toEqual([{
      name: 'runner', image: 'kern/busybox:1', args: ['sh', '-c', 'echo hi'],
      env: [{ name: 'A', value: '1' }, { name: 'B', value: 'x=y' }],
      ports: [{ containerPort: 8080 }],
      resources: { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
    }]);
    expect(fake.requests).toContain('POST /api/v1/namespaces/demo/pods');
  });

  it('takes labels and the command instead of args', async () => {
    expect((await kern('run', 'labelled', '--image', 'img', '-n', 'demo', '--labels', 'app=x,tier=web', '--command', '--', '/bin/app', '-v')).code).toBe(0);
    expect(stored('labelled').metadata.labels).toEqual({ app: 'x', tier: 'web' });
    expect(stored('labelled').spec.containers[0]).toEqual({ name: 'labelled', image: 'img', command: ['/bin/app', '-v'] });
  });

  it.each([
    [['--replicas', 'three'], /^error: --replicas must be a whole number from 0/],
    [['--cpu', 'lots'], /^error: --cpu: "lots" is not a quantity/],
    [['--restart', 'Sometimes'], /^error: --restart must be one of Always, OnFailure, Never/],
    [['--env', 'NOVALUE'], /^error: --env "NOVALUE" must look like KEY=VALUE/],
    [['--port', '70000'], /^error: --port must be a whole number from 1 to 65535/],
  ])('refuses %j without creating anything', async (flags, message) => {
    const before = fake.requests.length;
    const r = await kern('run', 'refused', '--image', 'img', '-n', 'demo', ...flags);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(fake.requests.slice(before)).toEqual([]);
  });

  it('passes on AlreadyExists', async () => {
    expect((await kern('run', 'dup', '--image', 'img', '-n', 'demo')).code).toBe(0);
    expect(await kern('run', 'dup', '--image', 'img', '-n', 'demo')).toEqual({ code: 1, stdout: '', stderr: 'error: pods "dup" already exists\n' });
  });

  it('waits until the pod runs with --wait, then shows it', async () => {
    fake.onPodCreated = (pod) => setTimeout(() => fake.put({
      ...pod, spec: { ...(pod.spec as object), nodeName: 'node-a' },
      status: { phase: 'Running', podIP: '10.0.0.7', containerStatuses: [{ name: 'waiter', ready: true, restartCount: 0, image: 'img', state: { running: { startedAt: 'x' } } }] },
    }), 400);
    try {
      const r = await kern('run', 'waiter', '--image', 'img', '-n', 'demo', '--wait');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^pod\/waiter created\nNAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\nwaiter\s+1\/1\s+Running\s+0\s+\S+\s+10\.0\.0\.7\s+node-a\n$/);
    } finally {
      fake.onPodCreated = undefined;
    }
  });

  it('stops waiting at once when the pod cannot start', async () => {
    fake.onPodCreated = (pod) => fake.put({
      ...pod, status: { phase: 'Pending', containerStatuses: [{ name: 'stuck', ready: false, restartCount: 0, image: 'nope', state: { waiting: { reason: 'ErrImageNeverPull', message: 'image nope not found' } } }] },
    });
    try {
      const r = await kern('run', 'stuck', '--image', 'nope', '-n', 'demo', '--wait');
      expect(r).toEqual({ code: 1, stdout: 'pod/stuck created\n', stderr: 'error: pod/stuck cannot start: container stuck: ErrImageNeverPull: image nope not found\n' });
    } finally {
      fake.onPodCreated = undefined;
    }
  });
});

describe('kern logs', () => {
  beforeAll(() => { fake.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'talker', namespace: 'demo' } }); });

  it('prints the log and maps the flags to the kubectl query', async () => {
    expect(await kern('logs', 'talker', '-n', 'demo', '-c', 'main', '--tail', '5', '--previous')).toEqual({ code: 0, stdout: 'line 1\nline 2\n', stderr: '' });
    expect(fake.requests).toContain('GET /api/v1/namespaces/demo/pods/talker/log?container=main&tailLines=5&previous=true');
    expect((await kern('logs', 'pod/talker', '-n', 'demo')).stdout).toBe('line 1\nline 2\n');
  });

  it('follows until Ctrl-C, then ends cleanly and hangs up', async () => {
    const before = fake.closedFollows;
    const running = kern('logs', 'talker', '-n', 'demo', '-f');
    await new Promise((r) => setTimeout(r, 200));
    process.emit('SIGINT');
    const r = await running;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^line 1\nline 2\nline 3\n(line \d+\n)*$/);
    for (let i = 0; i < 50 && fake.closedFollows === before; i++) await new Promise((res) => setTimeout(res, 20));
    expect(fake.closedFollows).toBe(before + 1);
    expect(fake.requests).toContain('GET /api/v1/namespaces/demo/pods/talker/log?follow=true');
  });

  it.each([
    [['logs', 'nope', '-n', 'demo'], 'error: pods "nope" not found\n'],
    [['logs', 'talker', '--tail', 'all'], 'error: --tail must be a whole number of lines, got "all"\n'],
    [['logs', 'node/x'], 'error: "node/x" is not a pod: give NAME or pod/NAME\n'],
  ])('fails for %j', async (args, stderr) => {
    expect(await kern(...args)).toEqual({ code: 1, stdout: '', stderr });
  });
});

describe('kern exec', () => {
  beforeAll(() => { fake.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'shell', namespace: 'demo' } }); });

  it('writes the output streams and exits with the command\'s code', async () => {
    const r = await kern('exec', 'shell', '-n', 'demo', '-c', 'main', '--', 'sh', '-c', 'exit 3');
    expect(r).toEqual({ code: 3, stdout: 'ran sh -c exit 3\n', stderr: 'to stderr\n' });
    expect(fake.execBodies.at(-1)).toEqual({ command: ['sh', '-c', 'exit 3'], container: 'main' });
  });

  it('sends all of stdin with -i', async () => {
    const r = await kernWith({ stdin: Readable.from([Buffer.from('some '), Buffer.from('input\n')]) }, 'exec', '-i', 'shell', '-n', 'demo', '--', 'cat');
    expect(r).toEqual({ code: 0, stdout: 'ran cat\nsome input\n', stderr: 'to stderr\n' });
    expect(fake.execBodies.at(-1)).toEqual({ command: ['cat'], stdin: Buffer.from('some input\n').toString('base64') });
  });

  it.each([
    [['exec', 'shell', '-n', 'demo', '--', 'fail'], 'ran fail\n', 'to stderr\nerror: the container went away\n'],
    [['exec', 'shell', '-n', 'demo'], '', 'error: give the command after --, e.g. kern exec web -- ls /\n'],
    [['exec', 'ghost', '-n', 'demo', '--', 'ls'], '', 'error: pods "ghost" not found\n'],
  ])('fails for %j', async (args, stdout, stderr) => {
    expect(await kern(...args)).toEqual({ code: 1, stdout, stderr });
  });
});

describe('kern image import', () => {
  it('uploads a file as the raw body', async () => {
    const file = join(home, 'rootfs.tar');
    const tar = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 256));
    writeFileSync(file, tar);
    expect(await kern('image', 'import', file, 'my/app:1')).toEqual({ code: 0, stdout: 'image my/app:1 imported\n', stderr: '' });
    const got = fake.imports.at(-1)!;
    expect([got.name, got.contentType, got.contentLength]).toEqual(['my/app:1', 'application/x-tar', '5000']);
    expect(got.bytes.equals(tar)).toBe(true);
  });

  it('reads stdin for -', async () => {
    const r = await kernWith({ stdin: Readable.from([Buffer.from('tar'), Buffer.from('ball')]) }, 'image', 'import', '-', 'piped');
    expect(r.stdout).toBe('image piped imported\n');
    expect(fake.imports.at(-1)!.bytes.toString()).toBe('tarball');
  });

  it('shows progress for a big file on a terminal', async () => {
    const file = join(home, 'big.tar');
    writeFileSync(file, Buffer.alloc(9 * 1024 * 1024));
    const r = await kernWith({ tty: true }, 'image', 'import', file, 'big');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/\rsent 9\.0 MiB of 9\.0 MiB \(100%\), importing\u001b\[K\n$/);
    expect(fake.imports.at(-1)!.bytes.length).toBe(9 * 1024 * 1024);
  });

  it.each([
    [['image', 'import', '/nonexistent/rootfs.tar', 'app'], /^error: cannot read \/nonexistent\/rootfs.tar: no such file\n$/],
    [['image', 'import', '-', 'Bad Name'], /^error: "Bad Name" is not an image name/],
    [['image', 'import', '-', 'refused/app'], /^error: the runtime driver "fake" cannot import images\n$/],
  ])('fails for %j', async (args, stderr) => {
    const r = await kernWith({ stdin: Readable.from([Buffer.from('x')]) }, ...args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(stderr);
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

  it('shows where each plugin runs with -o wide', async () => {
    const r = await kern('plugin', 'list', '-o', 'wide');
    expect(r.stdout).toBe([
      'ID             VERSION   STATE    PROVIDES       PROCESS     DESCRIPTION',
      'store-sqlite   0.1.0     active   store/sqlite   in kernel   Embedded state store',
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
