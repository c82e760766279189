/**
 * What the API knows about a kind: its group/version, plural (the URL path
 * segment), whether it lives in a namespace, and CLI short names.
 */
export interface KindInfo {
  kind: string;
  /** `v1` for the core group, `group/version` otherwise. */
  apiVersion: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
}

/** Kinds the kernel serves from its first boot. Later plugins add more. */
export const CORE_KINDS: readonly KindInfo[] = [
  { kind: 'Namespace', apiVersion: 'v1', plural: 'namespaces', singular: 'namespace', namespaced: false, shortNames: ['ns'] },
  { kind: 'Node', apiVersion: 'v1', plural: 'nodes', singular: 'node', namespaced: false, shortNames: ['no'] },
  { kind: 'Pod', apiVersion: 'v1', plural: 'pods', singular: 'pod', namespaced: true, shortNames: ['po'] },
  { kind: 'Event', apiVersion: 'v1', plural: 'events', singular: 'event', namespaced: true, shortNames: ['ev'] },
  { kind: 'ConfigMap', apiVersion: 'v1', plural: 'configmaps', singular: 'configmap', namespaced: true, shortNames: ['cm'] },
  { kind: 'Lease', apiVersion: 'coordination.k8s.io/v1', plural: 'leases', singular: 'lease', namespaced: true },
  { kind: 'Deployment', apiVersion: 'apps/v1', plural: 'deployments', singular: 'deployment', namespaced: true, shortNames: ['deploy'] },
  { kind: 'ReplicaSet', apiVersion: 'apps/v1', plural: 'replicasets', singular: 'replicaset', namespaced: true, shortNames: ['rs'] },
  { kind: 'DaemonSet', apiVersion: 'apps/v1', plural: 'daemonsets', singular: 'daemonset', namespaced: true, shortNames: ['ds'] },
  { kind: 'ControllerRevision', apiVersion: 'apps/v1', plural: 'controllerrevisions', singular: 'controllerrevision', namespaced: true },
  { kind: 'Job', apiVersion: 'batch/v1', plural: 'jobs', singular: 'job', namespaced: true },
  { kind: 'CronJob', apiVersion: 'batch/v1', plural: 'cronjobs', singular: 'cronjob', namespaced: true, shortNames: ['cj'] },
  { kind: 'PriorityClass', apiVersion: 'scheduling.k8s.io/v1', plural: 'priorityclasses', singular: 'priorityclass', namespaced: false, shortNames: ['pc'] },
];

/** Splits `apps/v1` into group and version; the core group is ''. */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}
