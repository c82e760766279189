import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { KernelError } from '@kern/sdk';
import { verifyPackage } from '../../../registry/package-format/extract-package';
import { packPlugin } from '../../../registry/package-format/pack-plugin';
import { assertSigned, generateKeyPair, parseSignature, signDigest } from '../../../registry/package-format/package-signing';
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
}

function provided(p: PluginInfo): string {
  const list = (p.provides ?? []).map((x) => (typeof x === 'string' ? x : [x.kind, x.name].filter(Boolean).join('/')));
  return list.length ? list.join(',') : '<none>';
}

export function pluginTable(plugins: readonly PluginInfo[]): string[] {
  const rows = plugins.map((p) => [p.id, p.version ?? '', p.state ?? '', provided(p), p.description ?? '']);
  return formatTable(['ID', 'VERSION', 'STATE', 'PROVIDES', 'DESCRIPTION'], rows);
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
    ctx.out(pluginTable(plugins).join('\n') + '\n');
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

/** `kern plugin verify FILE [--pub KEY]`: digest check, and signature check with --pub. */
export async function runPluginVerify(ctx: CliContext, file: string, o: { pub?: string }): Promise<number> {
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

export function pluginCommand(run: (fn: (ctx: CliContext) => Promise<number | void>, cmd: Command) => Promise<void>): Command {
  const plugin = new Command('plugin').description('inspect the plugins the kernel loaded; pack, sign and verify plugin packages');
  plugin
    .command('list')
    .alias('ls')
    .description('list plugins with their version, state and what they provide')
    .option('-o, --output <format>', 'output format: json or yaml')
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
  plugin
    .command('verify <file>')
    .description('check a package against its digest, and its <file>.sig against --pub')
    .option('--pub <file>', 'the publisher public key (publisher.pub)')
    .action(async (file: string, opts: { pub?: string }, cmd: Command) => {
      await run((ctx) => runPluginVerify(ctx, file, opts), cmd);
    });
  return plugin;
}
