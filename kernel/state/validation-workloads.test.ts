import { CORE_KINDS, KernObject } from '@kern/sdk';
import { validateObject } from './validation';

const kind = (k: string) => CORE_KINDS.find((x) => x.kind === k)!;
const workload = (k: string, spec: Record<string, unknown>): KernObject => ({ apiVersion: 'apps/v1', kind: k, metadata: { name: 'w', namespace: 'default' }, spec });
const good = { replicas: 2, selector: { matchLabels: { app: 'w' } }, template: { metadata: { labels: { app: 'w' } }, spec: { containers: [{ name: 'c', image: 'img' }] } } };

describe('workload validation', () => {
  it.each(['Deployment', 'ReplicaSet'])('accepts a good %s', (k) => {
    expect(() => validateObject(workload(k, good), kind(k))).not.toThrow();
  });
  it('accepts a good DaemonSet', () => {
    const { replicas: _r, ...ds } = good;
    expect(() => validateObject(workload('DaemonSet', { ...ds, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } } }), kind('DaemonSet'))).not.toThrow();
  });
  it.each([
    ['Deployment', { ...good, selector: undefined }, 'spec.selector'],
    ['Deployment', { ...good, selector: {} }, 'spec.selector'],
    ['ReplicaSet', { ...good, selector: { matchLabels: { app: 'x' } } }, 'spec.template.metadata.labels'],
    ['ReplicaSet', { ...good, replicas: -1 }, 'spec.replicas'],
    ['ReplicaSet', { ...good, replicas: 1.5 }, 'spec.replicas'],
    ['Deployment', { ...good, template: { ...good.template, spec: { containers: [{ name: 'c' }] } } }, 'spec.template.spec.containers[0].image'],
    ['Deployment', { ...good, template: undefined }, 'spec.template'],
    ['Deployment', { ...good, strategy: { type: 'Blue' } }, 'spec.strategy.type'],
    ['Deployment', { ...good, strategy: { rollingUpdate: { maxSurge: 'lots' } } }, 'spec.strategy.rollingUpdate.maxSurge'],
    ['Deployment', { ...good, strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } } }, 'spec.strategy.rollingUpdate.maxUnavailable'],
    ['Deployment', { ...good, replica: 3 }, 'spec.replica'],
    ['DaemonSet', { selector: good.selector, template: good.template, updateStrategy: { type: 'Sometimes' } }, 'spec.updateStrategy.type'],
  ])('%s with %j fails naming %s', (k, spec, field) => {
    expect(() => validateObject(workload(k, spec as Record<string, unknown>), kind(k))).toThrow(expect.objectContaining({ kind: 'Invalid', field }));
  });
});
