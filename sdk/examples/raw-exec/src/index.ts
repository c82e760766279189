import { definePlugin } from '@kern/sdk';
import { parseConfig } from './config';
import { RawExecRuntimeDriver } from './driver';

export { RawExecRuntimeDriver } from './driver';
export type { RawExecRuntimeDriverOptions } from './driver';
export { DEFAULT_BUSYBOX_PATH, DEFAULT_PATH, parseConfig } from './config';
export type { RawExecConfig } from './config';
export { LOST_EXIT_CODE } from './container-status';
export { HOST_IMAGE, createConformanceTarget, removeEverything } from './conformance-target';
export type { ConformanceTargetOptions, RuntimeConformanceTarget } from './conformance-target';
export { RAW_EXEC_VERSION } from './version';

/**
 * runtime-raw-exec, in-process: registers the `raw-exec` runtime driver.
 * Activation fails with Invalid for a bad config section and with
 * FailedPrecondition when busybox or setsid is missing, naming what to
 * install.
 */
export const plugin = definePlugin({
  async activate(ctx) {
    const config = parseConfig(ctx.config, ctx.dataDir);
    const logger = ctx.logger.child({ driver: 'runtime/raw-exec' });
    const driver = new RawExecRuntimeDriver({ ...config, logger });
    await driver.prepare();
    ctx.subscriptions.push(ctx.drivers.register('runtime', 'raw-exec', driver));
    logger.info({ stateDir: config.stateDir, busyboxPath: config.busyboxPath }, 'raw-exec runtime ready');
  },
});

export default plugin;
