import { CORE_KINDS, KernObject } from '@kern/sdk';
import { validateObject } from './validation';

const podKind = CORE_KINDS.find((k) => k.kind === 'Pod')!;
const pod = (spec: Record<string, unknown>): KernObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
});

describe('Pod runtimeClassName', () => {
  it('accepts a runtime driver name', () => {
    expect(() => validateObject(pod({ runtimeClassName: 'raw-exec' }), podKind)).not.toThrow();
  });

  it.each([['not a DNS label', 'Raw_Exec'], ['not a string', 7]])('refuses %s, naming the field', (_what, value) => {
    expect(() => validateObject(pod({ runtimeClassName: value }), podKind)).toThrow(expect.objectContaining({ kind: 'Invalid', field: 'spec.runtimeClassName' }));
  });
});

describe('Pod tolerations', () => {
  it('accepts the forms Kubernetes accepts', () => {
    const tolerations = [
      { key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
      { operator: 'Exists' },
      { key: 'k', value: 'v' },
      { key: 'k', operator: '', value: 'v' },
    ];
    expect(() => validateObject(pod({ tolerations }), podKind)).not.toThrow();
  });

  it.each([
    ['not a list', { key: 'k' }, 'spec.tolerations'],
    ['an unknown operator', [{ key: 'k', operator: 'In' }], 'spec.tolerations[0].operator'],
    ['a value with Exists', [{ key: 'k', operator: 'Exists', value: 'v' }], 'spec.tolerations[0].value'],
    ['an empty key with Equal', [{ value: 'v' }], 'spec.tolerations[0].operator'],
    ['an unknown effect', [{ key: 'k', effect: 'NoRun' }], 'spec.tolerations[0].effect'],
    ['tolerationSeconds without NoExecute', [{ key: 'k', effect: 'NoSchedule', tolerationSeconds: 5 }], 'spec.tolerations[0].effect'],
    ['fractional tolerationSeconds', [{ key: 'k', effect: 'NoExecute', tolerationSeconds: 1.5 }], 'spec.tolerations[0].tolerationSeconds'],
    ['an unknown field', [{ key: 'k', seconds: 5 }], 'spec.tolerations[0].seconds'],
  ])('refuses %s, naming the field', (_what, tolerations, field) => {
    expect(() => validateObject(pod({ tolerations }), podKind)).toThrow(expect.objectContaining({ kind: 'Invalid', field }));
  });
});
