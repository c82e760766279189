import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { container } from 'tsyringe';
import { KERNEL_ABI_VERSION, errors, silentLogger } from '@kern/sdk';
import {
  ApiTestContext, HttpTestClient, createApiTestContext,
} from '../../../test/helpers/api-test-context';
import { KernelDriverRegistry } from '../../drivers/driver-registry';
import { PluginManager } from '../../plugins/plugin-manager';
import { SyscallTable } from '../../syscalls/syscall-table';
import { ApiContext } from '../api-context';
import { createHttpApp } from './http-app';
import type { IdlePoller } from './idle-poller';
import { RunningHttpServer, startHttpServer } from './http-server';

const PODS = '/api/v1/namespaces/default/pods';

function pod(name: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'web' } },
    spec: { containers: [{ name: 'main', image: 'busybox:latest' }] },
    ...extra,
  };
}

describe('HTTP API', () => {
  let t: ApiTestContext;
  let server: RunningHttpServer;
  let client: HttpTestClient;

  beforeEach(async () => {
    t = await createApiTestContext({ bodyLimitBytes: 64 * 1024 });
    server = await startHttpServer(t.api, { host: '127.0.0.1', port: 0 });
    client = new HttpTestClient(`http://127.0.0.1:${server.address.port}`, t.adminToken);
  });

  afterEach(async () => {
    await server.close();
    await t.cleanup();
  });

  const storedPods = async () => (await t.state.list({ kind: 'Pod' })).items.map((p) => p.metadata.name);

  describe('public endpoints', () => {
    it('answers /healthz and /readyz with ok, and 503 while not ready; /livez with ok either way', async () => {
      for (const path of ['/healthz', '/readyz', '/livez']) {
        const ok = await client.get(path, { token: null });
        expect([path, ok.status, ok.text]).toEqual([path, 200, 'ok']);
      }
      t.setReady(false);
      expect((await client.get('/healthz', { token: null })).status).toBe(503);
      expect((await client.get('/readyz', { token: null })).status).toBe(503);
      expect((await client.get('/livez', { token: null })).status).toBe(200);
    });

    it('matches /healthz and /version in any case and with a trailing slash, without a token, and nothing longer', async () => {
      for (const path of ['/healthz/', '/HEALTHZ', '/Version/', '/readyz/', '/LIVEZ']) expect([path, (await client.get(path, { token: null })).status]).toEqual([path, 200]);
      expect((await client.get('/readyz//', { token: null })).status).toBe(401);
      expect((await client.get('/healthzz', { token: null })).status).toBe(401);
      expect((await client.get('/healthz//', { token: null })).status).toBe(401);
    });

    it('answers /version in the Kubernetes version-info shape', async () => {
      const res = await client.get('/version', { token: null });
      expect(res.status).toBe(200);
      expect(res.json).toEqual(expect.objectContaining({
        major: '0', minor: '1', gitVersion: 'v0.1.0', kernAbi: '1.0.0',
        platform: expect.stringMatching(/^\w+\/\w+$/), goVersion: expect.any(String), compiler: expect.any(String),
      }));
    });
  });

  describe('authentication', () => {
    it.each([
      ['no token', null],
      ['a wrong token', 'nope'],
    ])('refuses %s with a 401 Status', async (_what, token) => {
      const res = await client.get(PODS, { token });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(res.json).toEqual(expect.objectContaining({
        kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401, kernCode: 'KERN_ERR_UNAUTHENTICATED',
      }));
    });

    it.each(['/metrics', '/v1/syscalls', '/v1/plugins', '/v1/kinds', '/api', '/nowhere'])('guards %s', async (path) => {
      expect((await client.get(path, { token: null })).status).toBe(401);
    });
  });

  describe('resources', () => {
    it('replies with JSON and its length, and to HEAD (not served) with no body', async () => {
      const created = await client.post(PODS, pod('head-1'));
      expect(created.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(Number(created.headers.get('content-length'))).toBe(Buffer.byteLength(created.text));
      const head = await client.request('HEAD', `${PODS}/head-1`);
      expect(head.status).toBe(405);
      expect(head.text).toBe('');
    });

    it('creates, gets, lists, updates and deletes a pod', async () => {
      const created = await client.post(PODS, pod('web-1'));
      expect(created.status).toBe(201);
      expect(created.json.metadata).toEqual(expect.objectContaining({ name: 'web-1', namespace: 'default', uid: expect.any(String) }));
      const rv1 = created.json.metadata.resourceVersion;

      const got = await client.get(`${PODS}/web-1`);
      expect(got.status).toBe(200);
      expect(got.json.metadata.uid).toBe(created.json.metadata.uid);

      const list = await client.get(PODS);
      expect(list.json).toEqual(expect.objectContaining({ kind: 'PodList', apiVersion: 'v1', metadata: expect.objectContaining({ resourceVersion: expect.any(String) }) }));
      expect(list.json.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['web-1']);
      expect((await client.get('/api/v1/pods')).json.items).toHaveLength(1);

      const next = { ...got.json, spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] } };
      const updated = await client.put(`${PODS}/web-1`, next);
      expect(updated.status).toBe(200);
      expect(updated.json.spec.containers[0].image).toBe('busybox:1.36');
      expect(updated.json.metadata.generation).toBe(2);

      const stale = await client.put(`${PODS}/web-1`, { ...next, metadata: { ...next.metadata, resourceVersion: rv1 } });
      expect(stale.status).toBe(409);
      expect(stale.json).toEqual(expect.objectContaining({ kind: 'Status', reason: 'Conflict', code: 409, kernCode: 'KERN_ERR_CONFLICT', field: 'metadata.resourceVersion' }));

      const deleted = await client.delete(`${PODS}/web-1`);
      expect(deleted.status).toBe(200);
      expect(deleted.json.metadata.name).toBe('web-1');
      const gone = await client.get(`${PODS}/web-1`);
      expect(gone.status).toBe(404);
      expect(gone.json).toEqual(expect.objectContaining({ reason: 'NotFound', code: 404 }));
    });

    it('takes the namespace from the path and refuses a body that names another', async () => {
      await t.state.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
      const ok = await client.post('/api/v1/namespaces/team-a/pods', pod('p'));
      expect(ok.status).toBe(201);
      expect(ok.json.metadata.namespace).toBe('team-a');

      const bad = await client.post('/api/v1/namespaces/team-a/pods', pod('q', { metadata: { name: 'q', namespace: 'default' } }));
      expect(bad.status).toBe(400);
      expect(bad.json).toEqual(expect.objectContaining({ reason: 'BadRequest', field: 'metadata.namespace' }));
      expect(bad.json.details.causes[0].field).toBe('metadata.namespace');
      expect(await storedPods()).toEqual(['p']);
    });

    it('fills kind and apiVersion from the path and refuses others', async () => {
      const { apiVersion, kind, ...rest } = pod('bare');
      void apiVersion; void kind;
      expect((await client.post(PODS, rest)).status).toBe(201);
      const wrong = await client.post(PODS, { ...pod('x'), kind: 'ConfigMap' });
      expect(wrong.status).toBe(400);
      expect(wrong.json.field).toBe('kind');
      const name = await client.put(`${PODS}/bare`, pod('other'));
      expect(name.status).toBe(400);
      expect(name.json.field).toBe('metadata.name');
    });

    it('serves the Namespace object at /api/v1/namespaces/{name}, and its status', async () => {
      const created = await client.post('/api/v1/namespaces', { metadata: { name: 'ops' } });
      expect(created.status).toBe(201);
      expect(created.json.kind).toBe('Namespace');
      const got = await client.get('/api/v1/namespaces/ops');
      expect(got.json.metadata.name).toBe('ops');
      const status = await client.put('/api/v1/namespaces/ops/status', { ...got.json, status: { phase: 'Active' } });
      expect(status.status).toBe(200);
      expect(status.json.status).toEqual({ phase: 'Active' });
      const list = await client.get('/api/v1/namespaces');
      expect(list.json.items.map((n: { metadata: { name: string } }) => n.metadata.name).sort()).toEqual(['default', 'ops']);
    });

    it('writes only status through the status subresource', async () => {
      const created = (await client.post(PODS, pod('s'))).json;
      const res = await client.put(`${PODS}/s/status`, { ...created, spec: { containers: [{ name: 'main', image: 'changed' }] }, status: { phase: 'Running' } });
      expect(res.status).toBe(200);
      expect(res.json.status).toEqual({ phase: 'Running' });
      expect(res.json.spec.containers[0].image).toBe('busybox:latest');
    });

    it('serves other groups under /apis/{group}/{version}', async () => {
      const lease = { metadata: { name: 'leader' }, spec: { holderIdentity: 'a' } };
      const res = await client.post('/apis/coordination.k8s.io/v1/namespaces/default/leases', lease);
      expect(res.status).toBe(201);
      expect(res.json.apiVersion).toBe('coordination.k8s.io/v1');
      expect((await client.get('/apis/coordination.k8s.io/v1/namespaces/default/leases/leader')).status).toBe(200);
      expect((await client.get('/apis/coordination.k8s.io/v2/namespaces/default/leases')).status).toBe(404);
    });

    it('filters lists by label and pages them', async () => {
      for (const [name, app] of [['a', 'web'], ['b', 'db'], ['c', 'web'], ['d', 'web']]) {
        await client.post(PODS, pod(name, { metadata: { name, labels: { app } } }));
      }
      const web = await client.get(`${PODS}?labelSelector=${encodeURIComponent('app=web')}`);
      expect(web.json.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['a', 'c', 'd']);
      const page1 = await client.get(`${PODS}?limit=2`);
      expect(page1.json.items).toHaveLength(2);
      expect(page1.json.metadata.continue).toEqual(expect.any(String));
      const page2 = await client.get(`${PODS}?limit=2&continue=${encodeURIComponent(page1.json.metadata.continue)}`);
      expect([...page1.json.items, ...page2.json.items].map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['a', 'b', 'c', 'd']);
      const byName = await client.get(`${PODS}?fieldSelector=metadata.name%3Db`);
      expect(byName.json.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['b']);
      // With a limit, a field selector still fills its page, and the token goes on after it.
      const firstD = await client.get(`${PODS}?limit=1&fieldSelector=metadata.name%3Dd`);
      expect(firstD.json.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['d']);
      const notB = await client.get(`${PODS}?limit=2&fieldSelector=metadata.name!%3Db`);
      expect(notB.json.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['a', 'c']);
      const rest = await client.get(`${PODS}?limit=2&fieldSelector=metadata.name!%3Db&continue=${encodeURIComponent(notB.json.metadata.continue)}`);
      expect(rest.json.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['d']);
    });

    it.each([
      ['a bad label selector', `${PODS}?labelSelector=${encodeURIComponent('a in b')}`, 422, 'labelSelector'],
      ['a bad limit', `${PODS}?limit=ten`, 422, 'limit'],
      ['an unsupported field selector', `${PODS}?fieldSelector=spec.nodeName%3Dx`, 422, 'fieldSelector'],
    ])('refuses %s naming the parameter', async (_what, path, code, field) => {
      const res = await client.get(path);
      expect(res.status).toBe(code);
      expect(res.json.field).toBe(field);
    });

    it.each([
      ['an unknown plural', 'GET', '/api/v1/widgets', 404],
      ['a namespace on a cluster-scoped kind', 'GET', '/api/v1/namespaces/default/nodes', 404],
      ['a namespaced object without namespace', 'GET', '/api/v1/pods/x', 404],
      ['a path that is too deep', 'GET', `${PODS}/x/status/more`, 404],
      ['PATCH', 'PATCH', `${PODS}/x`, 405],
      ['POST on an object', 'POST', `${PODS}/x`, 405],
      ['an unknown route', 'GET', '/v2/things', 404],
      ['a dry run (not supported, so refused rather than written)', 'POST', `${PODS}?dryRun=All`, 400],
    ])('answers %s with a Status', async (_what, method, path, code) => {
      const res = await client.request(method, path, { body: method === 'GET' ? undefined : {} });
      expect(res.status).toBe(code);
      expect(res.json).toEqual(expect.objectContaining({ kind: 'Status', code }));
    });

    it('serves discovery documents', async () => {
      expect((await client.get('/api')).json).toEqual(expect.objectContaining({ kind: 'APIVersions', versions: ['v1'] }));
      const groups = (await client.get('/apis')).json;
      expect(groups.groups.map((g: { name: string }) => g.name)).toContain('coordination.k8s.io');
      const core = (await client.get('/api/v1')).json;
      expect(core).toEqual(expect.objectContaining({ kind: 'APIResourceList', groupVersion: 'v1' }));
      expect(core.resources).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'pods', kind: 'Pod', namespaced: true })]));
      expect((await client.get('/v1/kinds')).json.items).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'Pod', plural: 'pods' })]));
    });
  });

  describe('bad bodies', () => {
    it.each([
      ['malformed JSON', 'application/json', '{"apiVersion": "v1", "kind": "Pod",\n  "metadata": {"name": "x"}\n  "spec": {}}', /malformed JSON body at line 3, column 3/],
      ['truncated JSON', 'application/json', '{"apiVersion": "v1"', /malformed JSON body at line 1, column 20/],
      ['malformed YAML', 'application/yaml', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   bad: [1, 2\n', /malformed YAML body at line \d+, column \d+/],
      ['YAML with tabs and colons', 'text/yaml', 'kind: Pod\nmetadata: {name: x\n', /malformed YAML body/],
      ['two YAML documents', 'application/yaml', 'kind: Pod\nmetadata: {name: a}\n---\nkind: Pod\nmetadata: {name: b}\n', /2 documents/],
      ['a JSON list', 'application/json', '[1, 2]', /must be an object.*a list/],
      ['a JSON string', 'application/json', '"pod"', /must be an object.*a string/],
      ['JSON null', 'application/json', 'null', /must be an object.*null/],
      ['a YAML scalar', 'application/yaml', 'just words', /must be an object.*a string/],
      ['an empty body', 'application/json', '', /is empty/],
      ['JSON labelled as JSON but written as YAML', 'application/json', 'kind: Pod\n', /malformed JSON body at line 1, column 1: Unexpected token 'k'$/],
      ['JSON with a missing value', 'application/json', '{"kind": "Pod",\n "metadata": }', /malformed JSON body at line 2, column 14/],
      ['YAML with duplicate keys', 'application/yaml', 'kind: Pod\nkind: Node\n', /malformed YAML body at line 2, column 1: Map keys must be unique/],
      ['YAML whose anchor contains itself', 'application/yaml', 'kind: Pod\nmetadata: &m {name: x, self: *m}\n', /anchor refers to itself/],
      // 2,000 levels of YAML aborted the kernel (V8 ran out of stack and memory composing it); deep JSON was a 500 from the store's copy.
      ['YAML nested 101 levels deep', 'application/yaml', `kind: Pod\nmetadata: {name: x}\nspec: ${'['.repeat(100)}${']'.repeat(100)}\n`, /nests deeper than 100 levels \(line 3, column 106\)/],
      ['YAML nested 2,000 levels deep', 'application/yaml', `kind: Pod\nmetadata: {name: x}\nspec: ${'['.repeat(2000)}${']'.repeat(2000)}\n`, /nests deeper than 100 levels \(line 3, column \d+\)/],
      ['JSON nested 3,000 levels deep', 'application/json', `{"kind": "Pod", "metadata": {"name": "x"}, "spec": ${'{"a": '.repeat(3000)}1${'}'.repeat(3001)}`, /nests deeper than 100 levels \(at spec\.a\.a\.a\.a\.a…\)/],
    ])('answers %s with 400 and stores nothing', async (_what, contentType, body, message) => {
      const res = await client.request('POST', PODS, { body, contentType });
      expect(res.status).toBe(400);
      expect(res.json).toEqual(expect.objectContaining({ kind: 'Status', reason: 'BadRequest', code: 400 }));
      expect(res.json.message).toMatch(message);
      expect(await storedPods()).toEqual([]);
    });

    it('accepts YAML, also when sniffed without a content type', async () => {
      const yaml = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: from-yaml\nspec:\n  containers:\n    - name: main\n      image: busybox\n';
      expect((await client.request('POST', PODS, { body: yaml, contentType: 'application/yaml' })).status).toBe(201);
      expect((await client.request('POST', PODS, { body: yaml.replace('from-yaml', 'sniffed'), contentType: 'text/plain' })).status).toBe(201);
      expect(await storedPods()).toEqual(['from-yaml', 'sniffed']);
    });

    it('answers an unknown field with 422 naming it', async () => {
      const res = await client.post(PODS, pod('x', { spec: { containers: [{ name: 'main', image: 'busybox' }], restartPolicyy: 'Never' } }));
      expect(res.status).toBe(422);
      expect(res.json).toEqual(expect.objectContaining({ reason: 'Invalid', field: 'spec.restartPolicyy', kernCode: 'KERN_ERR_INVALID' }));
      expect(res.json.details.causes).toEqual([expect.objectContaining({ field: 'spec.restartPolicyy' })]);
      expect(await storedPods()).toEqual([]);
    });

    it('answers a body over the limit with 413, and the connection still works', async () => {
      const big = pod('big', { metadata: { name: 'big', annotations: { blob: 'x'.repeat(100 * 1024) } } });
      const res = await client.post(PODS, big);
      expect(res.status).toBe(413);
      expect(res.json).toEqual(expect.objectContaining({ kind: 'Status', code: 413, reason: 'RequestEntityTooLarge', kernCode: 'KERN_ERR_API_BODY_TOO_LARGE' }));
      expect(await storedPods()).toEqual([]);
      expect((await client.post(PODS, pod('small'))).status).toBe(201);
    });

    it('answers a chunked body over the limit with 413', async () => {
      const chunks = new ReadableStream({
        start(controller) {
          for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode(' '.repeat(8 * 1024)));
          controller.close();
        },
      });
      const res = await fetch(`${client.baseUrl}${PODS}`, {
        method: 'POST', body: chunks, duplex: 'half', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
      } as RequestInit);
      expect(res.status).toBe(413);
      await res.text();
    });
  });

  describe('watch', () => {
    it('streams ADDED, MODIFIED and DELETED in order and resumes from a resourceVersion', async () => {
      const start = (await client.get(PODS)).json.metadata.resourceVersion;
      const w = await client.watch(`${PODS}?watch=true&resourceVersion=${start}`);
      expect(w.status).toBe(200);
      expect(w.response.headers.get('content-type')).toMatch(/^application\/json;stream=watch/);

      const created = (await client.post(PODS, pod('w'))).json;
      const updated = (await client.put(`${PODS}/w`, { ...created, metadata: { ...created.metadata, labels: { app: 'web', v: '2' } } })).json;
      await client.delete(`${PODS}/w`);
      const events = await w.take(3);
      expect(events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
      expect(events[1].object.metadata.resourceVersion).toBe(updated.metadata.resourceVersion);
      w.close();

      const resumed = await client.watch(`${PODS}?watch=1&resourceVersion=${created.metadata.resourceVersion}`);
      expect((await resumed.take(2)).map((e) => e.type)).toEqual(['MODIFIED', 'DELETED']);
      resumed.close();
    });

    it('sends the current objects first when no resourceVersion is given', async () => {
      await client.post(PODS, pod('one'));
      const w = await client.watch(`${PODS}?watch=true&allowWatchBookmarks=true`);
      const [added, bookmark] = await w.take(2);
      expect(added).toEqual({ type: 'ADDED', object: expect.objectContaining({ metadata: expect.objectContaining({ name: 'one' }) }) });
      expect(bookmark.type).toBe('BOOKMARK');
      expect(bookmark.object.metadata.resourceVersion).toBe(added.object.metadata.resourceVersion);
      await client.post(PODS, pod('two'));
      expect((await w.next())?.object.metadata.name).toBe('two');
      w.close();
    });

    it('filters by label selector', async () => {
      const w = await client.watch(`${PODS}?watch=true&resourceVersion=1&labelSelector=app%3Ddb`);
      await client.post(PODS, pod('web-x'));
      await client.post(PODS, pod('db-x', { metadata: { name: 'db-x', labels: { app: 'db' } } }));
      expect((await w.next())?.object.metadata.name).toBe('db-x');
      w.close();
    });

    it('ends with an ERROR event carrying a 410 Status when the revision was compacted', async () => {
      await client.post(PODS, pod('a'));
      const b = (await client.post(PODS, pod('b'))).json;
      await t.store.compact(Number(b.metadata.resourceVersion));
      const w = await client.watch(`${PODS}?watch=true&resourceVersion=1`);
      expect(w.status).toBe(200);
      const e = await w.next();
      expect(e).toEqual({ type: 'ERROR', object: expect.objectContaining({ kind: 'Status', code: 410, reason: 'Expired', kernCode: 'KERN_ERR_TOO_OLD' }) });
      expect(await w.next()).toBeUndefined();
    });

    it('ends after timeoutSeconds', async () => {
      const w = await client.watch(`${PODS}?watch=true&resourceVersion=1&timeoutSeconds=1`);
      const started = Date.now();
      await w.ended(5000);
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it('stops the store watch when the client goes away', async () => {
      const store = t.store;
      const before = store.openWatches;
      const w = await client.watch(`${PODS}?watch=true&resourceVersion=1`);
      expect(store.openWatches).toBe(before + 1);
      w.close();
      await waitFor(() => store.openWatches === before);
    });

    it('is refused like a list for a principal without state.watch', async () => {
      const token = t.auth.issue({ name: 'user:reader', allowed: ['state.get', 'state.list'] });
      const res = await client.withToken(token).get(`${PODS}?watch=true&resourceVersion=1`);
      expect(res.status).toBe(403);
      expect(res.json).toEqual(expect.objectContaining({ kind: 'Status', reason: 'Forbidden', code: 403 }));
    });

    it('ends open watch streams promptly when the server closes', async () => {
      const w = await client.watch(`${PODS}?watch=true&resourceVersion=1`);
      const started = Date.now();
      await server.close();
      await w.ended(3000);
      expect(Date.now() - started).toBeLessThan(1500);
      expect(t.store.openWatches).toBe(0);
    });
  });

  describe('syscalls', () => {
    it('lists syscalls and calls one', async () => {
      const names = await client.get('/v1/syscalls');
      expect(names.json.items).toEqual(expect.arrayContaining([{ name: 'state.get', implemented: true }, { name: 'net.attach', implemented: false }]));
      await client.post(PODS, pod('s1'));
      const res = await client.post('/v1/syscalls/state.get', { kind: 'pod', namespace: 'default', name: 's1' });
      expect(res.status).toBe(200);
      expect(res.json.metadata.name).toBe('s1');
      const yaml = await client.request('POST', '/v1/syscalls/state.list', { body: 'kind: pods\n', contentType: 'application/yaml' });
      expect(yaml.json.items).toHaveLength(1);
    });

    it.each([
      ['an unknown syscall', 'nope.nothing', {}, 404, 'NotFound', /nope\.nothing/],
      ['a reserved syscall', 'net.attach', {}, 501, 'MethodNotAllowed', /reserved/],
      ['bad arguments', 'state.get', { kind: 'widget', name: 'x' }, 422, 'Invalid', /unknown kind "widget"/],
      ['a list as arguments', 'state.get', [1], 400, 'BadRequest', /must be an object/],
      ['no kind', 'state.list', {}, 422, 'Invalid', /^kind: is required/],
      ['a kind that is no string', 'state.list', { kind: 5 }, 422, 'Invalid', /^kind: is required/],
    ])('answers %s with a Status', async (_what, name, args, code, reason, message) => {
      const res = await client.post(`/v1/syscalls/${name}`, args);
      expect(res.status).toBe(code);
      expect(res.json).toEqual(expect.objectContaining({ kind: 'Status', code, reason }));
      expect(res.json.message).toMatch(message);
    });

    it('applies the principal\'s allowed syscalls', async () => {
      const token = t.auth.issue({ name: 'user:reader', allowed: ['state.get'] });
      const reader = client.withToken(token);
      await client.post(PODS, pod('r'));
      expect((await reader.post('/v1/syscalls/state.get', { kind: 'Pod', namespace: 'default', name: 'r' })).status).toBe(200);
      expect((await reader.get(`${PODS}/r`)).status).toBe(200);
      const denied = await reader.post('/v1/syscalls/state.delete', { kind: 'Pod', namespace: 'default', name: 'r' });
      expect(denied.status).toBe(403);
      expect(denied.json).toEqual(expect.objectContaining({ reason: 'Forbidden', kernCode: 'KERN_ERR_FORBIDDEN' }));
      expect(denied.json.message).toMatch(/user:reader may not call state\.delete/);
      expect((await reader.post(PODS, pod('no'))).status).toBe(403);
      expect(await storedPods()).toEqual(['r']);
    });

    it('streams state.watch as NDJSON', async () => {
      const w = await client.watch('/v1/syscalls/state.watch', { body: { kind: 'Pod', resourceVersion: '1' } });
      expect(w.status).toBe(200);
      await client.post(PODS, pod('sw'));
      expect(await w.next()).toEqual({ type: 'ADDED', object: expect.objectContaining({ kind: 'Pod' }) });
      w.close();
    });

    it('hides unexpected errors behind a generic 500 and logs them', async () => {
      t.syscalls.register('test.boom', async () => { throw new TypeError('secret detail at /srv/x.js:1'); });
      t.syscalls.register('test.fine', async () => { throw errors.internal('store is wedged: restart the kernel'); });
      const res = await client.post('/v1/syscalls/test.boom', {});
      expect(res.status).toBe(500);
      expect(res.json).toEqual(expect.objectContaining({ kind: 'Status', reason: 'InternalError', code: 500 }));
      expect(res.text).not.toMatch(/secret|\/srv/);
      expect(t.logger.records.filter((r) => r.level === 'error')).toHaveLength(1);
      const deliberate = await client.post('/v1/syscalls/test.fine', {});
      expect(deliberate.json.message).toBe('store is wedged: restart the kernel');
    });

    it('lists plugins', async () => {
      const res = await client.get('/v1/plugins');
      expect(res.json.items).toEqual([expect.objectContaining({ id: 'store-memory', state: 'active' })]);
    });
  });

  describe('metrics', () => {
    it('serves Prometheus text that counts requests and syscalls', async () => {
      await client.get(PODS);
      await client.get(PODS, { token: null });
      const res = await client.get('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(res.text).toMatch(/kern_kernel_http_requests_total\{method="GET",code="200"\} \d+/);
      expect(res.text).toMatch(/kern_kernel_http_requests_total\{method="GET",code="401"\} 1/);
      expect(res.text).toMatch(/kern_kernel_syscalls_total\{name="state.list",code="OK"\} 1/);
      expect(res.text).toMatch(/^kern_process_cpu_user_seconds_total \d/m);
      expect(res.text).toMatch(/^kern_nodejs_eventloop_lag_seconds \d/m);
      expect(res.text).not.toMatch(/process_process_/);
    });
  });
});

/** Runs `fn` against `app` behind a plain node:http server on loopback, then closes it and the test context. */
async function withPlainServer(t: ApiTestContext, app: ReturnType<typeof createHttpApp>, fn: (base: string) => Promise<void>): Promise<void> {
  const server = createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await t.cleanup();
  }
}

describe('createHttpApp', () => {
  it('works through a plain Koa callback', async () => {
    const t = await createApiTestContext();
    await withPlainServer(t, createHttpApp(t.api), async (base) => {
      const client = new HttpTestClient(base, t.adminToken);
      expect((await client.post(PODS, pod('cb'))).status).toBe(201);
    });
  });
});

describe('the idle poller', () => {
  it('hears of every request, answered or refused, once it starts and once it is answered (a watch when its stream opens)', async () => {
    const t = await createApiTestContext();
    let started = 0;
    let ended = 0;
    const poller = { started: () => { started++; }, ended: () => { ended++; } } as unknown as IdlePoller;
    await withPlainServer(t, createHttpApp(t.api, { poller }), async (base) => {
      const client = new HttpTestClient(base, t.adminToken);
      expect((await client.post(PODS, pod('p'))).status).toBe(201);
      expect((await client.get('/healthz', { token: null })).status).toBe(200);
      expect((await client.get(PODS, { token: null })).status).toBe(401);
      expect((await client.get('/api/v1/nosuchthings')).status).toBe(404);
      expect([started, ended]).toEqual([4, 4]);
      const watch = new AbortController();
      const res = await fetch(`${base}${PODS}?watch=true`, { headers: { authorization: `Bearer ${t.adminToken}` }, signal: watch.signal });
      expect(res.status).toBe(200);
      expect([started, ended]).toEqual([5, 5]); // the stream is still open
      watch.abort();
    });
  });
});

describe('idle polling in the server', () => {
  it('takes its maximum window in microseconds, opens it once requests come close together, and stops with the server', async () => {
    const t = await createApiTestContext();
    const server = await startHttpServer(t.api, { host: '127.0.0.1', port: 0, idlePollMicros: 2000 });
    try {
      const client = new HttpTestClient(`http://127.0.0.1:${server.address.port}`, t.adminToken);
      // Back-to-back requests over one keep-alive connection come well within 2 ms of each other, even on a busy machine.
      for (let i = 0; i < 50 && server.idlePoller.window === 0; i++) await client.get('/healthz', { token: null });
      expect([0.5, 1, 2]).toContain(server.idlePoller.window); // ms: a quarter of 2,000 µs, doubling
    } finally {
      await server.close();
      await t.cleanup();
    }
    expect(server.idlePoller.isStopped).toBe(true);
  });
});

describe('plugin load and unload', () => {
  const FIXTURES = join(__dirname, '../../../test/fixtures/plugins');
  let t: ApiTestContext;
  let server: RunningHttpServer;
  let client: HttpTestClient;
  let manager: PluginManager;

  beforeEach(async () => {
    (globalThis as { __kernPluginLog?: string[] }).__kernPluginLog = [];
    t = await createApiTestContext();
    manager = new PluginManager({
      root: container.createChildContainer(), drivers: new KernelDriverRegistry(), syscalls: new SyscallTable(), logger: silentLogger,
      dataDir: t.dataDir, kernelVersion: KERNEL_ABI_VERSION, pluginConfig: {},
    });
    (t.api as { plugins: ApiContext['plugins'] }).plugins = manager;
    server = await startHttpServer(t.api, { host: '127.0.0.1', port: 0 });
    client = new HttpTestClient(`http://127.0.0.1:${server.address.port}`, t.adminToken);
  });

  afterEach(async () => {
    await manager.deactivateAll();
    await server.close();
    await t.cleanup();
  });

  it('loads a package directory (201, the plugin) and unloads it by id', async () => {
    const loaded = await client.post('/v1/plugins/load', { dir: join(FIXTURES, 'alpha') });
    expect(loaded.status).toBe(201);
    expect(loaded.json).toEqual(expect.objectContaining({ id: 'alpha', version: '1.0.0', state: 'active', builtin: false }));
    expect((await client.get('/v1/plugins')).json.items).toEqual([expect.objectContaining({ id: 'alpha', state: 'active' })]);

    const gone = await client.delete('/v1/plugins/alpha');
    expect(gone.status).toBe(200);
    expect(gone.json).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: 'alpha', kind: 'plugins' } });
    expect((await client.get('/v1/plugins')).json.items).toEqual([]);
  });

  it('reports the plugin manager\'s refusals as Status replies', async () => {
    const early = await client.post('/v1/plugins/load', { dir: join(FIXTURES, 'hot') });
    expect(early.status).toBe(412);
    expect(early.json).toEqual(expect.objectContaining({ code: 412, kernCode: 'KERN_ERR_PLUGIN_DEPENDENCY_INACTIVE', field: 'kern.requires.alpha' }));
    expect((await client.post('/v1/plugins/load', { dir: join(FIXTURES, 'alpha') })).status).toBe(201);
    expect((await client.post('/v1/plugins/load', { dir: join(FIXTURES, 'hot') })).status).toBe(201);

    const twice = await client.post('/v1/plugins/load', { dir: join(FIXTURES, 'alpha') });
    expect(twice.status).toBe(409);
    const required = await client.delete('/v1/plugins/alpha');
    expect(required.status).toBe(412);
    expect(required.json.message).toBe('plugin alpha is required by hot, which is active; unload it first');
    const unknown = await client.delete('/v1/plugins/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.json.kernCode).toBe('KERN_ERR_PLUGIN_NOT_FOUND');
    const broken = await client.post('/v1/plugins/load', { dir: join(FIXTURES, 'broken') });
    expect(broken.status).toBeGreaterThanOrEqual(400);
    expect(broken.json.kind).toBe('Status');
  });

  it.each<[string, unknown, number, string]>([
    ['no body', undefined, 400, 'body'],
    ['no dir', {}, 422, 'dir'],
    ['a relative dir', { dir: 'plugins/alpha' }, 422, 'dir'],
    ['a dir that is not a string', { dir: 7 }, 422, 'dir'],
  ])('refuses a load request with %s, naming the field', async (_what, body, status, field) => {
    const res = await client.request('POST', '/v1/plugins/load', body === undefined ? {} : { body });
    expect(res.status).toBe(status);
    expect(res.json).toEqual(expect.objectContaining({ kind: 'Status', field }));
  });

  it('requires the admin token', async () => {
    expect((await client.post('/v1/plugins/load', { dir: join(FIXTURES, 'alpha') }, { token: null })).status).toBe(401);
    expect((await client.delete('/v1/plugins/alpha', { token: 'nope' })).status).toBe(401);
    const agent = t.auth.issue({ name: 'node:n1', allowed: ['state.*'] });
    const limited = await client.post('/v1/plugins/load', { dir: join(FIXTURES, 'alpha') }, { token: agent });
    expect(limited.status).toBe(403);
    expect(limited.json.message).toBe('node:n1 may not load or unload plugins; use the admin token (kern writes it to ~/.kern/config.json)');
    expect((await client.delete('/v1/plugins/alpha', { token: agent })).status).toBe(403);
    expect(manager.list()).toEqual([]);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
