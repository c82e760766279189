import { KernObject } from '@kern/sdk';
import { LAST_APPLIED, applyManifest, mergeApplied } from './apply-merge';

describe('mergeApplied', () => {
  it.each([
    ['desired fields win', { a: 1, b: 2 }, undefined, { a: 3 }, { a: 3, b: 2 }],
    ['fields nobody applied stay', { nodeName: 'n1', x: 1 }, { x: 1 }, { x: 2 }, { nodeName: 'n1', x: 2 }],
    ['fields dropped from the manifest go', { x: 1, y: 2 }, { x: 1, y: 2 }, { x: 1 }, { x: 1 }],
    ['maps merge deeply', { m: { a: 1, b: 2 } }, { m: { a: 1 } }, { m: { a: 5 } }, { m: { a: 5, b: 2 } }],
    ['lists are replaced whole', { l: [1, 2, 3] }, { l: [1, 2, 3] }, { l: [4] }, { l: [4] }],
  ])('%s', (_name, current, last, desired, expected) => {
    expect(mergeApplied(current, last, desired)).toEqual(expected);
  });
});

describe('applyManifest', () => {
  const manifest = (image: string, labels: Record<string, string> = { app: 'web' }): KernObject => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default', labels },
    spec: { containers: [{ name: 'main', image }] },
  });

  it('keeps what controllers set (node, finalizers, status) and records the manifest', () => {
    const first = applyManifest({ ...manifest('a'), metadata: { ...manifest('a').metadata, uid: 'u1' } }, manifest('a'));
    const bound: KernObject = {
      ...first,
      metadata: { ...first.metadata, finalizers: ['kern.io/node-agent'] },
      spec: { ...(first.spec as object), nodeName: 'node-1' },
      status: { phase: 'Running' },
    };
    const next = applyManifest(bound, manifest('b', { app: 'web', tier: 'front' }));
    expect(next.spec).toEqual({ containers: [{ name: 'main', image: 'b' }], nodeName: 'node-1' });
    expect(next.metadata.finalizers).toEqual(['kern.io/node-agent']);
    expect(next.metadata.labels).toEqual({ app: 'web', tier: 'front' });
    expect(next.status).toEqual({ phase: 'Running' });
    expect(JSON.parse(next.metadata.annotations![LAST_APPLIED]).spec.containers[0].image).toBe('b');
  });

  it('removes a label that the previous apply set and this one drops', () => {
    const once = applyManifest(manifest('a', { app: 'web', tier: 'front' }), manifest('a', { app: 'web', tier: 'front' }));
    const twice = applyManifest(once, manifest('a', { app: 'web' }));
    expect(twice.metadata.labels).toEqual({ app: 'web' });
  });
});
