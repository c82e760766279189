import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { parse as parseYaml } from 'yaml';
import { generateKeyPair, signDigest } from '../package-format/package-signing';
import { IndexReply, PluginDetail, VersionEntry } from '../registry-api';
import { FixturePublisher, RegistryHarness, addPublisher, makePackage, signPackage } from './testing/registry-fixtures';

let tmp: string;
let dataDir: string;
let harness: RegistryHarness;
let acme: FixturePublisher;
let other: FixturePublisher;

beforeEach(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'kern-registry-test-'));
  dataDir = join(tmp, 'data');
  acme = addPublisher(dataDir, 'acme');
  other = addPublisher(dataDir, 'other');
  harness = new RegistryHarness(dataDir);
  await harness.start();
});

afterEach(async () => {
  await harness.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function status(res: Response): Promise<{ code: number; kind: string; status: string; reason: string; message: string; field?: string }> {
  const body = await res.json();
  return { code: res.status, ...body };
}

/** Publishes id@version as `who` (signed unless told otherwise) and returns the reply. */
async function publish(who: FixturePublisher, id: string, version: string, extra: { signed?: boolean; provides?: { kind: string; name: string }[]; description?: string; name?: string } = {}) {
  const pkg = await makePackage(tmp, { id, version, provides: extra.provides, description: extra.description, name: extra.name });
  const sig = extra.signed === false ? undefined : signPackage(pkg, who.keys);
  return harness.publish(id, version, readFileSync(pkg.file), who.token, sig);
}

/** Everything a client can see of the registry, for before/after comparisons. */
async function snapshot(): Promise<unknown> {
  const index = await harness.json<IndexReply>('/v1/index');
  const details = await Promise.all(index.items.map((i) => harness.json(`/v1/plugins/${i.id}`)));
  const files = existsSync(join(dataDir, 'packages'))
    ? readdirSync(join(dataDir, 'packages'), { recursive: true }).map(String).sort()
    : [];
  return { index, details, files };
}

describe('publish', () => {
  it('accepts a signed package and shows it in the plugin, index and keys', async () => {
    const pkg = await makePackage(tmp, { id: 'raw-exec', version: '1.2.0', description: 'Runs processes without containers', provides: [{ kind: 'runtime', name: 'raw-exec' }], requires: { 'store-sqlite': '^1.0.0' } });
    const sig = signPackage(pkg, acme.keys);
    const res = await harness.publish('raw-exec', '1.2.0', readFileSync(pkg.file), acme.token, sig);
    expect(res.status).toBe(201);
    const entry = (await res.json()) as VersionEntry;
    expect(entry).toMatchObject({
      version: '1.2.0',
      name: '@kern-test/raw-exec',
      description: 'Runs processes without containers',
      kernelAbi: '^1.0.0',
      requires: { 'store-sqlite': '^1.0.0' },
      provides: [{ kind: 'runtime', name: 'raw-exec' }],
      syscalls: [],
      digest: pkg.digest,
      size: pkg.bytes,
      signature: { keyId: acme.keys.keyId, signature: sig.signature },
      yanked: false,
      downloads: 0,
    });
    expect(Date.parse(entry.publishedAt)).not.toBeNaN();

    const detail = await harness.json<PluginDetail>('/v1/plugins/raw-exec');
    expect(detail).toMatchObject({ id: 'raw-exec', publisher: 'acme', downloads: 0, versions: [entry] });
    expect(detail).not.toHaveProperty('deprecated');

    const keys = await harness.json('/v1/keys');
    expect(keys.items).toEqual([
      { publisher: 'acme', keyId: acme.keys.keyId, publicKey: acme.keys.publicKeyPem },
      { publisher: 'other', keyId: other.keys.keyId, publicKey: other.keys.publicKeyPem },
    ]);
    expect(existsSync(join(dataDir, 'packages', 'raw-exec', 'raw-exec-1.2.0.kpkg'))).toBe(true);
  });

  it('accepts an unsigned package (signature null)', async () => {
    const res = await publish(acme, 'hello', '0.1.0', { signed: false });
    expect(res.status).toBe(201);
    expect((await res.json()).signature).toBeNull();
  });

  it('refuses to publish a version again: versions are immutable (409)', async () => {
    expect((await publish(acme, 'hello', '1.0.0')).status).toBe(201);
    const again = await status(await publish(acme, 'hello', '1.0.0'));
    expect(again).toMatchObject({ code: 409, kind: 'Status', status: 'Failure', reason: 'Conflict' });
    expect(again.message).toMatch(/versions are immutable; publish a new version/);
    const build = await status(await publish(acme, 'hello', '1.0.0+rebuild'));
    expect(build.code).toBe(409);
    expect(build.message).toMatch(/build metadata/);
  });

  it('gives an id to its first publisher: another gets 403', async () => {
    expect((await publish(acme, 'hello', '1.0.0')).status).toBe(201);
    const res = await status(await publish(other, 'hello', '1.1.0'));
    expect(res).toMatchObject({ code: 403, reason: 'Forbidden' });
    expect(res.message).toMatch(/belongs to publisher acme/);
  });

  it.each([
    ['no token', undefined, /missing publisher token/],
    ['an unknown token', 'kreg_not-a-token', /not valid on this registry/],
    ['a malformed header', 'two words', /not "Bearer <token>"|not valid/],
  ])('answers 401 with how to get a token for %s', async (_what, token, message) => {
    const pkg = await makePackage(tmp, { id: 'hello', version: '1.0.0' });
    const res = await harness.publish('hello', '1.0.0', readFileSync(pkg.file), token);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const body = await status(res);
    expect(body).toMatchObject({ code: 401, reason: 'Unauthorized' });
    expect(body.message).toMatch(message);
    expect(body.message).toMatch(/kern registry token create --publisher NAME/);
  });

  it('takes versions with prerelease and build parts, URL-encoded or not', async () => {
    const pkg = await makePackage(tmp, { id: 'hello', version: '2.0.0-beta.1+b7' });
    const res = await harness.publish('hello', encodeURIComponent('2.0.0-beta.1+b7'), readFileSync(pkg.file), acme.token, signPackage(pkg, acme.keys));
    expect(res.status).toBe(201);
    expect((await res.json()).version).toBe('2.0.0-beta.1+b7');
    for (const path of ['/v1/plugins/hello/2.0.0-beta.1%2Bb7/package', '/v1/plugins/hello/2.0.0-beta.1+b7/package']) {
      const download = await harness.fetch(path);
      expect(download.status).toBe(200);
      expect(Number(download.headers.get('content-length'))).toBe(pkg.bytes);
      await download.arrayBuffer();
    }
  });

  it('refuses a tampered package with 400 naming the file', async () => {
    const pkg = await makePackage(tmp, { id: 'hello', version: '1.0.0' });
    const unpacked = join(tmp, 'unpacked');
    mkdirSync(unpacked);
    await tar.x({ file: pkg.file, cwd: unpacked });
    writeFileSync(join(unpacked, 'dist/index.js'), 'require("child_process").exec("evil")\n');
    const evil = join(tmp, 'evil.kpkg');
    await tar.c({ gzip: true, file: evil, cwd: unpacked }, readdirSync(unpacked));
    const res = await status(await harness.publish('hello', '1.0.0', readFileSync(evil), acme.token));
    expect(res).toMatchObject({ code: 400, reason: 'BadRequest' });
    expect(res.message).toMatch(/tampered package: dist\/index\.js does not match/);
    expect((await harness.fetch('/v1/plugins/hello')).status).toBe(404);
  });

  it('refuses bytes that are not a package without showing server paths', async () => {
    const res = await status(await harness.publish('hello', '1.0.0', Buffer.from('not a tarball at all'), acme.token));
    expect(res.code).toBe(400);
    expect(res.message).toMatch(/not a valid package/);
    expect(res.message).not.toContain(dataDir);
  });

  it.each([
    ['id', 'other-id', '1.0.0', 'kern.id', /plugin "hello" .* URL names "other-id"/],
    ['version', 'hello', '2.0.0', 'version', /version "1.0.0" .* URL names "2.0.0"/],
  ])('refuses a package whose %s differs from the URL (400 naming the field)', async (_what, urlId, urlVersion, field, message) => {
    const pkg = await makePackage(tmp, { id: 'hello', version: '1.0.0' });
    const res = await status(await harness.publish(urlId, urlVersion, readFileSync(pkg.file), acme.token));
    expect(res).toMatchObject({ code: 400, field });
    expect(res.message).toMatch(message);
  });

  it.each([
    ['a bad id', 'Hello_World', '1.0.0', 'id'],
    ['a version that is not canonical semver', 'hello', 'v1.0.0', 'version'],
  ])('refuses %s in the URL', async (_what, id, version, field) => {
    const pkg = await makePackage(tmp, { id: 'hello', version: '1.0.0' });
    expect(await status(await harness.publish(id, version, readFileSync(pkg.file), acme.token))).toMatchObject({ code: 400, field });
  });

  it.each([
    ['made with another key', () => signDigest(generateKeyPair().privateKeyPem, 'x'), 'Kern-Signature-Key-Id', /signed with key .* registered with key/],
    ['of another digest', () => signDigest(acme.keys.privateKeyPem, 'another digest'), 'Kern-Signature', /does not verify against the package digest/],
    ['that is garbage', () => ({ keyId: acme.keys.keyId, signature: '!!!' }), 'Kern-Signature', /does not verify/],
    ['without its key id', () => ({ signature: 'AAAA' }), 'Kern-Signature-Key-Id', /send both/],
    ['without the signature', () => ({ keyId: acme.keys.keyId }), 'Kern-Signature', /send both/],
  ])('refuses a signature %s (400)', async (_what, makeSig, field, message) => {
    const pkg = await makePackage(tmp, { id: 'hello', version: '1.0.0' });
    const res = await status(await harness.publish('hello', '1.0.0', readFileSync(pkg.file), acme.token, makeSig()));
    expect(res).toMatchObject({ code: 400, field });
    expect(res.message).toMatch(message);
  });

  it('answers 413 for a package over the limit, declared or streamed', async () => {
    await harness.stop();
    harness = new RegistryHarness(dataDir, { maxPackageBytes: 64 });
    await harness.start();
    const pkg = await makePackage(tmp, { id: 'hello', version: '1.0.0' });
    const declared = await status(await harness.publish('hello', '1.0.0', readFileSync(pkg.file), acme.token));
    expect(declared).toMatchObject({ code: 413, reason: 'RequestEntityTooLarge' });

    // Chunked, with no Content-Length: refused while streaming.
    const streamed = await new Promise<{ code: number; body: string }>((resolve, reject) => {
      const url = new URL(`${harness.url}/v1/plugins/hello/1.0.0`);
      const req = request(url, { method: 'PUT', headers: { authorization: `Bearer ${acme.token}`, 'transfer-encoding': 'chunked' } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      for (let i = 0; i < 10; i++) req.write(Buffer.alloc(50, i));
      req.end();
    });
    expect(streamed.code).toBe(413);
    expect(JSON.parse(streamed.body).message).toMatch(/limit of 64 bytes/);
    expect(readdirSync(join(dataDir, 'tmp'))).toEqual([]);
  });

  it('refuses a body that is not a package by content type (415)', async () => {
    const res = await harness.fetch('/v1/plugins/hello/1.0.0', { method: 'PUT', headers: { authorization: `Bearer ${acme.token}`, 'content-type': 'application/json' }, body: '{}' });
    expect(await status(res)).toMatchObject({ code: 415, field: 'Content-Type' });
  });

  it('leaves stored data untouched by any refused publish', async () => {
    expect((await publish(acme, 'hello', '1.0.0')).status).toBe(201);
    const before = await snapshot();
    const good = await makePackage(tmp, { id: 'hello', version: '1.1.0' });
    const bytes = readFileSync(good.file);
    const refused = [
      await publish(acme, 'hello', '1.0.0'),
      await publish(other, 'hello', '1.1.0'),
      await harness.publish('hello', '1.1.0', bytes, undefined),
      await harness.publish('hello', '1.2.0', bytes, acme.token),
      await harness.publish('hello', '1.1.0', bytes.subarray(0, bytes.length - 20), acme.token),
      await harness.publish('hello', '1.1.0', bytes, acme.token, signDigest(other.keys.privateKeyPem, good.digest)),
      await harness.publish('hello', '1.1.0', bytes, acme.token, signDigest(acme.keys.privateKeyPem, 'nope')),
    ];
    expect(refused.map((r) => r.status)).toEqual([409, 403, 401, 400, 400, 400, 400]);
    expect(await snapshot()).toEqual(before);
    expect(readdirSync(join(dataDir, 'tmp'))).toEqual([]);
  });
});

describe('index and plugins', () => {
  beforeEach(async () => {
    for (const r of [
      await publish(acme, 'raw-exec', '1.0.0', { provides: [{ kind: 'runtime', name: 'raw-exec' }], description: 'Runs plain processes' }),
      await publish(acme, 'raw-exec', '1.10.0', { provides: [{ kind: 'runtime', name: 'raw-exec' }], description: 'Runs plain processes, now faster' }),
      await publish(acme, 'raw-exec', '1.9.0', { provides: [{ kind: 'runtime', name: 'raw-exec' }] }),
      await publish(other, 'store-etcd', '0.3.0', { provides: [{ kind: 'store', name: 'etcd' }], description: 'Keeps state in etcd', name: '@other/kern-etcd' }),
      await publish(other, 'net-bridge', '2.0.0', { provides: [{ kind: 'network', name: 'bridge' }, { kind: 'ipam', name: 'host-local' }], signed: false }),
    ]) expect(r.status).toBe(201);
  });

  it('lists every plugin by its latest version, sorted by id', async () => {
    const { items } = await harness.json<IndexReply>('/v1/index');
    expect(items).toEqual([
      { id: 'net-bridge', description: 'the net-bridge test plugin', kinds: ['network/bridge', 'ipam/host-local'], latest: '2.0.0', publisher: 'other', keyId: other.keys.keyId, downloads: 0 },
      { id: 'raw-exec', description: 'Runs plain processes, now faster', kinds: ['runtime/raw-exec'], latest: '1.10.0', publisher: 'acme', keyId: acme.keys.keyId, downloads: 0 },
      { id: 'store-etcd', description: 'Keeps state in etcd', kinds: ['store/etcd'], latest: '0.3.0', publisher: 'other', keyId: other.keys.keyId, downloads: 0 },
    ]);
  });

  it.each([
    ['q=ETCD', ['store-etcd']],
    ['q=raw', ['raw-exec']],
    ['q=faster', ['raw-exec']],
    ['q=%40other%2Fkern', ['store-etcd']],
    ['q=nothing-like-this', []],
    ['kind=runtime', ['raw-exec']],
    ['kind=IPAM', ['net-bridge']],
    ['kind=raw-exec', []],
    ['q=e&kind=store', ['store-etcd']],
  ])('searches with %s', async (query, ids) => {
    const { items } = await harness.json<IndexReply>(`/v1/index?${query}`);
    expect(items.map((i) => i.id)).toEqual(ids);
  });

  it('shows a plugin with its versions by semver, highest first', async () => {
    const detail = await harness.json<PluginDetail>('/v1/plugins/raw-exec');
    expect(detail.versions.map((v) => v.version)).toEqual(['1.10.0', '1.9.0', '1.0.0']);
    expect(detail.versions[0].signature?.keyId).toBe(acme.keys.keyId);
  });

  it('answers 404 for unknown plugins, versions and routes', async () => {
    for (const path of ['/v1/plugins/nope', '/v1/plugins/raw-exec/9.9.9/package', '/v1/plugins/nope/1.0.0/package', '/v2/anything']) {
      expect(await status(await harness.fetch(path))).toMatchObject({ code: 404, kind: 'Status', reason: 'NotFound' });
    }
    expect(await status(await harness.fetch('/v1/index', { method: 'DELETE' }))).toMatchObject({ code: 405 });
  });

  it('serves the package bytes and counts downloads per version and per plugin', async () => {
    const res = await harness.fetch('/v1/plugins/raw-exec/1.9.0/package');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
    expect(bytes.equals(readFileSync(join(dataDir, 'packages/raw-exec/raw-exec-1.9.0.kpkg')))).toBe(true);
    await (await harness.fetch('/v1/plugins/raw-exec/1.9.0/package')).arrayBuffer();
    await (await harness.fetch('/v1/plugins/raw-exec/1.0.0/package')).arrayBuffer();
    await harness.fetch('/v1/plugins/raw-exec/1.0.0/package', { method: 'HEAD' });

    const detail = await harness.json<PluginDetail>('/v1/plugins/raw-exec');
    expect(detail.downloads).toBe(3);
    expect(Object.fromEntries(detail.versions.map((v) => [v.version, v.downloads]))).toEqual({ '1.10.0': 0, '1.9.0': 2, '1.0.0': 1 });
    const { items } = await harness.json<IndexReply>('/v1/index?q=raw-exec');
    expect(items[0].downloads).toBe(3);
  });
});

describe('yank, unyank and deprecate', () => {
  beforeEach(async () => {
    for (const v of ['1.0.0', '1.1.0']) expect((await publish(acme, 'hello', v)).status).toBe(201);
  });

  it('yanks a version out of the index but keeps it downloadable, and unyanks it', async () => {
    const yank = await harness.post('/v1/plugins/hello/1.1.0/yank', acme.token, { reason: 'breaks on ABI 1.2' });
    expect(yank.status).toBe(200);
    expect(await yank.json()).toMatchObject({ version: '1.1.0', yanked: true, yankReason: 'breaks on ABI 1.2' });
    expect((await harness.json<IndexReply>('/v1/index')).items[0].latest).toBe('1.0.0');
    expect((await harness.fetch('/v1/plugins/hello/1.1.0/package')).status).toBe(200);
    expect((await harness.json<PluginDetail>('/v1/plugins/hello')).versions[0]).toMatchObject({ version: '1.1.0', yanked: true });

    const unyank = await harness.post('/v1/plugins/hello/1.1.0/unyank', acme.token);
    const entry = await unyank.json();
    expect(entry).toMatchObject({ version: '1.1.0', yanked: false });
    expect(entry).not.toHaveProperty('yankReason');
    expect((await harness.json<IndexReply>('/v1/index')).items[0].latest).toBe('1.1.0');
  });

  it('leaves a plugin with every version yanked out of the index', async () => {
    for (const v of ['1.0.0', '1.1.0']) expect((await harness.post(`/v1/plugins/hello/${v}/yank`, acme.token)).status).toBe(200);
    expect((await harness.json<IndexReply>('/v1/index')).items).toEqual([]);
    expect((await harness.json<PluginDetail>('/v1/plugins/hello')).versions.every((v) => v.yanked)).toBe(true);
  });

  it('deprecates with a message and clears it with an empty one', async () => {
    const res = await harness.post('/v1/plugins/hello/deprecate', acme.token, { message: 'use hello-world instead' });
    expect(res.status).toBe(200);
    expect((await res.json()).deprecated).toBe('use hello-world instead');
    expect((await harness.json<IndexReply>('/v1/index')).items[0].deprecated).toBe('use hello-world instead');
    expect((await harness.json<PluginDetail>('/v1/plugins/hello')).deprecated).toBe('use hello-world instead');

    expect((await harness.post('/v1/plugins/hello/deprecate', acme.token, { message: '' })).status).toBe(200);
    expect(await harness.json<PluginDetail>('/v1/plugins/hello')).not.toHaveProperty('deprecated');
    expect((await harness.json<IndexReply>('/v1/index')).items[0]).not.toHaveProperty('deprecated');
  });

  it.each([
    ['yank', '/v1/plugins/hello/1.0.0/yank', {}],
    ['unyank', '/v1/plugins/hello/1.0.0/unyank', {}],
    ['deprecate', '/v1/plugins/hello/deprecate', { message: 'x' }],
  ])('lets only the owner %s (401 without a token, 403 for another publisher)', async (_verb, path, body) => {
    expect((await harness.post(path, undefined, body)).status).toBe(401);
    expect(await status(await harness.post(path, other.token, body))).toMatchObject({ code: 403, reason: 'Forbidden' });
    expect((await harness.json<PluginDetail>('/v1/plugins/hello')).versions.every((v) => !v.yanked)).toBe(true);
    expect(await harness.json<PluginDetail>('/v1/plugins/hello')).not.toHaveProperty('deprecated');
  });

  it.each([
    ['a body that is not JSON', '/v1/plugins/hello/1.0.0/yank', '{reason', 'body'],
    ['a reason that is not text', '/v1/plugins/hello/1.0.0/yank', '{"reason": 5}', 'reason'],
    ['a deprecation without a message', '/v1/plugins/hello/deprecate', '{}', 'message'],
  ])('refuses %s (400 naming the field)', async (_what, path, body, field) => {
    const res = await harness.fetch(path, { method: 'POST', headers: { authorization: `Bearer ${acme.token}`, 'content-type': 'application/json' }, body });
    expect(await status(res)).toMatchObject({ code: 400, field });
  });

  it('answers 404 for yanking a version that does not exist', async () => {
    expect((await harness.post('/v1/plugins/hello/9.0.0/yank', acme.token)).status).toBe(404);
    expect((await harness.post('/v1/plugins/nope/1.0.0/yank', acme.token)).status).toBe(404);
  });
});

describe('persistence', () => {
  it('keeps plugins, versions, yanks, deprecations, downloads and tokens across a restart', async () => {
    expect((await publish(acme, 'hello', '1.0.0')).status).toBe(201);
    expect((await publish(acme, 'hello', '2.0.0', { signed: false })).status).toBe(201);
    await harness.post('/v1/plugins/hello/2.0.0/yank', acme.token, { reason: 'bad build' });
    await harness.post('/v1/plugins/hello/deprecate', acme.token, { message: 'moved' });
    await (await harness.fetch('/v1/plugins/hello/1.0.0/package')).arrayBuffer();
    const before = await snapshot();

    await harness.restart();
    expect(await snapshot()).toEqual(before);
    expect((await harness.fetch('/v1/plugins/hello/1.0.0/package')).status).toBe(200);
    // The token still works, and the version is still taken.
    expect((await publish(acme, 'hello', '2.0.0')).status).toBe(409);
    expect((await publish(acme, 'hello', '3.0.0')).status).toBe(201);
  });

  it('cleans up uploads a crash left behind', async () => {
    await harness.stop();
    writeFileSync(join(dataDir, 'tmp', 'upload-left-over.kpkg'), 'half');
    await harness.start();
    expect(readdirSync(join(dataDir, 'tmp'))).toEqual([]);
  });
});

describe('health and charts', () => {
  it('answers /healthz', async () => {
    const res = await harness.fetch('/healthz');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
  });

  it('serves an empty but valid Helm index when there are no charts', async () => {
    const res = await harness.fetch('/charts/index.yaml');
    expect(res.status).toBe(200);
    const index = parseYaml(await res.text());
    expect(index).toEqual({ apiVersion: 'v1', entries: {}, generated: expect.any(String) });
    expect(Date.parse(index.generated)).not.toBeNaN();
  });

  it('indexes chart archives in <dataDir>/charts and serves them', async () => {
    const chartSrc = join(tmp, 'chart-src');
    for (const version of ['0.1.0', '0.2.0']) {
      mkdirSync(join(chartSrc, 'demo'), { recursive: true });
      writeFileSync(join(chartSrc, 'demo', 'Chart.yaml'), `apiVersion: v2\nname: demo\nversion: ${version}\ndescription: A demo chart\n`);
      mkdirSync(join(dataDir, 'charts'), { recursive: true });
      await tar.c({ gzip: true, file: join(dataDir, 'charts', `demo-${version}.tgz`), cwd: chartSrc }, ['demo']);
    }
    writeFileSync(join(dataDir, 'charts', 'broken.tgz'), 'not gzip');
    const index = parseYaml(await (await harness.fetch('/charts/index.yaml')).text());
    expect(Object.keys(index.entries)).toEqual(['demo']);
    expect(index.entries.demo.map((e: { version: string }) => e.version)).toEqual(['0.2.0', '0.1.0']);
    expect(index.entries.demo[0]).toMatchObject({ apiVersion: 'v2', name: 'demo', description: 'A demo chart', urls: ['demo-0.2.0.tgz'], digest: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const tgz = await harness.fetch('/charts/demo-0.2.0.tgz');
    expect(tgz.status).toBe(200);
    expect(Buffer.from(await tgz.arrayBuffer()).equals(readFileSync(join(dataDir, 'charts', 'demo-0.2.0.tgz')))).toBe(true);
    expect((await harness.fetch('/charts/..%2Fregistry.db')).status).toBe(404);
  });
});
