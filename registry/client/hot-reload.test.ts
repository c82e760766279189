import { KernelError } from '@kern/sdk';
import { applyUnderKernel, dependencyOrder } from './hot-reload';
import { KernelPluginInfo, KernelPlugins } from './kernel-plugins';

/** A kernel that records calls; `failLoad`/`failUnload` name the dirs or ids that fail. */
function fakeKernel(plugins: KernelPluginInfo[], o: { failLoad?: string[]; failUnload?: string[] } = {}) {
  const calls: string[] = [];
  const kernel: KernelPlugins = {
    list: async () => plugins,
    load: async (dir) => {
      calls.push(`load ${dir}`);
      if (o.failLoad?.includes(dir)) throw new KernelError('Unavailable', `plugin at ${dir} failed to activate: boom`);
      return { id: dir, version: '', state: 'active', dir, requires: {} };
    },
    unload: async (id) => {
      calls.push(`unload ${id}`);
      if (o.failUnload?.includes(id)) throw new KernelError('FailedPrecondition', `plugin ${id} is required by x, which is active; unload it first`);
    },
  };
  return { kernel, calls };
}

const active = (id: string, version: string, requires: Record<string, string> = {}): KernelPluginInfo => ({ id, version, state: 'active', dir: `/old/${id}`, requires });

function fileChange(calls: string[]) {
  return { apply: async () => { calls.push('files apply'); }, undo: async () => { calls.push('files undo'); } };
}

describe('applyUnderKernel', () => {
  const running = [active('base', '1.0.0'), active('mid', '1.0.0', { base: '^1.0.0' }), active('top', '1.0.0', { mid: '^1.0.0' }), active('other', '1.0.0')];

  it('steps active dependents aside, changes the files, then loads dependencies first', async () => {
    const { kernel, calls } = fakeKernel(running);
    const applied = await applyUnderKernel(kernel, { changed: ['base'], load: [{ id: 'base', version: '1.1.0', dir: '/new/base', requires: {} }] }, fileChange(calls));
    expect(calls).toEqual(['unload top', 'unload mid', 'unload base', 'files apply', 'load /new/base', 'load /old/mid', 'load /old/top']);
    expect(applied).toEqual(['base', 'mid', 'top']);
  });

  it('rolls back when a new package fails to activate, and names it', async () => {
    const { kernel, calls } = fakeKernel(running, { failLoad: ['/new/base'] });
    const warnings: string[] = [];
    const err = await applyUnderKernel(kernel, { changed: ['base'], load: [{ id: 'base', version: '2.0.0', dir: '/new/base', requires: {} }] }, fileChange(calls), (w) => warnings.push(w)).catch((e) => e);
    expect(err.message).toBe('plugin base 2.0.0 failed to load in place of 1.0.0: plugin at /new/base failed to activate: boom; rolled back to the previous plugins (base 1.0.0, mid 1.0.0, top 1.0.0)');
    expect(err.code).toBe('KERN_ERR_REGISTRY_ACTIVATION_FAILED');
    expect(calls).toEqual([
      'unload top', 'unload mid', 'unload base', 'files apply', 'load /new/base',
      'files undo', 'load /old/base', 'load /old/mid', 'load /old/top',
    ]);
    expect(warnings).toEqual([]);
  });

  it('leaves the files alone and loads back what it unloaded when an unload is refused', async () => {
    const { kernel, calls } = fakeKernel(running, { failUnload: ['base'] });
    await expect(applyUnderKernel(kernel, { changed: ['base'], load: [] }, fileChange(calls))).rejects.toThrow(/required by x/);
    expect(calls).toEqual(['unload top', 'unload mid', 'unload base', 'load /old/mid', 'load /old/top']);
  });
});

describe('dependencyOrder', () => {
  it('puts each item after what it requires, keeping list order otherwise', () => {
    const items = [{ id: 'c', requires: { b: '*' } }, { id: 'x' }, { id: 'b', requires: { a: '*' } }, { id: 'a' }];
    expect(dependencyOrder(items).map((i) => i.id)).toEqual(['a', 'b', 'c', 'x']);
  });
});
