import { KernObject, Pod } from '@kern/sdk';
import { ApiTestContext, createApiTestContext } from '../../test/helpers/api-test-context';

describe('StateService', () => {
  let ctx: ApiTestContext;
  beforeEach(async () => { ctx = await createApiTestContext(); });
  afterEach(async () => { await ctx.cleanup(); });

  it('does not refuse a status write for a spec the current checks would refuse (a pod stored before the check existed)', async () => {
    const sys = ctx.syscalls.handleFor('test', ['*']);
    // Written past validation, as by an older Kern: an operator the check now refuses.
    const old = await ctx.store.create({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'old', namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'busybox' }], tolerations: [{ key: 'k', operator: 'In' }] },
    } as unknown as KernObject) as Pod;
    const running = await sys.call('state.update', { object: { ...old, status: { phase: 'Running' } } as KernObject, subresource: 'status' }) as Pod;
    expect(running.status?.phase).toBe('Running');
    // a write of the spec itself still is checked
    await expect(sys.call('state.update', { object: running as KernObject }))
      .rejects.toMatchObject({ kind: 'Invalid', field: 'spec.tolerations[0].operator' });
  });

  it('refuses a parsed "__proto__" key in metadata as an unknown field, not as fields to inherit', async () => {
    const sys = ctx.syscalls.handleFor('test', ['*']);
    const object = JSON.parse('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","__proto__":{"namespace":"other"}}}') as KernObject;
    await expect(sys.call('state.create', { object })).rejects.toMatchObject({ kind: 'Invalid', field: 'metadata.__proto__' });
    await expect(ctx.store.get({ kind: 'ConfigMap', namespace: '', name: 'x' })).rejects.toMatchObject({ kind: 'NotFound' });
    await expect(ctx.store.get({ kind: 'ConfigMap', namespace: 'default', name: 'x' })).rejects.toMatchObject({ kind: 'NotFound' });
  });
});
