/**
 * @kern/sdk — the contract between the Kern kernel and its plugins. Plugins
 * import this package and nothing else of Kern.
 */
import 'reflect-metadata';

export * from './errors';
export * from './tokens';
export * from './logger';
export * from './selectors';
export * from './resources/meta';
export * from './resources/core';
export * from './resources/kinds';
export * from './resources/quantity';
export * from './resources/workloads';
export * from './resources/events';
export * from './store/store-driver';
export * from './store/object-rules';
export * from './store/json-copy';
export * from './store/watch-objects';
export * from './drivers/runtime-driver';
export * from './drivers/network-driver';
export * from './drivers/volume-driver';
export * from './drivers/objectstore-driver';
export * from './syscalls';
export * from './plugin';
export * from './controller/work-queue';
export * from './controller/informer';
export * from './json-lines';
export * from './sched';
export * from './controller/get-if-exists';
export * from './oop';
