/**
 * A Job through the real kernel: the batch plugin's Job controller makes the
 * pods, the scheduler binds them, the node agent runs them on Docker, and
 * the Job completes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job, KernObject, Pod, silentLogger } from '@kern/sdk';
import { Kernel } from '../../kernel/kernel';
import { removeContainersOfNode } from '../helpers/docker-cleanup';
import { bootTestKernel, waitFor } from '../helpers/test-kernel';

jest.setTimeout(120_000);

const NODE = `batch-test-node-${process.pid}`;
const home = mkdtempSync(join(tmpdir(), 'kern-batch-'));
let kernel: Kernel | undefined;

const sys = () => kernel!.syscalls.handleFor('test', ['*']);


beforeAll(async () => {
  kernel = await bootTestKernel(home, NODE, silentLogger);
});

afterAll(async () => {
  try {
    await kernel?.shutdown();
  } finally {
    await removeContainersOfNode(NODE);
    rmSync(home, { recursive: true, force: true });
  }
});

it('runs a Job with completions 3 and parallelism 2 to Complete in real containers', async () => {
  const job: KernObject = {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'echo', namespace: 'default' },
    spec: {
      completions: 3, parallelism: 2, backoffLimit: 2,
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'echo', image: 'kern/busybox:1', command: ['sh', '-c', 'echo done'] }] } },
    },
  };
  await sys().call('state.create', { object: job });
  let maxActive = 0;
  const done = await waitFor('the Job to complete', async () => {
    const pods = (await sys().call('state.list', { kind: 'Pod', namespace: 'default', labelSelector: 'job-name=echo' })).items as Pod[];
    maxActive = Math.max(maxActive, pods.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed').length);
    const j = (await sys().call('state.get', { kind: 'Job', namespace: 'default', name: 'echo' })) as Job;
    if (j.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True')) throw new Error(`job failed: ${JSON.stringify(j.status)}`);
    return j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') && j;
  });
  expect(done.status).toMatchObject({ succeeded: 3, failed: 0, active: 0 });
  expect(done.status?.completionTime).toBeDefined();
  expect(maxActive).toBeLessThanOrEqual(2);
  const pods = (await sys().call('state.list', { kind: 'Pod', namespace: 'default', labelSelector: 'job-name=echo' })).items as Pod[];
  expect(pods.filter((p) => p.status?.phase === 'Succeeded')).toHaveLength(3);
  for (const p of pods) expect(p.spec?.nodeName).toBe(NODE);
  let logs = '';
  for await (const c of await sys().stream('compute.logs', { namespace: 'default', name: pods[0].metadata.name })) logs += c.data;
  expect(logs).toContain('done');
});
