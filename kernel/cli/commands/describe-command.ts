import { Command } from 'commander';
import { KernObject, KindInfo, ObjectList, isNotFound } from '@kern/sdk';
import { CliContext } from '../cli-context';
import { describeObject, eventsFor } from '../describe-printer';
import { parseResourceArgs, resourcePath } from '../kind-resolver';
import { withTypeMeta } from '../object-output';

export interface DescribeOptions {
  namespace?: string;
  selector?: string;
}

export async function runDescribe(ctx: CliContext, args: string[], o: DescribeOptions): Promise<number> {
  const parsed = parseResourceArgs(args);
  const resolver = await ctx.kinds();
  const namespace = o.namespace || 'default';
  const targets: { info: KindInfo; name?: string }[] = parsed.form === 'refs'
    ? parsed.refs.map((r) => ({ info: resolver.resolve(r.kind), name: r.name }))
    : parsed.kinds.flatMap((k) => {
      const info = resolver.resolve(k);
      return parsed.names.length ? parsed.names.map((name) => ({ info, name })) : [{ info }];
    });
  const eventKind = resolver.find('Event');
  const eventCache = new Map<string, Promise<KernObject[] | undefined>>();
  const eventsIn = (ns: string) => {
    if (!eventCache.has(ns)) {
      eventCache.set(ns, eventKind
        ? ctx.client.get<ObjectList>(resourcePath(eventKind, { namespace: ns })).then((l) => l.items, () => undefined)
        : Promise.resolve(undefined));
    }
    return eventCache.get(ns)!;
  };

  let failed = 0;
  let printed = 0;
  for (const t of targets) {
    let objects: KernObject[];
    try {
      objects = t.name !== undefined
        ? [await ctx.client.get<KernObject>(resourcePath(t.info, { namespace, name: t.name }))]
        : (await ctx.client.get<ObjectList>(resourcePath(t.info, { namespace }), { query: { labelSelector: o.selector || undefined } })).items;
    } catch (e) {
      if (!isNotFound(e)) throw e;
      ctx.reportError(e);
      failed++;
      continue;
    }
    for (const raw of objects) {
      const obj = withTypeMeta(raw, t.info);
      const all = obj.kind === 'Event' ? undefined : await eventsIn(obj.metadata.namespace || 'default');
      if (printed++) ctx.out('\n\n');
      ctx.out(describeObject(obj, { now: ctx.now(), events: all && eventsFor(obj, all) }));
    }
    if (objects.length === 0 && t.name === undefined) {
      ctx.warn(`No resources found${t.info.namespaced ? ` in ${namespace} namespace` : ''}.`);
    }
  }
  return failed ? 1 : 0;
}

export function describeCommand(run: (fn: (ctx: CliContext) => Promise<number | void>, cmd: Command) => Promise<void>): Command {
  return new Command('describe')
    .description('show the details of objects in a readable form')
    .argument('<type|type/name>', 'resource type (pods, nodes, ...) or TYPE/NAME')
    .argument('[names...]', 'names of the objects (all in the namespace when left out)')
    .option('-n, --namespace <ns>', 'namespace of namespaced resources (default: default)')
    .option('-l, --selector <selector>', 'label selector when describing several objects')
    .action(async (type: string, names: string[], opts: DescribeOptions, cmd: Command) => {
      await run((ctx) => runDescribe(ctx, [type, ...names], opts), cmd);
    });
}
