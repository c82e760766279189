import { definePlugin, toDisposable } from '@kern/sdk';
import { readWorkloadsConfig } from './config';
import { DaemonSetController } from './daemonset-controller';
import { DeploymentController } from './deployment-controller';
import { GarbageCollector } from './garbage-collector';
import { ReplicaSetController } from './replicaset-controller';
import { WorkloadInformers } from './workload-informers';

export { ReplicaSetController, deletionOrder } from './replicaset-controller';
export { DeploymentController, DEPLOYMENT_DEFAULTS, rollingParams } from './deployment-controller';
export { DaemonSetController, nodeEligible } from './daemonset-controller';
export { GarbageCollector, GC_DEFAULTS } from './garbage-collector';
export { WorkloadInformers } from './workload-informers';
export * from './workload-helpers';
export type { WorkloadsConfig } from './config';

/**
 * workloads: the user-space controllers for ReplicaSet, Deployment and
 * DaemonSet, and the garbage collector that deletes dependents of deleted
 * owners. Everything goes through the `state.*` syscalls.
 */
export default definePlugin({
  activate(ctx) {
    const config = readWorkloadsConfig(ctx.config);
    const informers = new WorkloadInformers(ctx.syscalls, ctx.logger);
    // Subscriptions are disposed in reverse: controllers stop first, then the caches.
    ctx.subscriptions.push(informers);
    if (config.replicaSets) {
      const c = new ReplicaSetController(ctx.syscalls, informers, ctx.logger.child({ controller: 'replicaset' }));
      c.start(config.workers);
      ctx.subscriptions.push(c);
    }
    if (config.deployments) {
      const c = new DeploymentController(ctx.syscalls, informers, ctx.logger.child({ controller: 'deployment' }));
      c.start(config.workers);
      ctx.subscriptions.push(c);
    }
    if (config.daemonSets) {
      const c = new DaemonSetController(ctx.syscalls, informers, ctx.logger.child({ controller: 'daemonset' }));
      c.start(config.workers);
      ctx.subscriptions.push(c);
    }
    if (config.garbageCollector) {
      const gc = new GarbageCollector(ctx.syscalls, ctx.logger.child({ controller: 'garbage-collector' }), { shared: informers.byKind() });
      gc.start();
      ctx.subscriptions.push(gc);
    }
    informers.start();
    ctx.subscriptions.push(toDisposable(() => ctx.logger.info('workload controllers stopped')));
    ctx.logger.info({ ...config }, 'workload controllers started');
  },
});
