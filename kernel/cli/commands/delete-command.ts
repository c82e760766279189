import { Command } from 'commander';
import { KernObject, KindInfo, ObjectList, isNotFound } from '@kern/sdk';
import { usageError } from '../cli-error';
import { CliContext } from '../cli-context';
import { kindLabel, parseResourceArgs, resourcePath } from '../kind-resolver';
import { readManifests } from '../manifest-reader';
import { collect, isFatal } from './apply-command';

export interface DeleteOptions {
  filename: string[];
  recursive?: boolean;
  namespace?: string;
  all?: boolean;
  ignoreNotFound?: boolean;
  /** Wait until the objects are gone (finalizers done), as kubectl does. Default: true. */
  wait?: boolean;
  /** Seconds to wait. Default: 60. */
  timeout?: string;
}

interface Target {
  info: KindInfo;
  name: string;
  namespace: string;
  source?: string;
}

export async function runDelete(ctx: CliContext, args: string[], o: DeleteOptions): Promise<number> {
  const resolver = await ctx.kinds();
  const namespace = o.namespace || 'default';
  const targets: Target[] = [];
  let failed = 0;
  if (o.filename.length) {
    if (args.length) throw usageError('give either -f FILE or TYPE NAME..., not both');
    const { objects, errors } = await readManifests(o.filename, { recursive: o.recursive });
    if (errors.length) {
      errors.forEach((e) => ctx.reportError(e));
      return 1;
    }
    for (const { object, source } of objects) {
      try {
        const info = resolver.resolve(object.kind);
        if (!object.metadata?.name) throw usageError('metadata.name is required to delete an object');
        targets.push({ info, name: object.metadata.name, namespace: object.metadata.namespace || namespace, source });
      } catch (e) {
        ctx.reportError(e, source);
        failed++;
      }
    }
  } else {
    const parsed = parseResourceArgs(args);
    if (parsed.form === 'refs') {
      parsed.refs.forEach((r) => targets.push({ info: resolver.resolve(r.kind), name: r.name, namespace }));
    } else {
      const infos = parsed.kinds.map((k) => resolver.resolve(k));
      if (parsed.names.length === 0) {
        if (!o.all) throw usageError(`name what to delete (kern delete ${parsed.kinds[0]} NAME) or add --all`);
        for (const info of infos) {
          const list = await ctx.client.get<ObjectList>(resourcePath(info, { namespace }));
          list.items.forEach((i) => targets.push({ info, name: i.metadata.name, namespace: i.metadata.namespace || namespace }));
        }
      } else {
        parsed.names.forEach((name) => targets.push({ info: infos[0], name, namespace }));
      }
    }
  }
  for (const t of targets) {
    const label = kindLabel(t.info.kind, t.info.apiVersion);
    try {
      const path = resourcePath(t.info, { namespace: t.namespace, name: t.name });
      const last = await ctx.client.request<KernObject>('DELETE', path);
      ctx.out(`${label} "${t.name}" deleted\n`);
      if (o.wait !== false && last.metadata?.deletionTimestamp) await waitUntilGone(ctx, path, last.metadata.uid, Number(o.timeout ?? 60));
    } catch (e) {
      if (isNotFound(e) && o.ignoreNotFound) continue;
      if (isFatal(e)) throw e;
      ctx.reportError(e, t.source);
      failed++;
    }
  }
  return failed ? 1 : 0;
}

/** Polls until the object (this uid) is gone: its finalizers (the node agent stopping a pod) take a moment. */
async function waitUntilGone(ctx: CliContext, path: string, uid: string | undefined, timeoutSeconds: number): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    try {
      const obj = await ctx.client.get<KernObject>(path);
      if (uid && obj.metadata.uid !== uid) return;
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (Date.now() > deadline) throw usageError(`timed out after ${timeoutSeconds}s waiting for ${path} to go (it is still finalizing; --timeout to wait longer)`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function deleteCommand(run: (fn: (ctx: CliContext) => Promise<number | void>, cmd: Command) => Promise<void>): Command {
  return new Command('delete')
    .description('delete objects by type and name, or those in manifests')
    .argument('[type|type/name]', 'resource type (pods, nodes, ...) or TYPE/NAME')
    .argument('[names...]', 'names of the objects to delete')
    .option('-f, --filename <file>', 'delete the objects in this manifest, directory or - (repeatable)', collect, [])
    .option('-R, --recursive', 'also read manifests in subdirectories')
    .option('-n, --namespace <ns>', 'namespace of namespaced resources (default: default)')
    .option('--all', 'delete every object of the type in the namespace')
    .option('--ignore-not-found', 'treat objects that are already gone as deleted')
    .option('--no-wait', 'return at once instead of waiting until the objects are gone')
    .option('--timeout <seconds>', 'how long to wait for the objects to go (default: 60)')
    .action(async (type: string | undefined, names: string[], opts: DeleteOptions, cmd: Command) => {
      await run((ctx) => runDelete(ctx, type === undefined ? [] : [type, ...names], opts), cmd);
    });
}
