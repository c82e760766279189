import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { KernelError } from '@kern/sdk';
import { verifyPackage } from '../../../registry/package-format/extract-package';
import { parseSignature } from '../../../registry/package-format/package-signing';
import { RegistryClient, registryUrl } from '../../../registry/client/registry-client';
import {
  DEFAULT_REGISTRY_URL, PluginDetail, SIGNATURE_HEADER, SIGNATURE_KEY_ID_HEADER, VersionEntry,
} from '../../../registry/registry-api';
import { usageError } from '../cli-error';
import { CliContext } from '../cli-context';
import { kernHomeFrom } from '../client-config';
import { formatTable } from '../table-printer';
import { formatBytes } from './image-command';
import { parsePort } from './up-command';

type Run = (fn: (ctx: CliContext) => Promise<number | void>, cmd: Command) => Promise<void>;

/** `$KERN_HOME/registry` (`~/.kern/registry`) unless --data-dir says otherwise. */
export function registryDataDir(ctx: CliContext, dataDir?: string): string {
  return resolve(dataDir || join(kernHomeFrom({ kernHome: ctx.globals.kernHome, env: ctx.io.env }), 'registry'));
}

// ---- on the registry machine -------------------------------------------------

/** The local publisher accounts, loaded on use: other commands should not pay for SQLite. */
async function publisherAccounts(): Promise<typeof import('../../../registry/server/publisher-accounts')> {
  return import('../../../registry/server/publisher-accounts');
}

export interface ServeOptions {
  dataDir?: string;
  host?: string;
  port?: number;
  logLevel?: string;
}

/**
 * `kern registry serve`: the registry in the foreground until SIGINT or
 * SIGTERM, which close it and exit 0.
 */
export async function runRegistryServe(ctx: CliContext, o: ServeOptions): Promise<number> {
  // Loaded here: the other commands should not pay for Koa and SQLite.
  const { startRegistryServer } = await import('../../../registry/server/registry-server');
  const { createKernelLogger } = await import('../../logging/logger');
  const dataDir = registryDataDir(ctx, o.dataDir);
  const logger = createKernelLogger({ dataDir, level: o.logLevel ?? 'info', console: true });
  const registry = await startRegistryServer({ dataDir, host: o.host, port: o.port, logger }).catch(async (e: unknown) => {
    await logger.close();
    throw explainListenError(e);
  });
  ctx.out(`registry listening on ${registry.url}\n`);
  await new Promise<void>((done) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      logger.info({ signal }, 'registry shutting down');
      void registry.close().then(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  // Ended, not just flushed: the file transport's worker must be done with
  // the log before the caller (a test removing the data dir, say) moves on.
  await logger.close();
  return 0;
}

/** A port that is taken, or not ours to take, gets a hint on what to do. */
function explainListenError(e: unknown): unknown {
  const code = (e as { code?: unknown })?.code;
  if (code !== 'EADDRINUSE' && code !== 'EACCES') return e;
  const what = code === 'EADDRINUSE' ? 'the port is taken (is another `kern registry serve` running?)' : 'no permission to listen there';
  return new KernelError('Unavailable', `${(e as Error).message}: ${what}; pick another with --port (0 picks a free one)`, { field: '--port', cause: e });
}

/** `kern registry publisher add NAME --key publisher.pub`: prints the first token, once. */
export async function runPublisherAdd(ctx: CliContext, name: string, o: { key?: string; dataDir?: string }): Promise<number> {
  if (!o.key) throw usageError('kern registry publisher add: --key <publisher.pub> is required (kern plugin keygen writes one)');
  const pem = await readFile(o.key, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw usageError(`--key ${o.key}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  const { withPublisherAccounts } = await publisherAccounts();
  const { publisher, token } = withPublisherAccounts(registryDataDir(ctx, o.dataDir), (a) => a.add(name, pem));
  ctx.out(`publisher ${publisher.name} added (key ${publisher.keyId})\ntoken: ${token}\n`);
  ctx.warn('the token is shown only this once: give it to the publisher now (kern registry token create issues another)');
  return 0;
}

/** `kern registry token create --publisher NAME`: prints the new token alone, for scripts. */
export async function runTokenCreate(ctx: CliContext, o: { publisher?: string; dataDir?: string }): Promise<number> {
  if (!o.publisher) throw usageError('kern registry token create: --publisher <name> is required');
  const name = o.publisher;
  const { withPublisherAccounts } = await publisherAccounts();
  const token = withPublisherAccounts(registryDataDir(ctx, o.dataDir), (a) => a.createToken(name));
  ctx.out(`${token}\n`);
  ctx.warn(`new token for publisher ${name}: it is shown only this once`);
  return 0;
}

export async function runPublisherList(ctx: CliContext, o: { dataDir?: string; output?: string }): Promise<number> {
  if (o.output !== undefined && o.output !== 'json') throw usageError(`--output "${o.output}" is not a format: use json`);
  const { withPublisherAccounts } = await publisherAccounts();
  const publishers = withPublisherAccounts(registryDataDir(ctx, o.dataDir), (a) => a.list());
  if (o.output === 'json') {
    ctx.out(JSON.stringify(publishers.map(({ publicKey: _key, ...p }) => p), null, 2) + '\n');
    return 0;
  }
  const rows = publishers.map((p) => [p.name, p.keyId, String(p.plugins), String(p.tokens), p.createdAt]);
  ctx.out(formatTable(['NAME', 'KEY ID', 'PLUGINS', 'TOKENS', 'CREATED'], rows).join('\n') + '\n');
  return 0;
}

// ---- clients of a running registry -------------------------------------------

export interface RegistryClientOptions {
  registry?: string;
}

interface RegistryTarget {
  client: RegistryClient;
  token: string;
}

/** --registry, else KERN_REGISTRY, else the local default; the token from --token, else KERN_REGISTRY_TOKEN. */
export function registryTarget(ctx: CliContext, o: RegistryClientOptions, token: string | undefined): RegistryTarget {
  const url = registryUrl(o.registry, ctx.io.env);
  const t = token || ctx.io.env.KERN_REGISTRY_TOKEN;
  if (!t) {
    throw usageError('a publisher token is required: pass --token or set KERN_REGISTRY_TOKEN (the registry operator issues one with `kern registry token create --publisher NAME`)');
  }
  return { client: new RegistryClient(url), token: t };
}

/** `kern registry publish FILE.kpkg`: checks the package here, then uploads it with FILE.sig when present. */
export async function runRegistryPublish(ctx: CliContext, file: string, o: RegistryClientOptions, token?: string): Promise<number> {
  const target = registryTarget(ctx, o, token);
  const manifest = await verifyPackage(file);
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  const sigFile = `${file}.sig`;
  let signedWith: string | undefined;
  if (existsSync(sigFile)) {
    const sig = parseSignature(await readFile(sigFile, 'utf8'), sigFile);
    headers[SIGNATURE_KEY_ID_HEADER] = sig.keyId;
    headers[SIGNATURE_HEADER] = sig.signature;
    signedWith = sig.keyId;
  }
  const bytes = await readFile(file);
  ctx.warn(`publishing ${manifest.id}@${manifest.version} (${formatBytes(bytes.length)}, ${signedWith ? `signed with key ${signedWith}` : 'unsigned'}) to ${target.client.url}`);
  const path = `/v1/plugins/${encodeURIComponent(manifest.id)}/${encodeURIComponent(manifest.version)}`;
  const entry = await target.client.send<VersionEntry>('PUT', path, { token: target.token, body: bytes, headers });
  ctx.out(`published ${manifest.id}@${entry.version} digest sha512-${entry.digest}\n`);
  return 0;
}

/** `ID@VERSION` → its parts; usage error otherwise. */
export function parsePluginRef(ref: string): { id: string; version: string } {
  const at = ref.lastIndexOf('@');
  if (at <= 0 || at === ref.length - 1) throw usageError(`"${ref}" is not ID@VERSION (example: raw-exec@1.2.0)`);
  return { id: ref.slice(0, at), version: ref.slice(at + 1) };
}

/** `kern registry yank ID@VERSION [--reason R]` and `unyank`. */
export async function runRegistryYank(ctx: CliContext, ref: string, yank: boolean, o: RegistryClientOptions & { reason?: string }, token?: string): Promise<number> {
  const target = registryTarget(ctx, o, token);
  const { id, version } = parsePluginRef(ref);
  const path = `/v1/plugins/${encodeURIComponent(id)}/${encodeURIComponent(version)}/${yank ? 'yank' : 'unyank'}`;
  const body = JSON.stringify(yank && o.reason ? { reason: o.reason } : {});
  await target.client.send<VersionEntry>('POST', path, { token: target.token, body, headers: { 'content-type': 'application/json' } });
  ctx.out(yank
    ? `yanked ${id}@${version}: no longer offered for new installs; existing lock files still download it\n`
    : `unyanked ${id}@${version}\n`);
  return 0;
}

/** `kern registry deprecate ID --message M` (an empty message clears it). */
export async function runRegistryDeprecate(ctx: CliContext, id: string, o: RegistryClientOptions & { message?: string }, token?: string): Promise<number> {
  if (o.message === undefined) throw usageError('kern registry deprecate: --message is required (say what to use instead; --message "" clears it)');
  const target = registryTarget(ctx, o, token);
  const detail = await target.client.send<PluginDetail>('POST', `/v1/plugins/${encodeURIComponent(id)}/deprecate`, {
    token: target.token, body: JSON.stringify({ message: o.message }), headers: { 'content-type': 'application/json' },
  });
  ctx.out(detail.deprecated ? `deprecated ${id}: ${detail.deprecated}\n` : `${id} is no longer deprecated\n`);
  return 0;
}

/** The --token given to the command (commander files it under the global option of the same name). */
function tokenOf(cmd: Command): string | undefined {
  return (cmd.optsWithGlobals() as { token?: string }).token;
}

export function registryCommand(run: Run): Command {
  const registry = new Command('registry').description('run the plugin registry, manage its publishers, and publish to it');
  const dataDirHelp = 'the registry\'s data (default: $KERN_HOME/registry, i.e. ~/.kern/registry)';
  const registryHelp = `registry URL (default: $KERN_REGISTRY or ${DEFAULT_REGISTRY_URL})`;
  const tokenHelp = 'publisher token (default: $KERN_REGISTRY_TOKEN)';

  registry
    .command('serve')
    .description('run the registry HTTP service in the foreground')
    .option('--data-dir <dir>', dataDirHelp)
    .option('--host <address>', 'address to listen on (default: 127.0.0.1)')
    .option('--port <n>', 'port (default: 7080; 0 picks a free one)', parsePort)
    .option('--log-level <level>', 'trace, debug, info, warn or error (default: info)')
    .action(async (opts: ServeOptions, cmd: Command) => {
      await run((ctx) => runRegistryServe(ctx, opts), cmd);
      // The log transport's worker must not keep a stopped registry alive.
      process.exit();
    });

  const publisher = registry.command('publisher').description('manage who may publish (on the registry machine; no server needed)');
  publisher
    .command('add <name>')
    .description('register a publisher with its Ed25519 public key and print its first token')
    .option('--key <file>', 'the publisher\'s public key (the publisher.pub that kern plugin keygen writes)')
    .option('--data-dir <dir>', dataDirHelp)
    .action(async (name: string, opts: { key?: string; dataDir?: string }, cmd: Command) => {
      await run((ctx) => runPublisherAdd(ctx, name, opts), cmd);
    });
  publisher
    .command('list')
    .alias('ls')
    .description('list publishers with their key id, plugins and tokens')
    .option('--data-dir <dir>', dataDirHelp)
    .option('-o, --output <format>', 'output format: json')
    .action(async (opts: { dataDir?: string; output?: string }, cmd: Command) => {
      await run((ctx) => runPublisherList(ctx, opts), cmd);
    });

  registry
    .command('token')
    .description('manage publisher tokens (on the registry machine)')
    .command('create')
    .description('issue another token for a publisher and print it')
    .option('--publisher <name>', 'the publisher')
    .option('--data-dir <dir>', dataDirHelp)
    .action(async (opts: { publisher?: string; dataDir?: string }, cmd: Command) => {
      await run((ctx) => runTokenCreate(ctx, opts), cmd);
    });

  registry
    .command('publish <file>')
    .description('upload a .kpkg (and <file>.sig when present beside it) to a registry')
    .option('--registry <url>', registryHelp)
    .option('--token <token>', tokenHelp)
    .action(async (file: string, opts: RegistryClientOptions, cmd: Command) => {
      await run((ctx) => runRegistryPublish(ctx, file, opts, tokenOf(cmd)), cmd);
    });
  registry
    .command('yank <ref>')
    .description('stop offering ID@VERSION for new installs (it stays downloadable for lock files)')
    .option('--reason <text>', 'why, shown to users')
    .option('--registry <url>', registryHelp)
    .option('--token <token>', tokenHelp)
    .action(async (ref: string, opts: RegistryClientOptions & { reason?: string }, cmd: Command) => {
      await run((ctx) => runRegistryYank(ctx, ref, true, opts, tokenOf(cmd)), cmd);
    });
  registry
    .command('unyank <ref>')
    .description('offer a yanked ID@VERSION again')
    .option('--registry <url>', registryHelp)
    .option('--token <token>', tokenHelp)
    .action(async (ref: string, opts: RegistryClientOptions, cmd: Command) => {
      await run((ctx) => runRegistryYank(ctx, ref, false, opts, tokenOf(cmd)), cmd);
    });
  registry
    .command('deprecate <id>')
    .description('mark a plugin deprecated with a message (--message "" clears it)')
    .option('--message <text>', 'what users should know, e.g. what to use instead')
    .option('--registry <url>', registryHelp)
    .option('--token <token>', tokenHelp)
    .action(async (id: string, opts: RegistryClientOptions & { message?: string }, cmd: Command) => {
      await run((ctx) => runRegistryDeprecate(ctx, id, opts, tokenOf(cmd)), cmd);
    });
  return registry;
}
