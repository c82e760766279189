/**
 * Stopping a node agent moves its pods elsewhere: two real node agents on
 * this machine's Docker engine (each owns only its own containers, by the
 * node label); the first one stops, its Lease goes stale, the node turns
 * NotReady, its pods are marked Failed after the grace period, and the
 * Deployment's ReplicaSet replaces them on the other node.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernObject, Pod, RuntimeDriver, silentLogger } from '@kern/sdk';
import { NodeAgent } from '../../kernel/agent/node-agent';
import { Kernel } from '../../kernel/kernel';
import { removeContainersOfNode } from '../helpers/docker-cleanup';
import { agentlessKernelConfig, waitFor } from '../helpers/test-kernel';

jest.setTimeout(180_000);

const home = mkdtempSync(join(tmpdir(), 'kern-node-loss-'));
const LOST = `lost-${process.pid}`;
const KEPT = `kept-${process.pid}`;
let kernel: Kernel | undefined;
const agents: NodeAgent[] = [];

afterAll(async () => {
  for (const a of agents) await a.stop().catch(() => undefined);
  await kernel?.shutdown();
  await removeContainersOfNode(LOST);
  await removeContainersOfNode(KEPT);
  rmSync(home, { recursive: true, force: true });
});

it('replaces the pods of a node whose agent stopped on the remaining node', async () => {
  kernel = await Kernel.boot(agentlessKernelConfig(home, { scheduler: { nodeLossGraceSeconds: 2 } }), silentLogger);
  const runtime = kernel.drivers.get<RuntimeDriver>('runtime');
  for (const nodeName of [LOST, KEPT]) {
    const agent = new NodeAgent(kernel.syscalls.handleFor(`agent:${nodeName}`, ['state.*']), runtime, {
      nodeName, dataDir: join(home, nodeName), heartbeatSeconds: 1, leaseDurationSeconds: 3,
      capacity: { cpu: '2', memory: '4Gi', pods: '20' },
    }, silentLogger);
    await agent.start();
    agents.push(agent);
  }
  const sys = kernel.syscalls.handleFor('test', ['*']);
  const deployment: KernObject = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'movers', namespace: 'default' },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: 'movers' } },
      template: {
        metadata: { labels: { app: 'movers' } },
        spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: 'kern/busybox:1', command: ['sleep', '3600'], resources: { requests: { cpu: '200m', memory: '64Mi' } } }] },
      },
    },
  };
  await sys.call('state.create', { object: deployment });
  const pods = async () => ((await sys.call('state.list', { kind: 'Pod', namespace: 'default', labelSelector: 'app=movers' })).items as Pod[])
    .filter((p) => !p.metadata.deletionTimestamp);
  const running = (list: Pod[]) => list.filter((p) => p.status?.phase === 'Running');

  const before = await waitFor('4 running pods', async () => { const l = running(await pods()); return l.length === 4 && l; });
  const onLost = before.filter((p) => p.spec?.nodeName === LOST).map((p) => p.metadata.name);
  expect(onLost.length).toBeGreaterThan(0); // least-allocated scoring spreads them over both nodes

  await agents[0].stop(); // the node's heartbeat stops; its containers keep running, as after a crash

  await waitFor('the lost node NotReady', async () => {
    const node = (await sys.call('state.get', { kind: 'Node', name: LOST })) as { status?: { conditions?: { type: string; status: string }[] } };
    return node.status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True';
  });
  const after = await waitFor('4 running pods on the kept node', async () => {
    const l = running(await pods()).filter((p) => p.spec?.nodeName === KEPT);
    return l.length === 4 && l;
  });
  expect(after.map((p) => p.metadata.name)).not.toEqual(expect.arrayContaining(onLost));
});
