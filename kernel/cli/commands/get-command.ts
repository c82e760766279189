import { Command } from 'commander';
import { KernObject, KindInfo, ObjectList, WatchEvent, isNotFound } from '@kern/sdk';
import { statusToError, usageError } from '../cli-error';
import { CliContext } from '../cli-context';
import { KindResolver, kindLabel, parseResourceArgs, resourcePath } from '../kind-resolver';
import { OutputFormat, formatObjects, parseOutputFormat, withTypeMeta } from '../object-output';
import { Column, columnsFor, headerOf, rowOf } from '../resource-columns';
import { columnWidths, formatRow } from '../table-printer';

export interface GetOptions {
  namespace?: string;
  allNamespaces?: boolean;
  selector?: string;
  output?: string;
  watch?: boolean;
}

/** Objects of one kind, as fetched. */
interface KindResult {
  info: KindInfo;
  items: KernObject[];
  resourceVersion?: string;
}

export async function runGet(ctx: CliContext, args: string[], o: GetOptions): Promise<number> {
  const format = parseOutputFormat(o.output);
  const parsed = parseResourceArgs(args);
  if (o.allNamespaces && (parsed.form === 'refs' || parsed.names.length)) {
    throw usageError('a resource cannot be fetched by name across all namespaces: drop -A or give -n NAMESPACE');
  }
  const resolver = await ctx.kinds();
  const namespace = o.namespace || 'default';
  let failed = 0;
  const results: KindResult[] = [];
  const resultFor = (info: KindInfo) => {
    let r = results.find((x) => x.info === info);
    if (!r) results.push((r = { info, items: [] }));
    return r;
  };
  const fetchOne = async (info: KindInfo, name: string) => {
    try {
      const obj = await ctx.client.get<KernObject>(resourcePath(info, { namespace, name }));
      resultFor(info).items.push(withTypeMeta(obj, info));
    } catch (e) {
      if (!isNotFound(e)) throw e;
      ctx.reportError(e);
      failed++;
    }
  };

  let named = false;
  if (parsed.form === 'refs') {
    named = true;
    for (const ref of parsed.refs) await fetchOne(resolver.resolve(ref.kind), ref.name);
  } else {
    const infos = [...new Set(parsed.kinds.map((k) => resolver.resolve(k)))];
    if (parsed.names.length) {
      named = true;
      for (const name of parsed.names) await fetchOne(infos[0], name);
    } else {
      for (const info of infos) {
        const list = await ctx.client.get<ObjectList>(resourcePath(info, { namespace, allNamespaces: o.allNamespaces }), {
          query: { labelSelector: o.selector || undefined },
        });
        const r = resultFor(info);
        r.items.push(...list.items.map((i) => withTypeMeta(i, info)));
        r.resourceVersion = list.metadata?.resourceVersion;
      }
    }
  }
  if (o.watch && results.length > 1) throw usageError('--watch follows one resource type at a time');

  const total = results.reduce((n, r) => n + r.items.length, 0);
  const multiKind = results.length > 1;
  let tables: TableState | undefined;
  if (format === 'table' || format === 'wide') {
    const blocks: string[] = [];
    for (const r of results) {
      if (r.items.length === 0) continue;
      const t = new TableState(r.info, format === 'wide', !!o.allNamespaces && r.info.namespaced, multiKind ? `${kindLabel(r.info.kind, r.info.apiVersion)}/` : '');
      blocks.push(t.initial(r.items, ctx.now()));
      tables = t;
    }
    ctx.out(blocks.join('\n'));
  } else if (total > 0 || !named) {
    const all = results.flatMap((r) => r.items);
    ctx.out(formatObjects(format, named && all.length === 1 && !multiKind ? all[0] : all));
  }
  if (total === 0 && failed === 0 && (format === 'table' || format === 'wide' || format === 'name')) {
    const info = results[0]?.info;
    const where = o.allNamespaces || !info?.namespaced ? '' : ` in ${namespace} namespace`;
    ctx.warn(`No resources found${where}.`);
  }

  if (o.watch && !(named && total === 0)) {
    const r = results[0] ?? { info: resolver.resolve((parsed as { kinds: string[] }).kinds[0]), items: [] };
    const onlyNames = named ? new Set(r.items.map((i) => i.metadata.name)) : undefined;
    // Objects fetched by name: follow changes after the newest of them.
    if (named && r.resourceVersion === undefined && r.items.length) {
      r.resourceVersion = String(Math.max(...r.items.map((i) => Number(i.metadata.resourceVersion) || 0)));
    }
    tables ??= new TableState(r.info, format === 'wide', !!o.allNamespaces && r.info.namespaced, '');
    await watchKind(ctx, r, { namespace, o, format, table: tables, onlyNames });
  }
  return failed ? 1 : 0;
}

/** Keeps the column widths of the first table so watch rows line up under it. */
class TableState {
  private widths?: number[];
  readonly columns: Column[];

  constructor(readonly info: KindInfo, wide: boolean, withNamespace: boolean, private readonly prefix: string) {
    this.columns = columnsFor(info.kind, { wide, withNamespace });
  }

  initial(items: KernObject[], now: number): string {
    const header = headerOf(this.columns);
    const rows = items.map((i) => rowOf(i, this.columns, now, this.prefix));
    this.widths = columnWidths(header, rows);
    return [formatRow(header, this.widths), ...rows.map((r) => formatRow(r, this.widths!))].join('\n') + '\n';
  }

  /** One row; the header first when nothing was printed yet. */
  row(obj: KernObject, now: number): string {
    if (!this.widths) return this.initial([obj], now);
    return formatRow(rowOf(obj, this.columns, now, this.prefix), this.widths) + '\n';
  }
}

async function watchKind(
  ctx: CliContext,
  r: KindResult,
  w: { namespace: string; o: GetOptions; format: OutputFormat; table: TableState; onlyNames?: Set<string> },
): Promise<void> {
  const path = resourcePath(r.info, { namespace: w.namespace, allNamespaces: w.o.allNamespaces });
  let resourceVersion = r.resourceVersion;
  let stopped = false;
  let handle: { stop(): void } | undefined;
  const onSignal = () => {
    stopped = true;
    handle?.stop();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    while (!stopped) {
      const h = ctx.client.watch(path, { resourceVersion, labelSelector: w.o.selector || undefined }, (event: WatchEvent) => {
        if (event.type === 'BOOKMARK') {
          resourceVersion = event.object?.metadata?.resourceVersion ?? resourceVersion;
          return;
        }
        if (event.type === 'ERROR') throw statusToError((event.object as { code?: number })?.code ?? 500, event.object);
        const obj = withTypeMeta(event.object, r.info);
        resourceVersion = obj.metadata?.resourceVersion ?? resourceVersion;
        if (w.onlyNames && !w.onlyNames.has(obj.metadata.name)) return;
        if (w.format === 'table' || w.format === 'wide') ctx.out(w.table.row(obj, ctx.now()));
        else if (w.format === 'yaml') ctx.out('---\n' + formatObjects('yaml', obj));
        else ctx.out(formatObjects(w.format, obj));
      });
      handle = h;
      await h.done;
      // The server ended the stream (a timeout, say): carry on from the last revision seen.
      if (!stopped) await new Promise((res) => setTimeout(res, 500));
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

export function getCommand(run: (fn: (ctx: CliContext) => Promise<number | void>, cmd: Command) => Promise<void>): Command {
  return new Command('get')
    .description('list resources, or show some by name (pods, nodes, namespaces, ...)')
    .argument('<type[,type...]|type/name>', 'resource type (pods, po, nodes, ns, ...) or TYPE/NAME')
    .argument('[names...]', 'names of the objects to show')
    .option('-n, --namespace <ns>', 'namespace of namespaced resources (default: default)')
    .option('-A, --all-namespaces', 'list across all namespaces')
    .option('-l, --selector <selector>', 'label selector, e.g. app=web,tier!=db')
    .option('-o, --output <format>', 'output format: wide, json, yaml or name')
    .option('-w, --watch', 'after listing, print a line for every change (Ctrl-C to stop)')
    .action(async (type: string, names: string[], opts: GetOptions, cmd: Command) => {
      await run((ctx) => runGet(ctx, [type, ...names], opts), cmd);
    });
}
