/**
 * What bench:scheduler and bench:compare put on a kernel: hollow nodes of
 * one shape, and the pod mix (70% plain, 20% with required node affinity on
 * zones, 10% with required pod anti-affinity per hostname in groups of 10).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KernProcess, startKern } from '../helpers/kern-process';
import { HollowNodeFleet } from './hollow-node-fleet';

/**
 * The pods a run creates: `mixed` is the mix above; `plain` only plain pods
 * (kube-scheduler's SchedulingBasic workload).
 */
export type PodMix = 'mixed' | 'plain';

/** Pod `i` of the mix; with `nodeName`, created already bound (the baseline). */
export function benchPod(i: number, nodeName?: string, mix: PodMix = 'mixed'): object {
  const kind = mix === 'plain' ? 0 : i % 10;
  const spec: Record<string, unknown> = {
    containers: [{ name: 'app', image: 'kern/busybox:1', command: ['sleep', '3600'], resources: { requests: { cpu: '100m', memory: '128Mi' } } }],
  };
  const labels: Record<string, string> = { app: 'sched-bench' };
  if (nodeName) spec.nodeName = nodeName;
  else if (kind === 7 || kind === 8) {
    spec.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['zone-0', 'zone-1'] }] }] } } };
  } else if (kind === 9) {
    const group = `g${Math.floor(i / 100)}`;
    labels.group = group;
    spec.affinity = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { group } }, topologyKey: 'kubernetes.io/hostname' }] } };
  }
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p-${i}`, namespace: 'default', labels }, spec };
}

/** A kernel in a fresh home with no real node agent, so only hollow nodes take pods. */
export async function startKernForHollowNodes(start: typeof startKern, prefix: string): Promise<KernProcess> {
  const home = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(home, 'data'), { recursive: true });
  writeFileSync(join(home, 'data', 'config.yaml'), 'agent:\n  enabled: false\n');
  return start({ home, timeoutMs: 60_000 });
}

/** `count` hollow nodes of 32 CPUs, 128 GiB and 110 pods over 3 zones, renewing every 30 s. */
export function benchFleet(kern: KernProcess, count: number, reportRunning: boolean): HollowNodeFleet {
  return new HollowNodeFleet({
    server: kern.server, token: kern.token, count, prefix: 'hollow', zones: 3,
    capacity: { cpu: '32', memory: '128Gi', pods: '110' }, heartbeatSeconds: 30, reportRunning,
  });
}
