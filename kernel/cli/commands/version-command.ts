import { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { KERN_ABI, KERN_VERSION } from '../../version';
import { CliContext } from '../cli-context';
import { usageError } from '../cli-error';

/** `/version`: Kubernetes' version-info shape, perhaps with Kern's own fields. */
export interface ServerVersion {
  major?: string;
  minor?: string;
  gitVersion?: string;
  platform?: string;
  kern?: string;
  abi?: string;
  kernAbi?: string;
  [k: string]: unknown;
}

export function serverVersionText(v: ServerVersion): string {
  const version = v.gitVersion ?? (v.kern ? `v${v.kern}` : v.major !== undefined ? `v${v.major}.${v.minor ?? 0}` : 'unknown');
  const abi = v.kernAbi ?? v.abi;
  return abi ? `${version} (syscall ABI ${abi})` : version;
}

export async function runVersion(ctx: CliContext, o: { output?: string; client?: boolean }): Promise<number> {
  if (o.output !== undefined && o.output !== 'json' && o.output !== 'yaml') throw usageError(`--output "${o.output}" is not a format: use json or yaml`);
  const clientVersion = { kern: KERN_VERSION, gitVersion: `v${KERN_VERSION}`, abi: KERN_ABI, platform: `${process.platform}/${process.arch}` };
  let server: ServerVersion | undefined;
  let serverError: unknown;
  if (!o.client) {
    try {
      server = await ctx.client.get<ServerVersion>('/version', { anonymous: true, timeoutMs: 5000 });
    } catch (e) {
      serverError = e;
    }
  }
  if (o.output) {
    const body = { clientVersion, ...(server ? { serverVersion: server } : {}) };
    ctx.out(o.output === 'json' ? JSON.stringify(body, null, 2) + '\n' : toYaml(body));
  } else {
    ctx.out(`Client Version: v${KERN_VERSION} (syscall ABI ${KERN_ABI})\n`);
    if (server) ctx.out(`Server Version: ${serverVersionText(server)}\n`);
  }
  // The client version is still worth printing when no server answers.
  if (serverError) ctx.reportError(serverError);
  return 0;
}

export function versionCommand(run: (fn: (ctx: CliContext) => Promise<number | void>, cmd: Command) => Promise<void>): Command {
  return new Command('version')
    .description('print the client version, and the server version when it is reachable')
    .option('--client', 'only the client version')
    .option('-o, --output <format>', 'json or yaml')
    .action(async (opts: { output?: string; client?: boolean }, cmd: Command) => {
      await run((ctx) => runVersion(ctx, opts), cmd);
    });
}
