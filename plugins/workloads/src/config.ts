import { errors } from '@kern/sdk';

/** The `plugins.workloads` config section. */
export interface WorkloadsConfig {
  /** Run the ReplicaSet controller. Default true. */
  replicaSets: boolean;
  /** Run the Deployment controller. Default true. */
  deployments: boolean;
  /** Run the DaemonSet controller. Default true. */
  daemonSets: boolean;
  /** Run the garbage collector. Default true. */
  garbageCollector: boolean;
  /** Workers per controller. Default 2. */
  workers: number;
}

export const WORKLOADS_CONFIG_DEFAULTS: WorkloadsConfig = {
  replicaSets: true, deployments: true, daemonSets: true, garbageCollector: true, workers: 2,
};

/** Reads and checks the config section; Invalid names the field. */
export function readWorkloadsConfig(raw: Record<string, unknown>): WorkloadsConfig {
  const out: WorkloadsConfig = { ...WORKLOADS_CONFIG_DEFAULTS };
  for (const [k, v] of Object.entries(raw ?? {})) {
    if (k === 'workers') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 64) throw errors.invalid('plugins.workloads.workers', 'must be a whole number from 1 to 64');
      out.workers = v;
    } else if (k === 'replicaSets' || k === 'deployments' || k === 'daemonSets' || k === 'garbageCollector') {
      if (typeof v !== 'boolean') throw errors.invalid(`plugins.workloads.${k}`, 'must be true or false');
      out[k] = v;
    } else {
      throw errors.invalid(`plugins.workloads.${k}`, 'unknown setting (known: replicaSets, deployments, daemonSets, garbageCollector, workers)');
    }
  }
  return out;
}
