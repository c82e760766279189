import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { KernelError } from '@kern/sdk';
import { verifyPackage } from '../../../registry/package-format/extract-package';
import { packPlugin } from '../../../registry/package-format/pack-plugin';
import { assertSigned, generateKeyPair, keyIdOf, parseSignature, signDigest } from '../../../registry/package-format/package-signing';
import { CLIENT_ERROR_CODES } from '../../../registry/client/client-errors';
import { InstallEnvironment, InstallOutcome, installPlugins } from '../../../registry/client/install';
import { StreamInstallProgress } from '../../../registry/client/install-progress';
import { installedRoot, readFixedPlugins, readInstalledPlugins } from '../../../registry/client/installed-plugins';
import { connectKernel } from '../../../registry/client/kernel-plugins';
import { PluginLock, lockFilePath, readLockFile } from '../../../registry/client/lock-file';
import { PluginRequest, parsePluginRequest } from '../../../registry/client/plugin-request';
import { DEFAULT_REGISTRY_URL } from '../../../registry/registry-api';
import { deprecationMessage } from '../../../registry/client/registry-api';
import { RegistryClient, registryUrl } from '../../../registry/client/registry-client';
import { removePlugin } from '../../../registry/client/remove';
import { TrustStore } from '../../../registry/client/trust-store';
import { verifyInstalled } from '../../../registry/client/verify-installed';
import { loadConfig } from '../../config/config';
import { builtinPluginDirs } from '../../plugins/builtin-plugins';
import { abiAdmits } from '../../plugins/manifest';
import type { SupervisorStatus } from '../../plugins/out-of-process/driver-supervisor';
import { KERN_ABI } from '../../version';
import { usageError } from '../cli-error';
import { CliContext } from '../cli-context';
import { formatObjects, parseOutputFormat } from '../object-output';
import { formatTable } from '../table-printer';

/** One row of `GET /v1/plugins`. */
export interface PluginInfo {
  id: string;
  name?: string;
  version?: string;
  description?: string;
  state?: string;
  provides?: (string | { kind?: string; name?: string })[];
  requires?: unknown;
  syscalls?: string[];
  error?: string | { message?: string };
  builtin?: boolean;
  /** An out-of-process driver's process, as the kernel supervises it. */
  process?: Partial<SupervisorStatus>;
}

function provided(p: PluginInfo): string {
  const list = (p.provides ?? []).map((x) => (typeof x === 'string' ? x : [x.kind, x.name].filter(Boolean).join('/')));
  return list.length ? list.join(',') : '<none>';
}

/** The PROCESS column of `-o wide`: where the plugin runs, and for a driver process how it fares. */
function processColumn(p: PluginInfo): string {
  const proc = p.process;
  if (!proc) return 'in kernel';
  const restarts = `${proc.restarts ?? 0} restart${proc.restarts === 1 ? '' : 's'}`;
  return proc.state === 'running' && proc.pid ? `pid ${proc.pid}, ${restarts}` : `${proc.state ?? 'unknown'}, ${restarts}`;
}

export function pluginTable(plugins: readonly PluginInfo[], wide = false): string[] {
  const rows = plugins.map((p) => [
    p.id, p.version ?? '', p.state ?? '', provided(p), ...(wide ? [processColumn(p)] : []), p.description ?? '',
  ]);
  return formatTable(['ID', 'VERSION', 'STATE', 'PROVIDES', ...(wide ? ['PROCESS'] : []), 'DESCRIPTION'], rows);
}

export async function runPluginList(ctx: CliContext, o: { output?: string }): Promise<number> {
  const format = parseOutputFormat(o.output);
  // `{items: [...]}`, as the API sends it; a bare list is accepted too.
  const reply = await ctx.client.get<PluginInfo[] | { items?: PluginInfo[] }>('/v1/plugins');
  const plugins = Array.isArray(reply) ? reply : reply?.items ?? [];
  if (format === 'json') ctx.out(JSON.stringify(plugins, null, 2) + '\n');
  else if (format === 'yaml') ctx.out(formatObjects('yaml', plugins as never));
  else if (format === 'name') ctx.out(plugins.map((p) => `plugin/${p.id}\n`).join(''));
  else {
    ctx.out(pluginTable(plugins, format === 'wide').join('\n') + '\n');
    const broken = plugins.filter((p) => p.error);
    if (broken.length) {
      ctx.out('\n' + broken.map((p) => `${p.id}: ${typeof p.error === 'string' ? p.error : p.error?.message ?? JSON.stringify(p.error)}\n`).join(''));
    }
  }
  return 0;
}

/** `kern plugin pack DIR [-o FILE]`: validates and packs a built plugin. */
export async function runPluginPack(ctx: CliContext, dir: string, o: { output?: string }): Promise<number> {
  const r = await packPlugin(dir, o.output);
  ctx.out(`packed ${r.file} (${r.bytes} bytes)\ndigest sha512-${r.digest}\n`);
  return 0;
}

/** `kern plugin keygen [--out DIR]`: writes publisher.key (0600) and publisher.pub. */
export async function runPluginKeygen(ctx: CliContext, o: { out?: string }): Promise<number> {
  const dir = resolve(o.out ?? '.');
  const keyFile = join(dir, 'publisher.key');
  const pubFile = join(dir, 'publisher.pub');
  for (const f of [keyFile, pubFile]) {
    if (existsSync(f)) throw new KernelError('AlreadyExists', `${f}: already exists; move it away or pass --out to write the keys elsewhere`, { field: '--out' });
  }
  const keys = generateKeyPair();
  await mkdir(dir, { recursive: true });
  await writeFile(keyFile, keys.privateKeyPem, { mode: 0o600 });
  await chmod(keyFile, 0o600);
  await writeFile(pubFile, keys.publicKeyPem);
  ctx.out(`key id ${keys.keyId}\nprivate key ${keyFile} (keep it secret)\npublic key ${pubFile}\n`);
  return 0;
}

/** `kern plugin sign FILE --key KEY`: checks the package, then writes FILE.sig. */
export async function runPluginSign(ctx: CliContext, file: string, o: { key?: string }): Promise<number> {
  if (!o.key) throw usageError('kern plugin sign: --key <publisher.key> is required');
  const manifest = await verifyPackage(file);
  const sig = signDigest(await readFile(o.key, 'utf8'), manifest.digest);
  await writeFile(`${file}.sig`, JSON.stringify(sig, null, 2) + '\n');
  ctx.out(`signed ${manifest.id} ${manifest.version} with key ${sig.keyId}: ${file}.sig\n`);
  return 0;
}

/**
 * `kern plugin verify FILE [--pub KEY]`: digest check, and signature check
 * with --pub. Without FILE: every installed plugin against the lock file.
 */
export async function runPluginVerify(ctx: CliContext, file: string | undefined, o: { pub?: string; dataDir?: string }): Promise<number> {
  if (file === undefined) {
    if (o.pub) throw usageError('kern plugin verify: --pub checks a package file; give the FILE too');
    return runVerifyInstalled(ctx, o);
  }
  const manifest = await verifyPackage(file);
  ctx.out(`${manifest.id} ${manifest.version}: ${manifest.files.length} files match digest sha512-${manifest.digest}\n`);
  const sigFile = `${file}.sig`;
  const hasSig = existsSync(sigFile);
  if (o.pub) {
    if (!hasSig) throw new KernelError('FailedPrecondition', `${sigFile}: not found; the package is not signed (kern plugin sign)`, { field: '--pub' });
    const sig = parseSignature(await readFile(sigFile, 'utf8'), sigFile);
    assertSigned(await readFile(o.pub, 'utf8'), manifest.digest, sig);
    ctx.out(`signature: valid, key ${sig.keyId}\n`);
  } else if (hasSig) {
    ctx.out('signature: present, not checked (pass --pub <publisher.pub>)\n');
  } else {
    ctx.out('signature: none\n');
  }
  return 0;
}

// ---------------------------------------------------------------------------
// The install client: search, info, install, upgrade, remove, trust, verify.

interface DataDirOptions {
  dataDir?: string;
}

interface RegistryOptions {
  registry?: string;
}

interface ChangeOptions extends DataDirOptions, RegistryOptions {
  allowUnsigned?: boolean;
  /** Commander's --no-load: false when given. */
  load?: boolean;
  dryRun?: boolean;
}

/** The data dir as the kernel would pick it: --data-dir, else KERN_DATA_DIR, config.yaml, $KERN_HOME/data. */
function kernelConfig(ctx: CliContext, o: DataDirOptions) {
  const env = ctx.globals.kernHome ? { ...ctx.io.env, KERN_HOME: ctx.globals.kernHome } : ctx.io.env;
  return loadConfig({ flags: o.dataDir ? { dataDir: o.dataDir } : {}, env });
}

function registryFor(ctx: CliContext, o: RegistryOptions, lock?: PluginLock): RegistryClient {
  // A lock file names the registry its packages came from; a flag or KERN_REGISTRY still wins.
  return new RegistryClient(registryUrl(o.registry, ctx.io.env, lock?.registry));
}

/** Data dir, built-in and extra plugins, progress on stderr, and the running kernel when it uses this data dir. */
async function pluginEnvironment(ctx: CliContext, o: ChangeOptions) {
  const config = kernelConfig(ctx, o);
  const progress = new StreamInstallProgress(ctx.io.stderr);
  const connection = o.load === false
    ? { note: 'leaving the running kernel alone (--no-load); the change takes effect when it restarts' }
    : await connectKernel(ctx.client, config.dataDir);
  return {
    dataDir: config.dataDir,
    fixed: readFixedPlugins(builtinPluginDirs(), config.pluginDirs),
    kernel: connection.kernel,
    kernelNote: connection.note,
    progress,
  };
}

async function installEnvironment(ctx: CliContext, o: ChangeOptions, lock?: PluginLock): Promise<InstallEnvironment> {
  const env = await pluginEnvironment(ctx, o);
  return { ...env, registry: registryFor(ctx, o, lock), trust: new TrustStore(env.dataDir), kernelAbi: KERN_ABI };
}

function printOutcome(ctx: CliContext, outcome: InstallOutcome, o: ChangeOptions, upgrade: boolean): void {
  for (const s of outcome.satisfied) {
    ctx.out(s.source === 'installed'
      ? `${s.id} ${s.version} is ${upgrade ? 'up to date' : 'already installed'}\n`
      : `${s.id} ${s.version} is ${s.source === 'builtin' ? 'built in' : 'provided by the config\'s pluginDirs'}; nothing to install\n`);
  }
  for (const p of outcome.installed) {
    const verb = o.dryRun ? (p.previous ? 'would upgrade' : 'would install') : (p.previous ? 'upgraded' : 'installed');
    const change = p.previous ? `${p.id} ${p.previous} → ${p.version}` : `${p.id} ${p.version}`;
    const signed = p.keyId ? `signed by key ${p.keyId}` : 'signature not verified: --allow-unsigned';
    const why = p.requested ? '' : `; needed by ${p.reason}`;
    ctx.out(`${verb} ${change} (${signed}${why})\n`);
  }
  for (const n of outcome.newerForOtherAbi) {
    ctx.out(`note: ${n.id} ${n.version} is published but needs kernel ABI ${n.kernelAbi}; this kernel provides ABI ${KERN_ABI}\n`);
  }
  if (outcome.loaded.length) ctx.out(`loaded into the running kernel: ${outcome.loaded.join(', ')}\n`);
  if (outcome.lockFile) ctx.out(`lock file: ${outcome.lockFile}\n`);
}

/** `kern plugin install NAME[@RANGE]... | --from-lock FILE`. */
export async function runPluginInstall(ctx: CliContext, names: string[], o: ChangeOptions & { fromLock?: string }): Promise<number> {
  if (o.fromLock && names.length > 0) throw usageError('kern plugin install: give plugin names or --from-lock FILE, not both');
  if (!o.fromLock && names.length === 0) throw usageError('kern plugin install: name at least one plugin (NAME[@RANGE]), or give --from-lock FILE');
  let locked: PluginLock | undefined;
  let requests: PluginRequest[];
  if (o.fromLock) {
    locked = await readLockFile(o.fromLock);
    if (!locked) throw new KernelError('NotFound', `${o.fromLock}: not found; give the plugins.lock.json of the data dir to copy`, { field: '--from-lock' });
    requests = Object.entries(locked.plugins).map(([id, p]) => ({ id, range: p.version }));
    if (requests.length === 0) {
      ctx.out(`${o.fromLock} locks no plugins; nothing to install\n`);
      return 0;
    }
  } else {
    requests = names.map(parsePluginRequest);
  }
  const env = await installEnvironment(ctx, o, locked);
  env.progress.info(`resolving ${requests.map((r) => (r.range === '*' ? r.id : `${r.id}@${r.range}`)).join(', ')} with ${env.registry.url} (kernel ABI ${KERN_ABI})`);
  const outcome = await installPlugins(env, { requests, allowUnsigned: o.allowUnsigned, locked, dryRun: o.dryRun });
  printOutcome(ctx, outcome, o, false);
  return 0;
}

/** `kern plugin upgrade [ID...]`: the newest versions the installed set allows; every installed registry plugin without IDs. */
export async function runPluginUpgrade(ctx: CliContext, names: string[], o: ChangeOptions): Promise<number> {
  const config = kernelConfig(ctx, o);
  const installed = readInstalledPlugins(installedRoot(config.dataDir));
  const lock = await readLockFile(lockFilePath(config.dataDir));
  let requests: PluginRequest[];
  if (names.length > 0) {
    requests = names.map(parsePluginRequest);
    for (const r of requests) {
      if (!installed.some((p) => p.id === r.id)) {
        throw new KernelError('NotFound', `plugin ${r.id} is not installed in ${installedRoot(config.dataDir)}; install it with kern plugin install ${r.id}`, { field: r.id, code: CLIENT_ERROR_CODES.notInstalled });
      }
    }
  } else {
    // Only what came from a registry: the lock file lists it.
    const fromRegistry = installed.filter((p) => lock?.plugins[p.id]);
    for (const p of installed.filter((x) => !lock?.plugins[x.id])) ctx.warn(`${p.id}: not installed by kern plugin install (not in ${lockFilePath(config.dataDir)}); skipped`);
    requests = fromRegistry.map((p) => ({ id: p.id, range: '*' }));
    if (requests.length === 0) {
      ctx.out('no plugins installed from a registry; nothing to upgrade\n');
      return 0;
    }
  }
  const env = await installEnvironment(ctx, { ...o, dataDir: config.dataDir }, lock);
  env.progress.info(`checking ${requests.map((r) => r.id).join(', ')} against ${env.registry.url} (kernel ABI ${KERN_ABI})`);
  const outcome = await installPlugins(env, { requests, refresh: requests.map((r) => r.id), allowUnsigned: o.allowUnsigned, dryRun: o.dryRun });
  printOutcome(ctx, outcome, o, true);
  return 0;
}

/** `kern plugin remove ID`. */
export async function runPluginRemove(ctx: CliContext, id: string, o: ChangeOptions): Promise<number> {
  const env = await pluginEnvironment(ctx, o);
  const r = await removePlugin(env, id);
  ctx.out(`removed ${r.id}${r.version ? ` ${r.version}` : ''} (${r.dir})${r.unloaded ? '; unloaded from the running kernel' : ''}\n`);
  return 0;
}

/** `kern plugin verify` without FILE: installed files against the lock file's digests. Exit 1 on any mismatch. */
async function runVerifyInstalled(ctx: CliContext, o: DataDirOptions): Promise<number> {
  const dataDir = kernelConfig(ctx, o).dataDir;
  const report = await verifyInstalled(dataDir);
  if (!report.lock) {
    ctx.out(`no lock file at ${report.lockFile}; nothing installed by kern plugin install to verify\n`);
  }
  let failed = 0;
  for (const c of report.checks) {
    if (c.problem) {
      failed++;
      ctx.out(`${c.id} ${c.version}: FAILED: ${c.problem}\n`);
    } else {
      ctx.out(`${c.id} ${c.version}: ok (${c.files} files match the locked digest)\n`);
    }
  }
  for (const id of report.unlocked) ctx.out(`${id}: not in the lock file (not installed by kern plugin install); not checked\n`);
  if (report.checks.length > 0 && report.sdkLink !== 'ok') {
    failed++;
    ctx.out(`@kern/sdk link for installed plugins: ${report.sdkLink}; any kern plugin install or upgrade repairs it\n`);
  }
  if (failed > 0) {
    ctx.warn(`error: ${failed} problem${failed > 1 ? 's' : ''} found; reinstall with kern plugin install --from-lock ${report.lockFile}`);
    return 1;
  }
  return 0;
}

/** `kern plugin trust FILE.pub | --from-registry PUBLISHER`; without either, lists the trusted keys. */
export async function runPluginTrust(ctx: CliContext, file: string | undefined, o: DataDirOptions & RegistryOptions & { fromRegistry?: string }): Promise<number> {
  if (file && o.fromRegistry) throw usageError('kern plugin trust: give a key FILE or --from-registry PUBLISHER, not both');
  const trust = new TrustStore(kernelConfig(ctx, o).dataDir);
  if (file) {
    let pem: string;
    try {
      pem = await readFile(file, 'utf8');
    } catch (e) {
      throw usageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    const r = await trust.add(pem);
    ctx.out(`${r.added ? 'trusted' : 'already trusted'}: key ${r.keyId} (${r.file})\n`);
    return 0;
  }
  if (o.fromRegistry) {
    const registry = registryFor(ctx, o);
    const keys = (await registry.keys()).filter((k) => k.publisher === o.fromRegistry);
    if (keys.length === 0) {
      throw new KernelError('NotFound', `the registry at ${registry.url} has no key for publisher ${o.fromRegistry}; check the name (kern plugin info ID shows a plugin's publisher)`, { field: '--from-registry' });
    }
    for (const k of keys) {
      // Never take the registry's word for the id: it is recomputed from the key.
      const actual = keyIdOf(k.publicKey);
      if (actual !== k.keyId) {
        throw new KernelError('Invalid', `the registry at ${registry.url} lists key ${k.keyId} for ${o.fromRegistry}, but that key's id is ${actual}; refused`, { field: '--from-registry' });
      }
      const r = await trust.add(k.publicKey);
      ctx.out(`${r.added ? 'trusted' : 'already trusted'}: key ${r.keyId} of publisher ${o.fromRegistry} (${r.file})\n`);
    }
    ctx.warn(`compare the key id with one ${o.fromRegistry} publishes elsewhere: trusting it from the registry trusts the registry`);
    return 0;
  }
  const keys = await trust.list();
  if (keys.length === 0) ctx.out(`no trusted keys in ${trust.dir}; add one with kern plugin trust FILE.pub or --from-registry PUBLISHER\n`);
  else ctx.out(formatTable(['KEY ID', 'FILE'], keys.map((k) => [k.keyId, k.file])).join('\n') + '\n');
  return 0;
}

function printStructured(ctx: CliContext, format: string, value: unknown): void {
  ctx.out(format === 'json' ? JSON.stringify(value, null, 2) + '\n' : toYaml(value));
}

/** `kern plugin search [TEXT] [--kind K]`. */
export async function runPluginSearch(ctx: CliContext, text: string | undefined, o: RegistryOptions & { kind?: string; output?: string }): Promise<number> {
  const format = parseOutputFormat(o.output);
  const items = await registryFor(ctx, o).search({ text, kind: o.kind });
  if (format === 'json' || format === 'yaml') printStructured(ctx, format, items);
  else if (format === 'name') ctx.out(items.map((i) => `plugin/${i.id}\n`).join(''));
  else if (items.length === 0) ctx.out(`no plugins found${text ? ` for "${text}"` : ''}${o.kind ? ` of kind ${o.kind}` : ''}\n`);
  else {
    const rows = items.map((i) => [i.id, i.latest, (i.kinds ?? []).join(',') || '<none>', `${deprecationMessage(i.deprecated) ? '[deprecated] ' : ''}${i.description ?? ''}`]);
    ctx.out(formatTable(['ID', 'LATEST', 'KINDS', 'DESCRIPTION'], rows).join('\n') + '\n');
  }
  return 0;
}

/** `kern plugin info ID`: the plugin and its versions, marking yanked ones and those not built for this kernel's ABI. */
export async function runPluginInfo(ctx: CliContext, id: string, o: RegistryOptions & { output?: string }): Promise<number> {
  const format = parseOutputFormat(o.output);
  parsePluginRequest(id);
  const doc = await registryFor(ctx, o).plugin(id);
  if (format === 'json' || format === 'yaml') {
    printStructured(ctx, format, doc);
    return 0;
  }
  if (format === 'name') {
    ctx.out(`plugin/${doc.id}\n`);
    return 0;
  }
  const latest = doc.versions.find((v) => !v.yanked);
  const lines = [
    `ID:          ${doc.id}`,
    `PUBLISHER:   ${doc.publisher}`,
    ...(latest ? [`DESCRIPTION: ${latest.description}`] : []),
    `DOWNLOADS:   ${doc.downloads}`,
  ];
  const deprecated = deprecationMessage(doc.deprecated);
  if (deprecated) lines.push(`DEPRECATED:  ${deprecated}`);
  ctx.out(lines.join('\n') + '\n\n');
  const rows = doc.versions.map((v) => {
    const fits = abiAdmits(v.kernelAbi, KERN_ABI);
    const requires = Object.entries(v.requires ?? {}).map(([d, r]) => `${d} ${r}`).join(', ') || '<none>';
    return [
      v.version,
      fits ? v.kernelAbi : `${v.kernelAbi} (not ABI ${KERN_ABI})`,
      v.yanked ? `yes${v.yankReason ? `: ${v.yankReason}` : ''}` : 'no',
      v.signature ? v.signature.keyId : 'unsigned',
      requires,
      (v.publishedAt ?? '').slice(0, 10),
    ];
  });
  ctx.out(formatTable(['VERSION', 'ABI', 'YANKED', 'SIGNED BY', 'REQUIRES', 'PUBLISHED'], rows).join('\n') + '\n');
  return 0;
}

/** --data-dir and --registry, as every install-client command takes them. */
function withPlaces(cmd: Command, registry = true): Command {
  cmd.option('--data-dir <dir>', 'the kernel data dir whose plugins to change (default: as kern up picks it, $KERN_HOME/data)');
  if (registry) cmd.option('--registry <url>', `registry URL (default: $KERN_REGISTRY, else ${DEFAULT_REGISTRY_URL})`);
  return cmd;
}

function withChangeOptions(cmd: Command): Command {
  return withPlaces(cmd)
    .option('--allow-unsigned', 'install packages that are unsigned or signed by a key not trusted here')
    .option('--no-load', 'change the files only; do not load into the running kernel')
    .option('--dry-run', 'show what would be installed, change nothing');
}

export function pluginCommand(run: (fn: (ctx: CliContext) => Promise<number | void>, cmd: Command) => Promise<void>): Command {
  const plugin = new Command('plugin').description('inspect the plugins the kernel loaded; find, install, upgrade and remove plugins from a registry; pack, sign and verify plugin packages');
  plugin
    .command('list')
    .alias('ls')
    .description('list plugins with their version, state and what they provide')
    .option('-o, --output <format>', 'output format: wide (adds each plugin\'s process), json or yaml')
    .action(async (opts: { output?: string }, cmd: Command) => {
      await run((ctx) => runPluginList(ctx, opts), cmd);
    });
  plugin
    .command('pack <dir>')
    .description('validate a built plugin and pack it into <id>-<version>.kpkg (runs locally)')
    .option('-o, --output <file>', 'where to write the package (default: ./<id>-<version>.kpkg)')
    .action(async (dir: string, opts: { output?: string }, cmd: Command) => {
      await run((ctx) => runPluginPack(ctx, dir, opts), cmd);
    });
  plugin
    .command('keygen')
    .description('make an Ed25519 publisher key pair: publisher.key (mode 0600) and publisher.pub')
    .option('--out <dir>', 'directory for the key files (default: the working directory)')
    .action(async (opts: { out?: string }, cmd: Command) => {
      await run((ctx) => runPluginKeygen(ctx, opts), cmd);
    });
  plugin
    .command('sign <file>')
    .description('sign a package with a publisher key, writing <file>.sig')
    .option('--key <file>', 'the publisher private key (publisher.key)')
    .action(async (file: string, opts: { key?: string }, cmd: Command) => {
      await run((ctx) => runPluginSign(ctx, file, opts), cmd);
    });
  withPlaces(plugin
    .command('verify [file]')
    .description('check a package against its digest, and its <file>.sig against --pub; without a file, every installed plugin against the lock file')
    .option('--pub <file>', 'the publisher public key (publisher.pub)'), false)
    .action(async (file: string | undefined, opts: { pub?: string; dataDir?: string }, cmd: Command) => {
      await run((ctx) => runPluginVerify(ctx, file, opts), cmd);
    });
  plugin
    .command('search [text]')
    .description('search the registry by id, name or description')
    .option('--kind <kind>', 'only plugins providing this kind (runtime, store, ...)')
    .option('--registry <url>', `registry URL (default: $KERN_REGISTRY, else ${DEFAULT_REGISTRY_URL})`)
    .option('-o, --output <format>', 'output format: json or yaml')
    .action(async (text: string | undefined, opts: RegistryOptions & { kind?: string; output?: string }, cmd: Command) => {
      await run((ctx) => runPluginSearch(ctx, text, opts), cmd);
    });
  plugin
    .command('info <id>')
    .description('show a plugin in the registry: publisher, deprecation, every version with its ABI and yank state')
    .option('--registry <url>', `registry URL (default: $KERN_REGISTRY, else ${DEFAULT_REGISTRY_URL})`)
    .option('-o, --output <format>', 'output format: json or yaml')
    .action(async (id: string, opts: RegistryOptions & { output?: string }, cmd: Command) => {
      await run((ctx) => runPluginInfo(ctx, id, opts), cmd);
    });
  withChangeOptions(plugin
    .command('install [plugins...]')
    .description('install plugins (NAME[@RANGE]) and what they require from a registry, verified and signed by a trusted key; loads them into the running kernel')
    .option('--from-lock <file>', 'install exactly the versions a plugins.lock.json locks'))
    .action(async (names: string[], opts: ChangeOptions & { fromLock?: string }, cmd: Command) => {
      await run((ctx) => runPluginInstall(ctx, names, opts), cmd);
    });
  withChangeOptions(plugin
    .command('upgrade [plugins...]')
    .description('upgrade installed plugins (all installed from a registry when none named) to the newest versions that fit'))
    .action(async (names: string[], opts: ChangeOptions, cmd: Command) => {
      await run((ctx) => runPluginUpgrade(ctx, names, opts), cmd);
    });
  withPlaces(plugin
    .command('remove <id>')
    .alias('rm')
    .description('unload an installed plugin from the running kernel and delete it; refused while another plugin requires it')
    .option('--no-load', 'change the files only; leave the running kernel alone'), false)
    .action(async (id: string, opts: ChangeOptions, cmd: Command) => {
      await run((ctx) => runPluginRemove(ctx, id, opts), cmd);
    });
  withPlaces(plugin
    .command('trust [file]')
    .description('trust a publisher key (FILE.pub), or fetch a publisher\'s keys with --from-registry; lists the trusted keys without either')
    .option('--from-registry <publisher>', 'trust the keys the registry lists for this publisher'))
    .action(async (file: string | undefined, opts: DataDirOptions & RegistryOptions & { fromRegistry?: string }, cmd: Command) => {
      await run((ctx) => runPluginTrust(ctx, file, opts), cmd);
    });
  return plugin;
}
