import { definePlugin } from '@kern/sdk';
import { readBatchConfig } from './config';
import { CronJobController } from './cronjob-controller';
import { JobController } from './job-controller';

export { JobController, JOB_DEFAULTS, JOB_REASONS, JOB_NAME_LABEL, CONTROLLER_UID_LABEL, COMPLETION_INDEX_ANNOTATION, COMPLETION_INDEX_ENV, jobFinished } from './job-controller';
export type { JobControllerOptions } from './job-controller';
export { CronJobController, CRONJOB_DEFAULTS, CRONJOB_REASONS, SCHEDULED_TIMESTAMP_ANNOTATION, jobNameFor } from './cronjob-controller';
export type { CronJobControllerOptions } from './cronjob-controller';
export { parseSchedule, missedSchedules, MAX_MISSED_SCHEDULES } from './cron-schedule';
export { formatIndexes, parseIndexes } from './completed-indexes';
export { FakeClock, systemClock } from './clock';
export type { Clock } from './clock';
export type { BatchConfig } from './config';

/**
 * batch: the Job and CronJob controllers. Both run in the kernel process and
 * talk to the state only through the `state.*` syscalls.
 */
export default definePlugin({
  activate(ctx) {
    const config = readBatchConfig(ctx.config);
    const jobs = new JobController(ctx.syscalls, { logger: ctx.logger.child({ controller: 'job' }), workers: config.jobWorkers });
    const cronJobs = new CronJobController(ctx.syscalls, { logger: ctx.logger.child({ controller: 'cronjob' }), workers: config.cronJobWorkers });
    jobs.start();
    cronJobs.start();
    ctx.subscriptions.push(jobs, cronJobs);
    ctx.logger.info(config, 'job and cronjob controllers started');
  },
});
