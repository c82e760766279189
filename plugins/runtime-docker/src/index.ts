import { PluginContext, definePlugin, isKernelError, toDisposable } from '@kern/sdk';
import { parseConfig } from './config';
import { DockerRuntimeDriver } from './docker-runtime-driver';

export { DockerRuntimeDriver, DOCKER_LABELS } from './docker-runtime-driver';
export type { DockerRuntimeDriverOptions } from './docker-runtime-driver';
export { DEFAULT_CONFIG, SANDBOX_NETWORK_MODES, parseConfig } from './config';
export type { DockerRuntimeConfig, SandboxNetworkMode } from './config';
export {
  PAUSE_COMMAND, buildLocalImage, busyboxRootfsTar, importRootfsImage, isLocallyBuildable, splitImageName,
} from './local-images';

/** The driver each activation made, so `deactivate` can close its connections. */
const drivers = new WeakMap<PluginContext, DockerRuntimeDriver>();

/**
 * runtime-docker: registers the `docker` runtime driver. A bad config
 * section fails activation with Invalid naming the field; an engine that is
 * not answering yet only logs a warning (calls fail with Unavailable until
 * it does).
 */
export const plugin = definePlugin({
  async activate(ctx) {
    const config = parseConfig(ctx.config);
    const logger = ctx.logger.child({ driver: 'runtime/docker' });
    const driver = new DockerRuntimeDriver({ ...config, logger });
    drivers.set(ctx, driver);
    // Disposed in reverse: unregister first, then close the connections.
    ctx.subscriptions.push(toDisposable(() => driver.close()));
    ctx.subscriptions.push(ctx.drivers.register('runtime', 'docker', driver));
    try {
      const info = await driver.info();
      logger.info({ version: info.version, capabilities: info.capabilities, socketPath: config.socketPath },
        'docker runtime ready');
    } catch (e) {
      logger.warn({ socketPath: config.socketPath, err: isKernelError(e) ? e.message : String(e) },
        'docker engine not answering; runtime calls fail until it does');
    }
  },
  deactivate(ctx) {
    drivers.get(ctx)?.close();
    drivers.delete(ctx);
  },
});

export default plugin;
