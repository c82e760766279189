/**
 * Test support (not built into dist): a FakeSyscalls "cluster" with the
 * workload controllers running and a pretend node agent that makes pods
 * Running and Ready when the test says so.
 */
import { KernObject, Node, Pod } from '@kern/sdk';
import { FakeSyscalls } from '@kern/sdk/testing';
import { DaemonSetController } from './daemonset-controller';
import { DeploymentController } from './deployment-controller';
import { GarbageCollector } from './garbage-collector';
import { ReplicaSetController } from './replicaset-controller';
import { WorkloadInformers } from './workload-informers';

export interface TestCluster {
  sys: FakeSyscalls;
  informers: WorkloadInformers;
  stop(): Promise<void>;
}

export async function startCluster(parts: { rs?: boolean; deploy?: boolean; ds?: boolean; gc?: boolean }): Promise<TestCluster> {
  const sys = new FakeSyscalls();
  const informers = new WorkloadInformers(sys);
  const stops: (() => Promise<void> | void)[] = [];
  if (parts.rs) { const c = new ReplicaSetController(sys, informers); c.start(); stops.push(() => c.dispose()); }
  if (parts.deploy) { const c = new DeploymentController(sys, informers); c.start(); stops.push(() => c.dispose()); }
  if (parts.ds) { const c = new DaemonSetController(sys, informers); c.start(); stops.push(() => c.dispose()); }
  if (parts.gc) { const c = new GarbageCollector(sys); c.start(); stops.push(() => c.dispose()); await c.waitForSync(5000); }
  informers.start();
  await informers.waitForSync(5000);
  return {
    sys, informers,
    stop: async () => {
      for (const s of stops.reverse()) await s();
      informers.dispose();
    },
  };
}

export async function list<T extends KernObject = KernObject>(sys: FakeSyscalls, kind: string, labelSelector?: string): Promise<T[]> {
  return (await sys.call('state.list', { kind, namespace: kind === 'Node' ? undefined : 'default', labelSelector })).items as T[];
}

/** Polls `fn` until it returns something truthy (5 s by default). */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false | null> | T | undefined | false | null, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as T;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Marks a pod Running and Ready (or not ready), as a node agent would. */
export async function setPodReady(sys: FakeSyscalls, pod: Pod, ready = true, node = 'n1'): Promise<void> {
  const current = (await sys.call('state.get', { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name })) as Pod;
  if (!current.spec?.nodeName) {
    current.spec = { ...current.spec!, nodeName: node };
    Object.assign(current, await sys.call('state.update', { object: current }));
  }
  current.status = {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: new Date().toISOString() }],
  };
  delete current.metadata.resourceVersion;
  await sys.call('state.update', { object: current, subresource: 'status' });
}

export function template(labels: Record<string, string>, image = 'img:1') {
  return { metadata: { labels }, spec: { containers: [{ name: 'c', image }] } };
}

export function node(name: string, labels: Record<string, string> = {}, taints: NonNullable<Node['spec']>['taints'] = []): Node {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels }, spec: { taints } };
}

export const isReadyPod = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
