import { Command } from 'commander';
import { KernObject } from '@kern/sdk';
import { usageError } from '../cli-error';
import { CliContext } from '../cli-context';
import { kindLabel, parseResourceArgs } from '../kind-resolver';
import { updateWithRetry } from './object-update';

const SCALABLE = new Set(['Deployment', 'ReplicaSet']);

/** `kern scale KIND NAME --replicas N` (or KIND/NAME): sets spec.replicas, retrying on a concurrent write. */
export async function runScale(ctx: CliContext, args: string[], o: { replicas?: string; namespace?: string }): Promise<number> {
  if (o.replicas === undefined || !/^\d+$/.test(o.replicas.trim())) throw usageError(`--replicas must be a whole number ≥ 0, got ${JSON.stringify(o.replicas ?? '')}`);
  const replicas = Number(o.replicas);
  const parsed = parseResourceArgs(args);
  const resolver = await ctx.kinds();
  const targets = parsed.form === 'refs' ? parsed.refs : parsed.names.map((name) => ({ kind: parsed.kinds[0], name }));
  if (targets.length === 0) throw usageError('name what to scale: kern scale deployment NAME --replicas N');
  const namespace = o.namespace || 'default';
  for (const t of targets) {
    const info = resolver.resolve(t.kind);
    if (!SCALABLE.has(info.kind)) throw usageError(`${info.kind} cannot be scaled: scale a Deployment or a ReplicaSet`);
    await updateWithRetry<KernObject<{ replicas?: number }>>(ctx, { kind: info.kind, namespace, name: t.name }, (obj) => {
      obj.spec = { ...(obj.spec ?? {}), replicas };
    });
    ctx.out(`${kindLabel(info.kind, info.apiVersion)}/${t.name} scaled\n`);
  }
  return 0;
}

export function scaleCommand(run: (fn: (ctx: CliContext) => Promise<number | void>, cmd: Command) => Promise<void>): Command {
  return new Command('scale')
    .description('set the number of replicas of a Deployment or ReplicaSet')
    .argument('<type|type/name>', 'deployment, replicaset (or TYPE/NAME)')
    .argument('[names...]', 'names of the objects to scale')
    .requiredOption('--replicas <n>', 'the new number of replicas')
    .option('-n, --namespace <ns>', 'namespace (default: default)')
    .action(async (type: string, names: string[], opts: { replicas?: string; namespace?: string }, cmd: Command) => {
      await run((ctx) => runScale(ctx, [type, ...names], opts), cmd);
    });
}
