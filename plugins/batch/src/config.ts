import { errors } from '@kern/sdk';

/** The `plugins.batch` config section. */
export interface BatchConfig {
  /** Jobs synced at the same time. Default 2. */
  jobWorkers: number;
  /** CronJobs synced at the same time. Default 2. */
  cronJobWorkers: number;
}

export const BATCH_CONFIG_DEFAULTS: BatchConfig = { jobWorkers: 2, cronJobWorkers: 2 };

/** Reads and checks the config section; Invalid names the field. */
export function readBatchConfig(raw: Record<string, unknown>): BatchConfig {
  const out: BatchConfig = { ...BATCH_CONFIG_DEFAULTS };
  for (const [k, v] of Object.entries(raw ?? {})) {
    if (k !== 'jobWorkers' && k !== 'cronJobWorkers') {
      throw errors.invalid(`plugins.batch.${k}`, 'unknown setting (known: jobWorkers, cronJobWorkers)');
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 64) {
      throw errors.invalid(`plugins.batch.${k}`, `must be a whole number from 1 to 64, got ${JSON.stringify(v)}`);
    }
    out[k] = v;
  }
  return out;
}
