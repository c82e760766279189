import { CORE_KINDS, KernObject } from '@kern/sdk';
import { validateObject } from './validation';

const kind = (k: string) => CORE_KINDS.find((i) => i.kind === k)!;
const podTemplate = (restartPolicy?: string) => ({ spec: { ...(restartPolicy ? { restartPolicy } : {}), containers: [{ name: 'c', image: 'busybox' }] } });
const job = (spec: Record<string, unknown>): KernObject => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', namespace: 'default' }, spec: { template: podTemplate('Never'), ...spec } });
const cronJob = (spec: Record<string, unknown>): KernObject => ({
  apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'cj', namespace: 'default' },
  spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: podTemplate('OnFailure') } }, ...spec },
});

describe('Job and CronJob validation', () => {
  it.each([
    ['a plain job', job({ completions: 3, parallelism: 2, backoffLimit: 0, ttlSecondsAfterFinished: 0 })],
    ['an indexed job', job({ completions: 3, completionMode: 'Indexed' })],
    ['a cronjob', cronJob({ timeZone: 'Europe/Berlin', concurrencyPolicy: 'Forbid', startingDeadlineSeconds: 30 })],
    ['a cronjob with a macro', cronJob({ schedule: '@hourly' })],
  ])('accepts %s', (_name, obj) => {
    expect(() => validateObject(obj, kind(obj.kind))).not.toThrow();
  });

  it.each([
    ['no restartPolicy', job({ template: podTemplate() }), 'spec.template.spec.restartPolicy'],
    ['restartPolicy Always', job({ template: podTemplate('Always') }), 'spec.template.spec.restartPolicy'],
    ['negative parallelism', job({ parallelism: -1 }), 'spec.parallelism'],
    ['activeDeadlineSeconds 0', job({ activeDeadlineSeconds: 0 }), 'spec.activeDeadlineSeconds'],
    ['Indexed without completions', job({ completionMode: 'Indexed' }), 'spec.completions'],
    ['an unknown job field', job({ paralelism: 2 }), 'spec.paralelism'],
    ['a cronjob template restartPolicy Always', cronJob({ jobTemplate: { spec: { template: podTemplate('Always') } } }), 'spec.jobTemplate.spec.template.spec.restartPolicy'],
    ['six cron fields', cronJob({ schedule: '0 * * * * *' }), 'spec.schedule'],
    ['TZ= in the schedule', cronJob({ schedule: 'TZ=UTC 0 * * * *' }), 'spec.schedule'],
    ['an unknown time zone', cronJob({ timeZone: 'Mars/Olympus' }), 'spec.timeZone'],
    ['a bad concurrencyPolicy', cronJob({ concurrencyPolicy: 'Never' }), 'spec.concurrencyPolicy'],
    ['a negative history limit', cronJob({ failedJobsHistoryLimit: -1 }), 'spec.failedJobsHistoryLimit'],
  ])('refuses %s, naming the field', (_name, obj, field) => {
    expect(() => validateObject(obj, kind(obj.kind))).toThrow(expect.objectContaining({ kind: 'Invalid', field }));
  });
});
