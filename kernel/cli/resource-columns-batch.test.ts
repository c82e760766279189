import { CronJob, Job } from '@kern/sdk';
import { columnsFor, headerOf, rowOf } from './resource-columns';

const now = Date.parse('2024-05-01T12:00:00Z');
const created = '2024-05-01T11:50:00Z';

describe('Job and CronJob columns', () => {
  it.each<[string, Partial<Job['spec']>, Job['status'], string[]]>([
    ['a running job', { completions: 5 }, { succeeded: 2, startTime: '2024-05-01T11:58:00Z' }, ['pi', '2/5', '2m', '10m']],
    ['a finished job', { completions: 3 }, { succeeded: 3, startTime: '2024-05-01T11:51:00Z', completionTime: '2024-05-01T11:51:45Z' }, ['pi', '3/3', '45s', '10m']],
    ['a job without completions', { parallelism: 4 }, {}, ['pi', '0/1 of 4', '', '10m']],
  ])('prints %s', (_name, spec, status, row) => {
    const job: Job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'pi', creationTimestamp: created }, spec: { template: { spec: { containers: [] } }, ...spec }, status };
    expect(headerOf(columnsFor('Job'))).toEqual(['NAME', 'COMPLETIONS', 'DURATION', 'AGE']);
    expect(rowOf(job, columnsFor('Job'), now)).toEqual(row);
  });

  it('prints a cronjob', () => {
    const cj: CronJob = {
      apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'tick', creationTimestamp: created },
      spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { spec: { containers: [] } } } } },
      status: { active: [{ kind: 'Job', name: 'tick-1' }], lastScheduleTime: '2024-05-01T11:55:00Z' },
    };
    expect(headerOf(columnsFor('CronJob'))).toEqual(['NAME', 'SCHEDULE', 'SUSPEND', 'ACTIVE', 'LAST SCHEDULE', 'AGE']);
    expect(rowOf(cj, columnsFor('CronJob'), now)).toEqual(['tick', '*/5 * * * *', 'False', '1', '5m', '10m']);
    expect(rowOf({ ...cj, status: {} }, columnsFor('CronJob'), now)).toEqual(['tick', '*/5 * * * *', 'False', '0', '<none>', '10m']);
  });
});
