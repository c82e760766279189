import { KernObject, Node, Pod } from '@kern/sdk';
import { columnsFor, headerOf, nodeRoles, nodeStatus, podReady, podRestarts, podStatus, rowOf } from './resource-columns';

const now = Date.parse('2024-05-01T12:00:00Z');
const created = '2024-05-01T11:57:00Z';

function pod(status: Pod['status'] = {}, extra: Partial<Pod['metadata']> = {}, spec: Partial<Pod['spec']> = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'web', namespace: 'demo', creationTimestamp: created, ...extra },
    spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }], ...spec },
    status,
  };
}

describe('columnsFor', () => {
  it.each([
    ['Pod', {}, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']],
    ['Pod', { wide: true }, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE']],
    ['Pod', { withNamespace: true }, ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']],
    ['Node', {}, ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION']],
    ['Namespace', {}, ['NAME', 'STATUS', 'AGE']],
    ['Event', {}, ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']],
    ['SomethingNew', {}, ['NAME', 'AGE']],
    ['SomethingNew', { withNamespace: true }, ['NAMESPACE', 'NAME', 'AGE']],
  ])('%s %j', (kind, options, header) => {
    expect(headerOf(columnsFor(kind, options))).toEqual(header);
  });
});

describe('pod cells', () => {
  it('prints a fresh pod as pending', () => {
    expect(rowOf(pod(), columnsFor('Pod', { wide: true, withNamespace: true }), now)).toEqual(['demo', 'web', '0/2', 'Pending', '0', '3m', '<none>', '<none>']);
  });

  it('prefixes the name when several kinds share the output', () => {
    expect(rowOf(pod(), columnsFor('Pod'), now, 'pod/')[0]).toBe('pod/web');
  });

  it.each<[string, Pod]>([
    ['Running', pod({ phase: 'Running', containerStatuses: [
      { name: 'a', image: 'x', ready: true, restartCount: 0, state: { running: { startedAt: created } } },
      { name: 'b', image: 'y', ready: true, restartCount: 2, state: { running: { startedAt: created } } },
    ] })],
    ['CrashLoopBackOff', pod({ phase: 'Running', containerStatuses: [
      { name: 'a', image: 'x', ready: true, restartCount: 0, state: { running: { startedAt: created } } },
      { name: 'b', image: 'y', ready: false, restartCount: 5, state: { waiting: { reason: 'CrashLoopBackOff' } } },
    ] })],
    ['Completed', pod({ phase: 'Succeeded', containerStatuses: [
      { name: 'a', image: 'x', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
    ] })],
    ['ExitCode:3', pod({ phase: 'Failed', containerStatuses: [
      { name: 'a', image: 'x', ready: false, restartCount: 0, state: { terminated: { exitCode: 3 } } },
    ] })],
    ['Init:0/1', pod({ phase: 'Pending', initContainerStatuses: [
      { name: 'i', image: 'x', ready: false, restartCount: 0, state: { running: { startedAt: created } } },
    ] }, {}, { initContainers: [{ name: 'i', image: 'x' }] })],
    ['Init:ErrImagePull', pod({ phase: 'Pending', initContainerStatuses: [
      { name: 'i', image: 'x', ready: false, restartCount: 0, state: { waiting: { reason: 'ErrImagePull' } } },
    ] })],
    ['Evicted', pod({ phase: 'Failed', reason: 'Evicted' })],
    ['Terminating', pod({ phase: 'Running' }, { deletionTimestamp: created })],
  ])('STATUS %s', (status, p) => {
    expect(podStatus(p)).toBe(status);
  });

  it('counts ready containers and restarts', () => {
    const p = pod({ containerStatuses: [
      { name: 'a', image: 'x', ready: true, restartCount: 1, state: {} },
      { name: 'b', image: 'y', ready: false, restartCount: 2, state: {} },
    ] });
    expect([podReady(p), podRestarts(p)]).toEqual(['1/2', '3']);
  });
});

describe('node cells', () => {
  const node = (ready?: 'True' | 'False', labels: Record<string, string> = {}, unschedulable = false): Node => ({
    apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels, creationTimestamp: created },
    spec: { unschedulable },
    status: { conditions: ready ? [{ type: 'Ready', status: ready }] : [], nodeInfo: { kernVersion: 'v0.1.0' } },
  });

  it.each([
    [node('True'), 'Ready'],
    [node('False'), 'NotReady'],
    [node(), 'Unknown'],
    [node('True', {}, true), 'Ready,SchedulingDisabled'],
  ])('STATUS of %#', (n, status) => {
    expect(nodeStatus(n)).toBe(status);
  });

  it.each([
    [{}, '<none>'],
    [{ 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/worker': '' }, 'control-plane,worker'],
  ])('ROLES of %j', (labels, roles) => {
    expect(nodeRoles(node('True', labels))).toBe(roles);
  });

  it('prints a row', () => {
    expect(rowOf(node('True'), columnsFor('Node'), now)).toEqual(['n1', 'Ready', '<none>', '3m', 'v0.1.0']);
  });
});

describe('namespace cells', () => {
  it.each<[KernObject, string]>([
    [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', creationTimestamp: created } }, 'Active'],
    [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', creationTimestamp: created, deletionTimestamp: created } }, 'Terminating'],
  ])('STATUS %#', (ns, status) => {
    expect(rowOf(ns, columnsFor('Namespace'), now)).toEqual(['a', status, '3m']);
  });
});

describe('event cells', () => {
  it('shows when, what kind, why, about which object, and the message', () => {
    const event = {
      apiVersion: 'v1', kind: 'Event', metadata: { name: 'web.17a', namespace: 'demo', creationTimestamp: created },
      involvedObject: { kind: 'Pod', name: 'web' }, type: 'Normal', reason: 'TaintManagerEviction', message: 'deleted', lastTimestamp: '2024-05-01T11:59:00Z',
    } as unknown as KernObject;
    expect(rowOf(event, columnsFor('Event'), now)).toEqual(['60s', 'Normal', 'TaintManagerEviction', 'pod/web', 'deleted']);
  });
});
