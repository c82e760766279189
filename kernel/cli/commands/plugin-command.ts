import { Command } from 'commander';
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

export function pluginCommand(run: (fn: (ctx: CliContext) => Promise<number | void>, cmd: Command) => Promise<void>): Command {
  const plugin = new Command('plugin').description('inspect the plugins the kernel loaded');
  plugin
    .command('list')
    .alias('ls')
    .description('list plugins with their version, state and what they provide')
    .option('-o, --output <format>', 'output format: json or yaml')
    .action(async (opts: { output?: string }, cmd: Command) => {
      await run((ctx) => runPluginList(ctx, opts), cmd);
    });
  return plugin;
}
