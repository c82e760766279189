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
