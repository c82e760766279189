/**
 * Kubernetes' binding subresource through the HTTP API: a pod meant for
 * another scheduler (`spec.schedulerName`) waits until that scheduler posts
 * a Binding; bad Bindings are refused naming the field, and leave the pod
 * as it was.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pod, silentLogger } from '@kern/sdk';
import { Kernel } from '../../kernel/kernel';
import { agentlessKernelConfig } from '../helpers/test-kernel';

jest.setTimeout(60_000);

const home = mkdtempSync(join(tmpdir(), 'kern-bind-'));
let kernel: Kernel;

const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(kernel.endpoints!.http + path, {
    method,
    headers: { authorization: `Bearer ${kernel.auth.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() as any };
};

const pod = (name: string, cpu = '500m'): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' },
  spec: { schedulerName: 'my-scheduler', containers: [{ name: 'app', image: 'kern/busybox:1', resources: { requests: { cpu, memory: '64Mi' } } }] },
} as Pod);

const binding = (name: string, node: string) => ({ apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { apiVersion: 'v1', kind: 'Node', name: node } });

beforeAll(async () => {
  kernel = await Kernel.boot(agentlessKernelConfig(home), silentLogger);
  const now = new Date().toISOString();
  const capacity = { cpu: '2', memory: '4Gi', pods: '10' };
  const created = await api('POST', '/api/v1/nodes', {
    apiVersion: 'v1', kind: 'Node', metadata: { name: 'worker-1', labels: { 'kubernetes.io/hostname': 'worker-1' } }, spec: {},
    status: { capacity, allocatable: capacity, conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: now, lastTransitionTime: now }] },
  });
  expect(created.status).toBe(201);
});

afterAll(async () => {
  await kernel?.shutdown();
  rmSync(home, { recursive: true, force: true });
});

const nodeOf = async (name: string) => (await api('GET', `/api/v1/namespaces/default/pods/${name}`)).body.spec.nodeName;

it('binds a pod another scheduler placed, and replies 201 with a Status', async () => {
  expect((await api('POST', '/api/v1/namespaces/default/pods', pod('mine'))).status).toBe(201);
  await new Promise((r) => setTimeout(r, 300));
  expect(await nodeOf('mine')).toBeUndefined(); // the default scheduler leaves it to my-scheduler

  const bound = await api('POST', '/api/v1/namespaces/default/pods/mine/binding', binding('mine', 'worker-1'));
  expect(bound).toEqual({ status: 201, body: expect.objectContaining({ kind: 'Status', status: 'Success', code: 201 }) });
  expect(await nodeOf('mine')).toBe('worker-1');

  const again = await api('POST', '/api/v1/namespaces/default/pods/mine/binding', binding('mine', 'worker-1'));
  expect(again.status).toBe(412);
  expect(again.body.message).toMatch(/already bound to node worker-1/);
});

it.each([
  ['no target', { kind: 'Binding' }, 422, 'target.name'],
  ['another kind', { kind: 'Pod', target: { name: 'worker-1' } }, 422, 'kind'],
  ['another pod\'s name', { metadata: { name: 'other' }, target: { name: 'worker-1' } }, 422, 'metadata.name'],
  ['a target that is no node', { target: { kind: 'Pod', name: 'worker-1' } }, 422, 'target.kind'],
])('refuses a Binding with %s, naming the field, and leaves the pod unbound', async (_what, body, status, field) => {
  const name = `bad-${field.replace('.', '-')}`;
  await api('POST', '/api/v1/namespaces/default/pods', pod(name));
  const r = await api('POST', `/api/v1/namespaces/default/pods/${name}/binding`, body);
  expect(r.status).toBe(status);
  expect(r.body.details?.field ?? r.body.field).toBe(field);
  expect(await nodeOf(name)).toBeUndefined();
});

it('refuses a node that does not exist and one the pod does not fit', async () => {
  await api('POST', '/api/v1/namespaces/default/pods', pod('lost'));
  const missing = await api('POST', '/api/v1/namespaces/default/pods/lost/binding', binding('lost', 'nowhere'));
  expect(missing.status).toBe(404);
  await api('POST', '/api/v1/namespaces/default/pods', pod('huge', '16'));
  const tooBig = await api('POST', '/api/v1/namespaces/default/pods/huge/binding', binding('huge', 'worker-1'));
  expect(tooBig.status).toBe(412);
  expect(tooBig.body.message).toMatch(/does not fit on node worker-1: .*cpu/i);
  expect(await nodeOf('huge')).toBeUndefined();
});
