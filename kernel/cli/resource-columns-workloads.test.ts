import { KernObject } from '@kern/sdk';
import { columnsFor, headerOf, rowOf } from './resource-columns';
import { rolloutStatusLine } from './commands/rollout-command';

const now = Date.parse('2024-01-01T00:10:00Z');
const meta = { name: 'web', namespace: 'default', creationTimestamp: '2024-01-01T00:00:00Z', generation: 1 };

it.each([
  ['Deployment', { spec: { replicas: 3 }, status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 } }, ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'], ['web', '2/3', '3', '2', '10m']],
  ['ReplicaSet', { spec: { replicas: 3 }, status: { replicas: 3, readyReplicas: 1 } }, ['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE'], ['web', '3', '3', '1', '10m']],
  ['DaemonSet', { status: { desiredNumberScheduled: 2, currentNumberScheduled: 2, numberReady: 1, updatedNumberScheduled: 2, numberAvailable: 1 } }, ['NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'], ['web', '2', '2', '1', '2', '1', '10m']],
])('%s columns', (kind, body, header, row) => {
  const obj = { apiVersion: 'apps/v1', kind, metadata: meta, ...body } as KernObject;
  const cols = columnsFor(kind);
  expect(headerOf(cols)).toEqual(header);
  expect(rowOf(obj, cols, now)).toEqual(row);
});

it.each([
  [{ replicas: 3, updatedReplicas: 1, availableReplicas: 1, observedGeneration: 1 }, false, /1 out of 3 new replicas/],
  [{ replicas: 3, updatedReplicas: 3, availableReplicas: 3, observedGeneration: 1 }, true, /successfully rolled out/],
])('rollout status %j', (status, done, message) => {
  const st = rolloutStatusLine({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta, spec: { replicas: 3, selector: {}, template: { spec: { containers: [] } } }, status });
  expect(st.done).toBe(done);
  expect(st.message).toMatch(message);
});
