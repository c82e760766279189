/**
 * `kill -9` of a running `kern up` and a restart on the same data dir leave
 * exactly one copy of every container: the new agent adopts what runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { RUNTIME_LABELS } from '@kern/sdk';
import { removeContainersOfNode } from '../helpers/docker-cleanup';
import { KernProcess, startKern } from '../helpers/kern-process';

jest.setTimeout(120_000);

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const home = mkdtempSync(join(tmpdir(), 'kern-kill-'));
const nodeName = `kill-${process.pid}`;
let kern: KernProcess | undefined;

async function api(k: KernProcess, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(k.server + path, {
    method,
    headers: { authorization: `Bearer ${k.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function runningContainers(): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ filters: { label: [`${RUNTIME_LABELS.node}=${nodeName}`] } });
}

async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

afterAll(async () => {
  if (kern) { kern.child.kill('SIGKILL'); kern.cleanup(); }
  await removeContainersOfNode(nodeName);
  rmSync(home, { recursive: true, force: true });
});

it('adopts the containers of a killed kernel instead of starting duplicates', async () => {
  kern = await startKern({ home, nodeName });
  for (const name of ['one', 'two']) {
    const created = await api(kern, 'POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: 'kern/busybox:1', command: ['sleep', '3600'] }, { name: 'side', image: 'kern/busybox:1', command: ['sleep', '3600'] }] },
    });
    expect(created.status).toBe(201);
  }
  await waitFor('both pods Running', async () => {
    const list = await api(kern!, 'GET', '/api/v1/namespaces/default/pods');
    return list.body.items.length === 2 && list.body.items.every((p: any) => p.status?.phase === 'Running');
  });
  const before = (await runningContainers()).map((c) => c.Id).sort();
  expect(before).toHaveLength(6); // two pods × (pause + app + side)

  kern.child.kill('SIGKILL');
  await new Promise((r) => kern!.child.once('exit', r));
  kern = await startKern({ home, nodeName });
  // Give the new agent a few sync rounds to do anything it wrongly would.
  await new Promise((r) => setTimeout(r, 5000));
  const after = (await runningContainers()).map((c) => c.Id).sort();
  expect(after).toEqual(before);
  const pods = await api(kern, 'GET', '/api/v1/namespaces/default/pods');
  expect(pods.body.items.map((p: any) => p.status?.phase)).toEqual(['Running', 'Running']);
});
