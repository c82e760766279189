/**
 * The install client end to end: a tiny in-test registry (Koa, serving the
 * registry's HTTP API from packages packed and signed here), a kernel HTTP
 * API over a real PluginManager, and `kern plugin ...` driven through its
 * commander definition.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import Koa from 'koa';
import Router from '@koa/router';
import { Command } from 'commander';
import * as semver from 'semver';
import * as tar from 'tar';
import { container } from 'tsyringe';
import { KERNEL_ABI_VERSION, silentLogger } from '@kern/sdk';
import { ApiContext } from '../../kernel/api/api-context';
import { RunningHttpServer, startHttpServer } from '../../kernel/api/http/http-server';
import { CliContext } from '../../kernel/cli/cli-context';
import { formatError } from '../../kernel/cli/cli-error';
import { pluginCommand } from '../../kernel/cli/commands/plugin-command';
import { KernelDriverRegistry } from '../../kernel/drivers/driver-registry';
import { readManifest } from '../../kernel/plugins/manifest';
import { PluginManager } from '../../kernel/plugins/plugin-manager';
import { SyscallTable } from '../../kernel/syscalls/syscall-table';
import { ApiTestContext, createApiTestContext } from '../../test/helpers/api-test-context';
import { packPlugin } from '../package-format/pack-plugin';
import { PublisherKeyPair, generateKeyPair, signDigest } from '../package-format/package-signing';
import { installPlugins } from './install';
import { silentProgress } from './install-progress';
import { PluginVersionInfo, PublisherKey } from './registry-api';
import { RegistryClient } from './registry-client';
import { kernelSdkDir, sdkLinkPath } from './sdk-link';
import { TrustStore } from './trust-store';

type Global = { __kernInstallLog?: string[] };
const activity = (): string[] => (globalThis as Global).__kernInstallLog ?? [];

interface SourceOptions {
  requires?: Record<string, string>;
  /** Entry file under dist/; a new name per version, since jest caches modules by path. */
  entry?: string;
  /** activate() throws. */
  fail?: boolean;
  kernelAbi?: string;
}

/** Packs and signs plugins, and serves them over the registry's HTTP API. */
class TestRegistry {
  readonly plugins = new Map<string, { publisher: string; versions: PluginVersionInfo[]; bytes: Map<string, Buffer> }>();
  readonly keys: PublisherKey[] = [];
  readonly downloads: string[] = [];
  private server?: Server;
  url = '';

  constructor(private readonly dir: string) {}

  addPublisher(name: string, keys: PublisherKeyPair): void {
    this.keys.push({ publisher: name, keyId: keys.keyId, publicKey: keys.publicKeyPem });
  }

  /** Writes a plugin's built sources, packs them, signs the digest and lists the version. */
  async publish(id: string, version: string, o: SourceOptions & { publisher?: string; keys?: PublisherKeyPair | null } = {}): Promise<PluginVersionInfo> {
    const src = join(this.dir, 'src', `${id}-${version}`);
    const entry = o.entry ?? `v${version.replace(/\W/g, '_')}.js`;
    mkdirSync(join(src, 'dist'), { recursive: true });
    writeFileSync(join(src, 'package.json'), JSON.stringify({
      name: `@kern-test/${id}`, version, description: `${id} for tests`, main: `dist/${entry}`,
      kern: { id, kernelAbi: o.kernelAbi ?? '^1.0.0', provides: [{ kind: 'test', name: id }], requires: o.requires ?? {}, syscalls: [] },
    }));
    writeFileSync(join(src, 'README.md'), `# ${id}\n`);
    writeFileSync(join(src, 'dist', entry), [
      "'use strict';",
      "const { KernelError } = require('@kern/sdk');",
      'const log = (e) => (globalThis.__kernInstallLog = globalThis.__kernInstallLog || []).push(e);',
      'exports.default = {',
      `  activate() { log('activate:${id}@${version}');${o.fail ? ` throw new KernelError('Unavailable', '${id} ${version} cannot start: its backend is down');` : ''} },`,
      `  deactivate() { log('deactivate:${id}@${version}'); },`,
      '};',
      '',
    ].join('\n'));
    const packed = await packPlugin(src, join(this.dir, 'packages', `${id}-${version}.kpkg`));
    const m = readManifest(src);
    const keys = o.keys === undefined ? undefined : o.keys;
    const info: PluginVersionInfo = {
      version, name: m.name, description: m.description, kernelAbi: m.kernelAbi, requires: m.requires, provides: m.provides, syscalls: m.syscalls,
      digest: packed.digest, size: packed.bytes, signature: keys ? signDigest(keys.privateKeyPem, packed.digest) : null,
      publishedAt: new Date(0).toISOString(), yanked: false, downloads: 0,
    };
    this.list(id, o.publisher ?? 'acme', info, readFileSync(packed.file));
    return info;
  }

  /** Lists a version with whatever bytes and index entry a test wants (tampered packages). */
  list(id: string, publisher: string, info: PluginVersionInfo, bytes: Buffer): void {
    const p = this.plugins.get(id) ?? { publisher, versions: [], bytes: new Map() };
    p.versions = [...p.versions.filter((v) => v.version !== info.version), info].sort((a, b) => semver.rcompare(a.version, b.version));
    p.bytes.set(info.version, bytes);
    this.plugins.set(id, p);
  }

  async start(): Promise<void> {
    const notFound = (c: Koa.Context, message: string) => {
      c.status = 404;
      c.body = { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason: 'NotFound', code: 404 };
    };
    const router = new Router();
    router.get('/v1/index', (c) => {
      const q = String(c.query.q ?? '');
      const kind = String(c.query.kind ?? '');
      const items = [...this.plugins.entries()].map(([id, p]) => {
        const latest = p.versions.find((v) => !v.yanked)!;
        return { id, description: latest.description, kinds: latest.provides.map((x) => `${x.kind}/${x.name}`), latest: latest.version, publisher: p.publisher, keyId: latest.signature?.keyId ?? '', downloads: 0 };
      }).filter((i) => (!q || i.id.includes(q) || i.description.includes(q)) && (!kind || i.kinds.some((k) => k.startsWith(`${kind}/`))));
      c.body = { items };
    });
    router.get('/v1/plugins/:id', (c) => {
      const p = this.plugins.get(c.params.id);
      if (!p) return notFound(c, `plugin ${c.params.id} not found`);
      c.body = { id: c.params.id, publisher: p.publisher, downloads: 0, versions: p.versions };
    });
    router.get('/v1/plugins/:id/:version/package', (c) => {
      const bytes = this.plugins.get(c.params.id)?.bytes.get(c.params.version);
      if (!bytes) return notFound(c, `plugin ${c.params.id} ${c.params.version} not found`);
      this.downloads.push(`${c.params.id}@${c.params.version}`);
      c.type = 'application/octet-stream';
      c.body = bytes;
    });
    router.get('/v1/keys', (c) => { c.body = { items: this.keys }; });
    const app = new Koa();
    app.use(router.routes());
    this.server = app.listen(0, '127.0.0.1');
    await new Promise((r) => this.server!.once('listening', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

let tmp: string;
let registry: TestRegistry;
let acme: PublisherKeyPair;
let t: ApiTestContext;
let kernelServer: RunningHttpServer;
let manager: PluginManager;
let kernelUrl: string;

beforeEach(async () => {
  (globalThis as Global).__kernInstallLog = [];
  tmp = mkdtempSync(join(tmpdir(), 'kern-install-test-'));
  registry = new TestRegistry(join(tmp, 'registry'));
  acme = generateKeyPair();
  registry.addPublisher('acme', acme);
  await registry.publish('helper', '1.0.0', { keys: acme });
  await registry.publish('greet', '1.0.0', { keys: acme, requires: { helper: '^1.0.0' } });
  await registry.start();

  // A kernel API whose plugin manager is real; its data dir holds the admin token the CLI sends.
  t = await createApiTestContext();
  manager = new PluginManager({
    root: container.createChildContainer(), drivers: new KernelDriverRegistry(), syscalls: new SyscallTable(), logger: silentLogger,
    dataDir: t.dataDir, kernelVersion: KERNEL_ABI_VERSION, pluginConfig: {},
  });
  (t.api as { plugins: ApiContext['plugins'] }).plugins = manager;
  kernelServer = await startHttpServer(t.api, { host: '127.0.0.1', port: 0 });
  kernelUrl = `http://127.0.0.1:${kernelServer.address.port}`;
});

afterEach(async () => {
  await manager.deactivateAll();
  await kernelServer.close();
  await t.cleanup();
  await registry.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** `kern --server K --token T plugin ARGS...` against the test kernel and registry, as the real runner does it. */
async function kern(args: string[], o: { dataDir?: string; token?: string } = {}): Promise<RunResult> {
  const out = { code: 0, stdout: '', stderr: '' };
  const io = {
    stdout: { write: (s: string | Uint8Array) => { out.stdout += String(s); return true; } },
    stderr: { write: (s: string | Uint8Array) => { out.stderr += String(s); return true; }, isTTY: false },
    env: { KERN_HOME: join(tmp, 'home'), KERN_REGISTRY: registry.url },
  };
  const program = new Command('kern').exitOverride()
    .option('--debug').option('--kern-home <dir>').option('--server <url>').option('--token <token>');
  program.addCommand(pluginCommand(async (fn, cmd) => {
    const ctx = new CliContext(cmd.optsWithGlobals(), io);
    try {
      out.code = (await fn(ctx)) ?? 0;
    } catch (e) {
      out.stderr += formatError(e).join('\n') + '\n';
      out.code = 1;
    } finally {
      ctx.close();
    }
  }));
  const overrideExit = (c: Command): void => { c.exitOverride(); c.commands.forEach(overrideExit); };
  overrideExit(program);
  // Only the commands that change or check a data dir take --data-dir.
  const place = ['install', 'upgrade', 'remove', 'verify', 'trust'].includes(args[0]) ? ['--data-dir', o.dataDir ?? t.dataDir] : [];
  await program.parseAsync(['node', 'kern', '--server', kernelUrl, '--token', o.token ?? t.adminToken, 'plugin', ...args, ...place]);
  return out;
}

const installedDir = (dataDir: string, id: string) => join(dataDir, 'plugins-installed', id);
const lockOf = (dataDir: string) => JSON.parse(readFileSync(join(dataDir, 'plugins.lock.json'), 'utf8'));

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (name === 'node_modules') continue;
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

describe('kern plugin install against a registry', () => {
  it('refuses an untrusted publisher, then installs with dependencies, loads them and writes the lock', async () => {
    const refused = await kern(['install', 'greet']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`error: plugin helper 1.0.0 is signed by untrusted key ${acme.keyId} (publisher acme); trust it with kern plugin trust --from-registry acme`);
    expect(registry.downloads).toEqual([]);

    const trusted = await kern(['trust', '--from-registry', 'acme']);
    expect(trusted.stdout).toContain(`trusted: key ${acme.keyId} of publisher acme`);

    const r = await kern(['install', 'greet@^1.0.0']);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`installed helper 1.0.0 (signed by key ${acme.keyId}; needed by greet@1.0.0 → helper ^1.0.0)`);
    expect(r.stdout).toContain(`installed greet 1.0.0 (signed by key ${acme.keyId})`);
    expect(r.stdout).toContain('loaded into the running kernel: helper, greet');
    expect(r.stderr).toMatch(/downloaded helper 1\.0\.0 \(\d+(\.\d)? (B|KiB)\)\ndownloaded greet 1\.0\.0/);

    expect(manager.get('greet')).toMatchObject({ state: 'active', version: '1.0.0', dir: realpathSync(installedDir(t.dataDir, 'greet')) });
    expect(activity()).toEqual(['activate:helper@1.0.0', 'activate:greet@1.0.0']);
    const lock = lockOf(t.dataDir);
    expect(lock).toEqual({
      lockfileVersion: 1,
      registry: registry.url,
      plugins: {
        greet: { version: '1.0.0', digest: registry.plugins.get('greet')!.versions[0].digest, keyId: acme.keyId, requires: { helper: '^1.0.0' }, resolved: `${registry.url}/v1/plugins/greet/1.0.0/package` },
        helper: { version: '1.0.0', digest: registry.plugins.get('helper')!.versions[0].digest, keyId: acme.keyId, requires: {}, resolved: `${registry.url}/v1/plugins/helper/1.0.0/package` },
      },
    });
    expect(readdirSync(join(t.dataDir, 'plugins-installed')).sort()).toEqual(['greet', 'helper', 'node_modules']);

    const list = await kern(['list']);
    expect(list.stdout).toMatch(/helper\s+1\.0\.0\s+active\s+test\/helper/);
    expect(list.stdout).toMatch(/greet\s+1\.0\.0\s+active\s+test\/greet/);

    // Installing again fetches nothing.
    const again = await kern(['install', 'greet']);
    expect(again.stdout).toBe('greet 1.0.0 is already installed\n');
    expect(registry.downloads).toEqual(['helper@1.0.0', 'greet@1.0.0']);
  });

  it('links @kern/sdk so a plain node process resolves the kernel\'s copy from an installed plugin', async () => {
    await kern(['trust', '--from-registry', 'acme']);
    expect((await kern(['install', 'helper', '--no-load'])).code).toBe(0);
    const dir = installedDir(t.dataDir, 'helper');
    expect(realpathSync(sdkLinkPath(join(t.dataDir, 'plugins-installed')))).toBe(realpathSync(kernelSdkDir()));
    const script = `const p = require.resolve('@kern/sdk', { paths: [${JSON.stringify(join(dir, 'dist'))}] });
      const m = require(${JSON.stringify(join(dir, 'dist', 'v1_0_0.js'))});
      process.stdout.write(p + ' ' + typeof m.default.activate);`;
    const [resolved, activate] = execFileSync(process.execPath, ['-e', script], { cwd: tmpdir(), encoding: 'utf8' }).split(' ');
    expect(resolved).toBe(join(realpathSync(kernelSdkDir()), 'dist', 'index.js'));
    expect(activate).toBe('function');
  });

  it('upgrades: unloads the old version, loads the new one and updates the lock', async () => {
    await kern(['trust', '--from-registry', 'acme']);
    await kern(['install', 'greet']);
    await registry.publish('greet', '1.1.0', { keys: acme, requires: { helper: '^1.0.0' } });
    await registry.publish('helper', '1.2.0', { keys: acme });

    const r = await kern(['upgrade', 'greet']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe([
      `upgraded greet 1.0.0 → 1.1.0 (signed by key ${acme.keyId})`,
      'loaded into the running kernel: greet',
      `lock file: ${join(t.dataDir, 'plugins.lock.json')}`,
      '',
    ].join('\n'));
    expect(manager.get('greet')).toMatchObject({ state: 'active', version: '1.1.0' });
    expect(lockOf(t.dataDir).plugins.greet.version).toBe('1.1.0');

    // Upgrading a dependency bounces its active dependents: unloaded first, loaded again after.
    (globalThis as Global).__kernInstallLog = [];
    const all = await kern(['upgrade']);
    expect(all.stdout).toContain('upgraded helper 1.0.0 → 1.2.0');
    expect(all.stdout).toContain('greet 1.1.0 is up to date');
    expect(activity()).toEqual(['deactivate:greet@1.1.0', 'deactivate:helper@1.0.0', 'activate:helper@1.2.0', 'activate:greet@1.1.0']);
    expect(manager.get('helper')).toMatchObject({ state: 'active', version: '1.2.0' });
  });

  it('rolls back files, lock and kernel when the new version fails to activate', async () => {
    await kern(['trust', '--from-registry', 'acme']);
    await kern(['install', 'greet']);
    await registry.publish('greet', '2.0.0', { keys: acme, requires: { helper: '^1.0.0' }, fail: true });
    const filesBefore = snapshot(join(t.dataDir, 'plugins-installed'));
    const lockBefore = readFileSync(join(t.dataDir, 'plugins.lock.json'), 'utf8');
    (globalThis as Global).__kernInstallLog = [];

    const r = await kern(['upgrade', 'greet']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: plugin greet 2.0.0 failed to load in place of 1.0.0: plugin greet failed to activate: greet 2.0.0 cannot start: its backend is down; rolled back to the previous plugins (greet 1.0.0)');
    expect(snapshot(join(t.dataDir, 'plugins-installed'))).toEqual(filesBefore);
    expect(readFileSync(join(t.dataDir, 'plugins.lock.json'), 'utf8')).toBe(lockBefore);
    expect(manager.get('greet')).toMatchObject({ state: 'active', version: '1.0.0' });
    expect(activity()).toEqual(['deactivate:greet@1.0.0', 'activate:greet@2.0.0', 'activate:greet@1.0.0']);
    expect(readdirSync(join(t.dataDir, 'plugins-installed')).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('removes a plugin: refused while another requires it; unloads it and updates the lock', async () => {
    await kern(['trust', '--from-registry', 'acme']);
    await kern(['install', 'greet']);

    const blocked = await kern(['remove', 'helper']);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain('error: plugin greet requires helper ^1.0.0; remove greet first');
    expect(manager.get('helper')?.state).toBe('active');

    const builtin = await kern(['remove', 'store-sqlite']);
    expect(builtin.stderr).toContain('plugin store-sqlite is built in and cannot be removed; to keep it from loading, add it to disabledPlugins in the kernel config');

    const dir = realpathSync(installedDir(t.dataDir, 'greet'));
    const r = await kern(['remove', 'greet']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`removed greet 1.0.0 (${dir}); unloaded from the running kernel\n`);
    expect(existsSync(installedDir(t.dataDir, 'greet'))).toBe(false);
    expect(manager.get('greet')).toBeUndefined();
    expect(Object.keys(lockOf(t.dataDir).plugins)).toEqual(['helper']);
    expect((await kern(['remove', 'greet'])).stderr).toContain('plugin greet is not installed');
  });

  it('installs the same set into a second data dir from the lock file, and verifies it', async () => {
    await kern(['trust', '--from-registry', 'acme']);
    await kern(['install', 'greet']);
    // Newer versions appear; the lock still gets the locked ones.
    await registry.publish('helper', '1.5.0', { keys: acme });
    const lockFile = join(tmp, 'copied.lock.json');
    cpSync(join(t.dataDir, 'plugins.lock.json'), lockFile);

    const second = join(tmp, 'second-data');
    await kern(['trust', '--from-registry', 'acme'], { dataDir: second });
    const r = await kern(['install', '--from-lock', lockFile], { dataDir: second });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`no kernel has used data dir ${second} yet`);
    expect(r.stdout).toContain('installed helper 1.0.0');
    expect(r.stdout).toContain('installed greet 1.0.0');
    expect(lockOf(second).plugins).toEqual(lockOf(t.dataDir).plugins);

    const ok = await kern(['verify'], { dataDir: second });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^greet 1\.0\.0: ok \(\d+ files match the locked digest\)\nhelper 1\.0\.0: ok/);

    writeFileSync(join(installedDir(second, 'helper'), 'dist', 'v1_0_0.js'), 'module.exports = evil;\n');
    const bad = await kern(['verify'], { dataDir: second });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('helper 1.0.0: FAILED: dist/v1_0_0.js was modified');
  });

  it('refuses a lock whose digest the registry does not match, naming the plugin', async () => {
    await kern(['trust', '--from-registry', 'acme']);
    await kern(['install', 'greet', '--no-load']);
    const lock = lockOf(t.dataDir);
    lock.plugins.helper.digest = Buffer.alloc(64, 1).toString('base64');
    const lockFile = join(tmp, 'edited.lock.json');
    writeFileSync(lockFile, JSON.stringify(lock));
    const second = join(tmp, 'second-data');
    await kern(['trust', '--from-registry', 'acme'], { dataDir: second });
    const r = await kern(['install', '--from-lock', lockFile], { dataDir: second });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: plugin helper 1\.0\.0: the registry index lists digest sha512-\S+, but the lock file locks sha512-AQEB\S+; refused/);
    expect(existsSync(installedDir(second, 'helper'))).toBe(false);
    expect(existsSync(installedDir(second, 'greet'))).toBe(false);
  });

  it('loads nothing into a kernel that uses another data dir', async () => {
    await kern(['trust', '--from-registry', 'acme']);
    const other = join(tmp, 'other-data');
    mkdirSync(join(other, 'auth'), { recursive: true });
    writeFileSync(join(other, 'auth', 'admin.token'), 'another-kernels-token\n');
    await kern(['trust', '--from-registry', 'acme'], { dataDir: other });
    const r = await kern(['install', 'helper'], { dataDir: other });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`does not use data dir ${other}`);
    expect(manager.get('helper')).toBeUndefined();
    expect(existsSync(installedDir(other, 'helper'))).toBe(true);
  });

  it('installs an unsigned package only with --allow-unsigned, and changes nothing on --dry-run', async () => {
    await registry.publish('loose', '0.3.0', { keys: null });
    const refused = await kern(['install', 'loose']);
    expect(refused.stderr).toContain('error: plugin loose 0.3.0 is unsigned; refused (pass --allow-unsigned to install it anyway)');

    const dry = await kern(['install', 'loose', '--allow-unsigned', '--dry-run']);
    expect(dry.stdout).toBe('would install loose 0.3.0 (signature not verified: --allow-unsigned)\n');
    expect(existsSync(installedDir(t.dataDir, 'loose'))).toBe(false);
    expect(registry.downloads).toEqual([]);

    const r = await kern(['install', 'loose', '--allow-unsigned']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning: plugin loose 0.3.0 is unsigned; installing it because of --allow-unsigned');
    expect(lockOf(t.dataDir).plugins.loose.keyId).toBeNull();
    expect(manager.get('loose')?.state).toBe('active');
  });

  it('keeps pack, keygen, sign and verify FILE working', async () => {
    const keysDir = join(tmp, 'keys');
    expect((await kern(['keygen', '--out', keysDir])).stdout).toMatch(/^key id [0-9a-f]{16}\n/);
    const file = join(tmp, 'helper.kpkg');
    expect((await kern(['pack', join(tmp, 'registry', 'src', 'helper-1.0.0'), '-o', file])).stdout).toMatch(/^packed .*helper\.kpkg/);
    expect((await kern(['sign', file, '--key', join(keysDir, 'publisher.key')])).code).toBe(0);
    const v = await kern(['verify', file, '--pub', join(keysDir, 'publisher.pub')]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^helper 1\.0\.0: 3 files match digest sha512-\S+\nsignature: valid, key [0-9a-f]{16}\n$/);

    const trusted = await kern(['trust', join(keysDir, 'publisher.pub')]);
    expect(trusted.stdout).toMatch(new RegExp(`^trusted: key [0-9a-f]{16} \\(${join(t.dataDir, 'trusted-keys')}/[0-9a-f]{16}\\.pub\\)\n$`));
    expect((await kern(['trust'])).stdout).toMatch(/^KEY ID\s+FILE\n[0-9a-f]{16}\s+\//);
  });

  it('searches the registry and shows a plugin with its versions', async () => {
    await registry.publish('greet', '2.0.0', { keys: acme, kernelAbi: '^2.0.0' });
    const p = registry.plugins.get('greet')!;
    p.versions.find((v) => v.version === '1.0.0')!.yanked = true;
    p.versions.find((v) => v.version === '1.0.0')!.yankReason = 'leaks memory';
    const s = await kern(['search', 'greet']);
    expect(s.stdout.split('\n')[0]).toMatch(/^ID\s+LATEST\s+KINDS\s+DESCRIPTION$/);
    expect(s.stdout).toMatch(/greet\s+2\.0\.0\s+test\/greet\s+greet for tests/);
    const info = await kern(['info', 'greet']);
    expect(info.stdout).toContain('PUBLISHER:   acme');
    expect(info.stdout).toMatch(/2\.0\.0\s+\^2\.0\.0 \(not ABI 1\.0\.0\)\s+no/);
    expect(info.stdout).toMatch(/1\.0\.0\s+\^1\.0\.0\s+yes: leaks memory/);
    const missing = await kern(['info', 'nope']);
    expect(missing.stderr).toBe('error: plugin nope not found\n');
  });
});

describe('installPlugins refuses bad packages, leaving nothing behind', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = join(tmp, 'data');
    await new TrustStore(dataDir).add(acme.publicKeyPem);
  });

  const install = (id: string) => installPlugins({
    dataDir, fixed: [], progress: silentProgress, registry: new RegistryClient(registry.url), trust: new TrustStore(dataDir), kernelAbi: KERNEL_ABI_VERSION,
  }, { requests: [{ id, range: '*' }] });

  /** Lists `id` 1.0.0 with these bytes, its index digest signed by the trusted key. */
  function listSigned(id: string, bytes: Buffer, digest: string): void {
    registry.list(id, 'acme', {
      version: '1.0.0', name: id, description: '', kernelAbi: '^1.0.0', requires: {}, provides: [], syscalls: [],
      digest, size: bytes.length, signature: signDigest(acme.privateKeyPem, digest), publishedAt: '', yanked: false, downloads: 0,
    }, bytes);
  }

  const leftovers = () => (existsSync(join(dataDir, 'plugins-installed')) ? readdirSync(join(dataDir, 'plugins-installed')).filter((n) => n !== 'node_modules') : []);

  it('refuses a zip-slip entry', async () => {
    const header = new tar.Header({ path: '../../evil.js', type: 'File', size: 4, mode: 0o644, mtime: new Date(0) });
    header.encode();
    const bytes = gzipSync(Buffer.concat([header.block!, Buffer.from('evil'), Buffer.alloc(508), Buffer.alloc(1024)]));
    listSigned('slip', bytes, 'whatever-digest');
    await expect(install('slip')).rejects.toThrow(/package slip 1\.0\.0 from http:\/\/127\.0\.0\.1:\d+: package entry "\.\.\/\.\.\/evil\.js": has a "\.\." path segment/);
    expect(leftovers()).toEqual([]);
    expect(existsSync(join(tmp, 'evil.js'))).toBe(false);
  });

  it('refuses a tampered package whose files no longer match its digest', async () => {
    const good = registry.plugins.get('helper')!.versions[0];
    const unpacked = join(tmp, 'unpacked');
    mkdirSync(unpacked);
    await tar.x({ file: join(tmp, 'registry', 'packages', 'helper-1.0.0.kpkg'), cwd: unpacked });
    writeFileSync(join(unpacked, 'dist', 'v1_0_0.js'), 'require("child_process").exec("evil")\n');
    const evil = join(tmp, 'evil.kpkg');
    await tar.c({ gzip: true, file: evil, cwd: unpacked }, readdirSync(unpacked));
    listSigned('helper', readFileSync(evil), good.digest);
    await expect(install('helper')).rejects.toThrow(/tampered package: dist\/v1_0_0\.js does not match its recorded SHA-512/);
    expect(leftovers()).toEqual([]);
  });

  it('refuses a package whose digest is not the one the index lists', async () => {
    listSigned('helper', registry.plugins.get('helper')!.bytes.get('1.0.0')!, Buffer.alloc(64, 7).toString('base64'));
    await expect(install('helper')).rejects.toThrow(/package helper 1\.0\.0: its digest sha512-\S+ is not the one the registry index lists \(sha512-BwcH\S+\); refused/);
    expect(leftovers()).toEqual([]);
  });

  it('keeps the previous set when a rename fails during the swap', async () => {
    await install('helper');
    const before = snapshot(dataDir);
    await registry.publish('helper', '2.0.0', { keys: acme });
    let calls = 0;
    const failing = {
      rename: async (from: string, to: string) => {
        if (++calls === 3) throw new Error('EIO: injected failure');
        await rename(from, to);
      },
    };
    await expect(installPlugins({
      dataDir, fixed: [], progress: silentProgress, registry: new RegistryClient(registry.url), trust: new TrustStore(dataDir), kernelAbi: KERNEL_ABI_VERSION, swapFs: failing,
    }, { requests: [{ id: 'helper', range: '*' }], refresh: ['helper'] })).rejects.toThrow(/injected failure/);
    expect(snapshot(dataDir)).toEqual(before);
  });
});
