import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { container } from 'tsyringe';
import { KERNEL_ABI_VERSION, KernelError, PluginContext, isErrorKind, silentLogger } from '@kern/sdk';
import { KernelDriverRegistry } from '../drivers/driver-registry';
import { SyscallTable } from '../syscalls/syscall-table';
import { PluginManager, PluginManagerOptions } from './plugin-manager';

const FIXTURES = join(__dirname, '../../test/fixtures/plugins');
const fixture = (name: string) => ({ dir: join(FIXTURES, name), builtin: false });
const fixtures = (...names: string[]) => names.map(fixture);

type Global = { __kernPluginLog?: string[] };
const log = (): string[] => (globalThis as Global).__kernPluginLog ?? [];

async function rejection(p: Promise<unknown>): Promise<KernelError> {
  try {
    await p;
  } catch (e) {
    return e as KernelError;
  }
  throw new Error('expected a rejection');
}

describe('PluginManager', () => {
  let tmp: string;
  let managers: PluginManager[];

  beforeEach(() => {
    (globalThis as Global).__kernPluginLog = [];
    tmp = mkdtempSync(join(tmpdir(), 'kern-plugins-'));
    managers = [];
  });
  afterEach(async () => {
    for (const m of managers) await m.deactivateAll();
    rmSync(tmp, { recursive: true, force: true });
  });

  // A fresh root container, driver registry and syscall table per test.
  function setup(over: Partial<PluginManagerOptions> = {}) {
    const root = container.createChildContainer();
    const drivers = new KernelDriverRegistry();
    const syscalls = new SyscallTable();
    const manager = new PluginManager({
      root, drivers, syscalls, logger: silentLogger, dataDir: join(tmp, 'data'),
      kernelVersion: KERNEL_ABI_VERSION, pluginConfig: {}, ...over,
    });
    managers.push(manager);
    return { root, drivers, syscalls, manager };
  }
  const state = (m: PluginManager, id: string) => m.get(id)?.state;

  describe('discover', () => {
    it('scans a directory of packages, skipping packages that are not plugins', async () => {
      const { manager } = setup();
      const found = await manager.discover([{ dir: FIXTURES, builtin: false }]);
      const ids = found.map((p) => p.id);
      expect(ids).toEqual(expect.arrayContaining(['alpha', 'beta', 'gamma', 'hot', 'cycle-a', 'from-source']));
      expect(ids).not.toContain('not-a-plugin');
      expect(manager.get('alpha')).toMatchObject({
        id: 'alpha', name: '@kern-fixture/alpha', version: '1.0.0', state: 'discovered', builtin: false,
        provides: [{ kind: 'test', name: 'alpha' }], requires: {}, syscalls: [],
      });
      expect(manager.get('alpha')?.dir).toBe(join(FIXTURES, 'alpha'));
    });

    it('marks built-ins and reports a missing built-in directory', async () => {
      const { manager } = setup();
      await manager.discover([{ ...fixture('alpha'), builtin: true }, { dir: join(tmp, 'gone'), builtin: true }, { dir: join(tmp, 'also-gone'), builtin: false }]);
      expect(manager.get('alpha')?.builtin).toBe(true);
      expect(manager.get('gone')).toMatchObject({ state: 'failed', builtin: true });
      expect(manager.get('gone')?.error).toContain('does not exist');
      expect(manager.list()).toHaveLength(2);
    });

    it('records an invalid manifest as failed with the field named, without throwing', async () => {
      const dir = join(tmp, 'bad');
      mkdirSync(dir);
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'bad', version: '1.0.0', kern: { id: 'bad', kernelAbi: 'abc' } }));
      const { manager } = setup();
      const [info] = await manager.discover([{ dir, builtin: false }]);
      expect(info).toMatchObject({ id: 'bad', state: 'failed' });
      expect(info.error).toContain('package.json: kern.kernelAbi: "abc" is not a semver range');
      await expect(manager.activate(['bad'])).rejects.toThrow('is not a semver range');
    });

    it('records a duplicate id as failed and keeps the first', async () => {
      const copy = join(tmp, 'alpha-copy');
      cpSync(join(FIXTURES, 'alpha'), copy, { recursive: true });
      const { manager } = setup();
      await manager.discover([...fixtures('alpha'), { dir: copy, builtin: false }]);
      const alphas = manager.list().filter((p) => p.id === 'alpha');
      expect(alphas.map((p) => p.state)).toEqual(['discovered', 'failed']);
      expect(alphas[1].error).toContain('duplicate plugin id alpha');
      expect(alphas[1].dir).toBe(copy);
      // The same directory again is not a duplicate.
      await manager.discover(fixtures('alpha'));
      expect(manager.list().filter((p) => p.id === 'alpha')).toHaveLength(2);
    });

    it('refuses a plugin built for another kernel ABI, naming both versions', async () => {
      const { manager } = setup();
      await manager.discover(fixtures('future-abi'));
      const info = manager.get('future-abi')!;
      expect(info.state).toBe('failed');
      expect(info.error).toContain('needs kernel ABI ^2.0.0');
      expect(info.error).toContain(`this kernel provides ABI ${KERNEL_ABI_VERSION}`);
      const err = await rejection(manager.activate(['future-abi']));
      expect(isErrorKind(err, 'FailedPrecondition')).toBe(true);
      expect(log()).not.toContain('activate:future-abi');
    });
  });

  describe('activate', () => {
    it('activates in dependency order with a scoped child container, config and data dir', async () => {
      const { manager, root, drivers } = setup({ pluginConfig: { alpha: { greeting: 'hi' } } });
      await manager.discover(fixtures('gamma', 'beta', 'alpha'));
      await manager.activate();
      expect(log().filter((l) => l.startsWith('activate:'))).toEqual(['activate:alpha', 'activate:beta', 'activate:gamma']);
      expect(manager.list().map((p) => p.state)).toEqual(['active', 'active', 'active']);
      expect(log()).toContain('alpha:config={"greeting":"hi"}:context=true');
      expect(readFileSync(join(tmp, 'data', 'plugins', 'alpha', 'marker'), 'utf8')).toBe('alpha');
      expect(drivers.list('test')).toEqual([{ name: 'alpha', plugin: 'alpha' }]);
      // The plugin's registrations live in its child, not in the root.
      expect(root.isRegistered(PluginContext as symbol, true)).toBe(false);
      expect(container.isRegistered(PluginContext as symbol, true)).toBe(false);
    });

    it('activates only the named plugins and what they require', async () => {
      const { manager } = setup();
      await manager.discover(fixtures('alpha', 'beta', 'gamma'));
      await manager.activate(['beta']);
      expect([state(manager, 'alpha'), state(manager, 'beta'), state(manager, 'gamma')]).toEqual(['active', 'active', 'discovered']);
      await manager.activate(['beta']); // already active: nothing to do
      expect(log().filter((l) => l === 'activate:alpha')).toHaveLength(1);
    });

    it('isolates a failed activation: dependents fail, the rest run', async () => {
      const { manager } = setup();
      await manager.discover(fixtures('alpha', 'broken', 'needs-broken', 'beta'));
      await manager.activate();
      expect(manager.get('broken')).toMatchObject({ state: 'failed', error: 'plugin broken failed to activate: boom: cannot reach the backend' });
      expect(manager.get('needs-broken')).toMatchObject({ state: 'failed', error: 'plugin needs-broken requires broken which failed' });
      expect([state(manager, 'alpha'), state(manager, 'beta')]).toEqual(['active', 'active']);
      // What the failed plugin set up is undone; deactivate is not called for it.
      expect(log()).toContain('dispose:broken');
      expect(log()).not.toContain('deactivate:broken');
      expect(log()).not.toContain('activate:needs-broken');
    });

    it('throws when a named plugin fails, so the kernel can stop', async () => {
      const { manager } = setup();
      await manager.discover(fixtures('broken', 'needs-broken'));
      const err = await rejection(manager.activate(['needs-broken']));
      expect(err.kind).toBe('FailedPrecondition');
      expect(err.message).toBe('plugin needs-broken requires broken which failed');
      const direct = await rejection(manager.activate(['broken']));
      expect(direct.message).toBe('plugin broken failed to activate: boom: cannot reach the backend');
      expect(direct.code).toBe('KERN_ERR_PLUGIN_ACTIVATION_FAILED');
      expect(log().filter((l) => l === 'activate:broken')).toHaveLength(2); // named again: retried
      await expect(manager.activate(['nope'])).rejects.toThrow('plugin nope not found');
    });

    it('refuses cycles and missing dependencies with the chain named', async () => {
      const { manager } = setup();
      await manager.discover(fixtures('alpha', 'cycle-a', 'cycle-b', 'cycle-c', 'orphan', 'wants-alpha-2'));
      await manager.activate();
      expect(state(manager, 'alpha')).toBe('active');
      expect(manager.get('cycle-a')?.error).toContain('dependency cycle: cycle-a → cycle-b → cycle-c → cycle-a');
      expect(manager.get('cycle-b')?.error).toContain('dependency cycle: cycle-b → cycle-c → cycle-a → cycle-b');
      expect(manager.get('orphan')?.error).toContain('missing dependency: orphan → nonexistent');
      expect(manager.get('wants-alpha-2')?.error).toContain('wants-alpha-2 requires alpha ^2.0.0 but alpha 1.0.0 is installed');
      expect(log().some((l) => l.startsWith('activate:cycle') || l === 'activate:orphan')).toBe(false);
      const err = await rejection(manager.activate(['cycle-a']));
      expect(err.kind).toBe('FailedPrecondition');
      expect(err.message).toContain('cycle-a → cycle-b → cycle-c → cycle-a');
    });

    it('fails a plugin whose activate does not finish in time, and undoes what it adds later', async () => {
      const { manager, drivers } = setup({ activationTimeoutMs: 50, pluginConfig: { slow: { delayMs: 250 } } });
      await manager.discover(fixtures('alpha', 'slow'));
      const started = Date.now();
      await manager.activate();
      expect(Date.now() - started).toBeLessThan(2000);
      const info = manager.get('slow')!;
      expect(info.state).toBe('failed');
      expect(info.error).toContain('plugin slow did not finish activating within 50 ms');
      expect(state(manager, 'alpha')).toBe('active');
      const err = await rejection(manager.activate(['slow']));
      expect(err.kind).toBe('DeadlineExceeded');
      await new Promise((r) => setTimeout(r, 400));
      expect(log()).toContain('late-register:FailedPrecondition');
      expect(log()).toContain('dispose:slow-late');
      expect(drivers.has('test', 'slow')).toBe(false);
    });

    it('leaves disabled plugins alone and fails what requires them', async () => {
      const { manager } = setup({ disabled: ['alpha'] });
      await manager.discover(fixtures('alpha', 'beta'));
      await manager.activate();
      expect(state(manager, 'alpha')).toBe('disabled');
      expect(manager.get('beta')?.error).toBe('plugin beta requires alpha which is disabled');
      await expect(manager.activate(['alpha'])).rejects.toThrow('plugin alpha is disabled');
    });

    it('loads a repo plugin from its TypeScript source when its build is absent', async () => {
      const { manager } = setup();
      await manager.discover(fixtures('from-source'));
      await manager.activate(['from-source']);
      expect(log()).toContain('activate:from-source:source');
    });

    it('fails a package whose entry is missing or exports no definition', async () => {
      const noEntry = join(tmp, 'no-entry');
      const noDef = join(tmp, 'no-def');
      for (const [dir, id] of [[noEntry, 'no-entry'], [noDef, 'no-def']]) {
        mkdirSync(dir);
        writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: id, version: '1.0.0', main: 'main.js', kern: { id, kernelAbi: '^1.0.0' } }));
      }
      writeFileSync(join(noDef, 'main.js'), 'exports.activate = () => {};\n');
      const { manager } = setup();
      await manager.discover([{ dir: noEntry, builtin: false }, { dir: noDef, builtin: false }]);
      await manager.activate();
      expect(manager.get('no-entry')?.error).toContain('entry main.js not found');
      expect(manager.get('no-def')?.error).toContain('must export its PluginDefinition as `default` or `plugin`');
    });
  });

  describe('syscalls', () => {
    it('lets a plugin call what its manifest declares and nothing else', async () => {
      const { manager, syscalls } = setup();
      syscalls.register('test.allowed', async (args, caller) => ({ ok: true, args, caller: caller.principal }));
      syscalls.register('test.denied', async () => ({ ok: true }));
      await manager.discover(fixtures('caller'));
      await manager.activate(['caller']);
      expect(log()).toContain('allowed:{"ok":true,"args":{"n":1},"caller":"plugin:caller"}');
      const denied = log().find((l) => l.startsWith('denied:'));
      expect(denied).toMatch(/^denied:Forbidden:plugin:caller may not call test\.denied/);
    });
  });

  describe('deactivate', () => {
    it('deactivates in reverse order: subscriptions, then deactivate, per plugin', async () => {
      const { manager, drivers } = setup();
      await manager.discover(fixtures('gamma', 'alpha', 'beta'));
      await manager.activate();
      (globalThis as Global).__kernPluginLog = [];
      await manager.deactivateAll();
      expect(log()).toEqual([
        'dispose:gamma', 'deactivate:gamma',
        'dispose:beta', 'deactivate:beta',
        'dispose:alpha', 'deactivate:alpha',
      ]);
      expect(manager.list().map((p) => p.state)).toEqual(['inactive', 'inactive', 'inactive']);
      expect(drivers.has('test')).toBe(false);
      // And they come back.
      await manager.activate();
      expect(manager.list().every((p) => p.state === 'active')).toBe(true);
    });
  });

  describe('hot load and unload', () => {
    it('refuses to unload a pinned plugin, saying why, and keeps it active', async () => {
      const { manager } = setup();
      await manager.discover(fixtures('alpha'));
      await manager.activate();
      manager.pin('alpha', 'provides the state store ("sqlite") the kernel runs on');
      const refused = await rejection(manager.unload('alpha'));
      expect(refused).toMatchObject({ kind: 'FailedPrecondition', code: 'KERN_ERR_PLUGIN_PINNED' });
      expect(refused.message).toBe('plugin alpha provides the state store ("sqlite") the kernel runs on, so it stays loaded while the kernel runs: stop the kernel to remove it');
      expect(state(manager, 'alpha')).toBe('active');
    });

    it('loads and unloads a plugin while others run', async () => {
      const { manager, drivers } = setup();
      await manager.discover(fixtures('alpha', 'beta'));
      await manager.activate();

      const info = await manager.load(join(FIXTURES, 'hot'));
      expect(info).toMatchObject({ id: 'hot', state: 'active', builtin: false });
      expect(drivers.get<{ hello(): string }>('test', 'hot').hello()).toBe('from hot');
      await expect(manager.load(join(FIXTURES, 'hot'))).rejects.toMatchObject({ kind: 'AlreadyExists' });

      const refused = await rejection(manager.unload('alpha'));
      expect(refused.kind).toBe('FailedPrecondition');
      expect(refused.message).toBe('plugin alpha is required by beta, hot, which are active; unload them first');
      expect(state(manager, 'alpha')).toBe('active');

      await manager.unload('hot');
      expect(manager.get('hot')).toBeUndefined();
      expect(drivers.has('test', 'hot')).toBe(false);
      expect(log()).toContain('dispose:hot');
      expect([state(manager, 'alpha'), state(manager, 'beta')]).toEqual(['active', 'active']);

      // Loaded again after unloading.
      await manager.load(join(FIXTURES, 'hot'));
      expect(state(manager, 'hot')).toBe('active');
      await manager.unload('hot');
      await manager.unload('beta');
      await manager.unload('alpha');
      expect(manager.list()).toEqual([]);
      expect(log().slice(-4)).toEqual(['dispose:beta', 'deactivate:beta', 'dispose:alpha', 'deactivate:alpha']);
      await expect(manager.unload('alpha')).rejects.toMatchObject({ kind: 'NotFound' });
    });

    it('refuses to load a plugin whose requirements are not active, changing nothing', async () => {
      const { manager } = setup();
      const err = await rejection(manager.load(join(FIXTURES, 'hot')));
      expect(err.kind).toBe('FailedPrecondition');
      expect(err.message).toBe('plugin hot requires alpha ^1.0.0, which is not installed; load or activate alpha first');
      expect(manager.get('hot')).toBeUndefined();
      expect(log()).not.toContain('activate:hot');
    });

    it('refuses bad manifests, ABI mismatches and unknown directories', async () => {
      const { manager } = setup();
      await expect(manager.load(join(FIXTURES, 'future-abi'))).rejects.toThrow('needs kernel ABI ^2.0.0');
      await expect(manager.load(join(tmp, 'nowhere'))).rejects.toMatchObject({ kind: 'NotFound' });
      await expect(manager.load(join(FIXTURES, 'not-a-plugin'))).rejects.toMatchObject({ kind: 'Invalid', field: 'kern' });
      expect(manager.list()).toEqual([]);
    });

    it('records a load whose activation fails, and lets a fixed copy replace it', async () => {
      const dir = join(tmp, 'flaky');
      mkdirSync(dir);
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'flaky', version: '1.0.0', kern: { id: 'flaky', kernelAbi: '^1.0.0' } }));
      writeFileSync(join(dir, 'index.js'), "exports.default = { activate() { throw new Error('not yet'); } };\n");
      const { manager } = setup();
      await expect(manager.load(dir)).rejects.toThrow('plugin flaky failed to activate: not yet');
      expect(manager.get('flaky')).toMatchObject({ state: 'failed', error: 'plugin flaky failed to activate: not yet' });
      const fixed = join(tmp, 'flaky-fixed');
      mkdirSync(fixed);
      writeFileSync(join(fixed, 'package.json'), readFileSync(join(dir, 'package.json')));
      writeFileSync(join(fixed, 'index.js'), 'exports.plugin = { activate() {} };\n');
      await manager.load(fixed);
      expect(manager.get('flaky')).toMatchObject({ state: 'active', dir: fixed });
      expect(existsSync(join(tmp, 'data', 'plugins', 'flaky'))).toBe(true);
    });
  });

  it('serializes concurrent operations', async () => {
    const { manager } = setup();
    await manager.discover(fixtures('alpha'));
    await Promise.all([manager.activate(), manager.load(join(FIXTURES, 'hot')), manager.activate()]);
    expect(manager.list().map((p) => [p.id, p.state])).toEqual([['alpha', 'active'], ['hot', 'active']]);
  });
});
