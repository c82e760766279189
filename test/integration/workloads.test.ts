/**
 * Workload controllers on a real kernel and the real Docker engine: a
 * Deployment runs to Ready, a deleted pod is replaced, scaling works both
 * ways, and deleting the Deployment removes its ReplicaSet and pods.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deployment, KernObject, Pod, silentLogger } from '@kern/sdk';
import { Kernel } from '../../kernel/kernel';
import { removeContainersOfNode } from '../helpers/docker-cleanup';
import { bootTestKernel, waitFor } from '../helpers/test-kernel';

jest.setTimeout(180_000);

const NODE = `workloads-it-${process.pid}`;
const home = mkdtempSync(join(tmpdir(), 'kern-workloads-'));
let kernel: Kernel;

const sys = () => kernel.syscalls.handleFor('test', ['*']);


const pods = async () => ((await sys().call('state.list', { kind: 'Pod', namespace: 'default', labelSelector: 'app=wl' })).items as Pod[])
  .filter((p) => !p.metadata.deletionTimestamp);
const readyPods = async (n: number) => {
  const p = await pods();
  return p.length === n && p.every((x) => x.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) && p;
};
const getDeploy = async () => (await sys().call('state.get', { kind: 'Deployment', namespace: 'default', name: 'wl' })) as Deployment;

async function scale(n: number): Promise<void> {
  for (;;) {
    const d = await getDeploy();
    d.spec!.replicas = n;
    try { await sys().call('state.update', { object: d }); return; } catch (e) { if ((e as { kind?: string }).kind !== 'Conflict') throw e; }
  }
}

beforeAll(async () => {
  kernel = await bootTestKernel(home, NODE, silentLogger);
});

afterAll(async () => {
  await kernel?.shutdown();
  await removeContainersOfNode(NODE);
  rmSync(home, { recursive: true, force: true });
});

it('runs a Deployment, replaces a deleted pod, scales 3→4→3 and cascades the delete', async () => {
  const deployment: KernObject = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'wl', namespace: 'default' },
    spec: {
      replicas: 3, selector: { matchLabels: { app: 'wl' } },
      template: {
        metadata: { labels: { app: 'wl' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'sleep', image: 'kern/busybox:1', command: ['sleep', '3600'], resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '32Mi' } } }],
        },
      },
    },
  };
  await sys().call('state.create', { object: deployment });
  const first = await waitFor('3 ready pods', () => readyPods(3));
  expect(first.every((p) => p.spec?.nodeName === NODE && /^wl-[a-z0-9]+-[a-z0-9]{5}$/.test(p.metadata.name))).toBe(true);
  await waitFor('deployment available', async () => (await getDeploy()).status?.availableReplicas === 3);

  const victim = first[0].metadata.name;
  await sys().call('state.delete', { kind: 'Pod', namespace: 'default', name: victim });
  await waitFor('a replacement', async () => {
    const p = await readyPods(3);
    return p && !p.some((x) => x.metadata.name === victim);
  });

  await scale(4);
  await waitFor('4 ready pods', () => readyPods(4));
  await scale(3);
  await waitFor('3 pods again', () => readyPods(3));

  await sys().call('state.delete', { kind: 'Deployment', namespace: 'default', name: 'wl' });
  await waitFor('ReplicaSet and pods gone', async () => {
    const sets = (await sys().call('state.list', { kind: 'ReplicaSet', namespace: 'default' })).items;
    const left = (await sys().call('state.list', { kind: 'Pod', namespace: 'default', labelSelector: 'app=wl' })).items;
    return sets.length === 0 && left.length === 0;
  });
});
