import { Command } from 'commander';
import { Node, TAINT_EFFECTS, Taint } from '@kern/sdk';
import { usageError } from '../cli-error';
import { CliContext } from '../cli-context';
import { updateWithRetry } from './object-update';

/** One taint argument: `key[=value]:Effect` adds, `key[=value][:Effect]-` removes (every effect when none is named). */
export type TaintChange = { add: Taint } | { remove: { key: string; effect?: Taint['effect'] } };

export function parseTaintArg(arg: string): TaintChange {
  const removing = arg.endsWith('-');
  const text = removing ? arg.slice(0, -1) : arg;
  const colon = text.lastIndexOf(':');
  const pair = colon >= 0 ? text.slice(0, colon) : text;
  const effect = colon >= 0 ? text.slice(colon + 1) : undefined;
  const eq = pair.indexOf('=');
  const key = eq >= 0 ? pair.slice(0, eq) : pair;
  const value = eq >= 0 ? pair.slice(eq + 1) : undefined;
  const example = 'e.g. dedicated=gpu:NoSchedule to add, dedicated:NoSchedule- or dedicated- to remove';
  if (!key) throw usageError(`taint "${arg}" has no key (${example})`);
  if (effect !== undefined && !TAINT_EFFECTS.includes(effect as Taint['effect'])) {
    throw usageError(`taint "${arg}": the effect must be NoSchedule, PreferNoSchedule or NoExecute, got "${effect}"`);
  }
  if (removing) return { remove: { key, effect: effect as Taint['effect'] | undefined } };
  if (effect === undefined) throw usageError(`taint "${arg}" needs an effect (${example})`);
  return { add: { key, ...(value ? { value } : {}), effect: effect as Taint['effect'] } };
}

/** The node's taints after the changes; a NoExecute taint gets its timeAdded (tolerationSeconds count from it). */
export function applyTaintChanges(taints: readonly Taint[], changes: readonly TaintChange[], now = new Date()): Taint[] {
  let out = [...taints];
  for (const c of changes) {
    if ('add' in c) {
      const t: Taint = c.add.effect === 'NoExecute' ? { ...c.add, timeAdded: now.toISOString() } : c.add;
      const same = out.findIndex((x) => x.key === t.key && x.effect === t.effect);
      if (same >= 0) {
        if ((out[same].value ?? '') !== (t.value ?? '')) out[same] = t;
      } else {
        out.push(t);
      }
    } else {
      const before = out.length;
      out = out.filter((x) => !(x.key === c.remove.key && (c.remove.effect === undefined || x.effect === c.remove.effect)));
      if (out.length === before) throw usageError(`the node has no taint ${c.remove.key}${c.remove.effect ? `:${c.remove.effect}` : ''} to remove`);
    }
  }
  return out;
}

const NODE_TYPES = new Set(['node', 'nodes', 'no']);

/** `kern taint nodes NAME TAINT...`, as kubectl taint. */
export async function runTaint(ctx: CliContext, type: string, name: string | undefined, args: string[]): Promise<number> {
  if (!NODE_TYPES.has(type.toLowerCase())) throw usageError(`only nodes have taints: kern taint nodes NAME key=value:Effect (got "${type}")`);
  if (!name) throw usageError('name the node: kern taint nodes NAME key=value:Effect');
  if (args.length === 0) throw usageError('name at least one taint, e.g. dedicated=gpu:NoSchedule (or dedicated:NoSchedule- to remove it)');
  const changes = args.map(parseTaintArg);
  await updateWithRetry<Node>(ctx, { kind: 'Node', name }, (node) => {
    node.spec = { ...(node.spec ?? {}), taints: applyTaintChanges(node.spec?.taints ?? [], changes) };
  });
  ctx.out(`node/${name} ${changes.every((c) => 'remove' in c) ? 'untainted' : 'tainted'}\n`);
  return 0;
}

/** `kern cordon|uncordon NAME`: marks the node (un)schedulable for new pods; running pods stay. */
export async function runCordon(ctx: CliContext, names: string[], unschedulable: boolean): Promise<number> {
  if (names.length === 0) throw usageError(`name the node: kern ${unschedulable ? 'cordon' : 'uncordon'} NAME`);
  for (const name of names) {
    await updateWithRetry<Node>(ctx, { kind: 'Node', name }, (node) => {
      const spec = { ...(node.spec ?? {}) };
      if (unschedulable) spec.unschedulable = true;
      else delete spec.unschedulable;
      node.spec = spec;
    });
    ctx.out(`node/${name} ${unschedulable ? 'cordoned' : 'uncordoned'}\n`);
  }
  return 0;
}

type Runner = (fn: (ctx: CliContext) => Promise<number | void>, cmd: Command) => Promise<void>;

export function taintCommand(run: Runner): Command {
  return new Command('taint')
    .description('add or remove node taints (key=value:Effect adds, key:Effect- or key- removes)')
    .argument('<type>', 'nodes')
    .argument('[name]', 'the node')
    .argument('[taints...]', 'key[=value]:NoSchedule|PreferNoSchedule|NoExecute, or key[:Effect]- to remove')
    .action(async (type: string, name: string | undefined, taints: string[], _opts: unknown, cmd: Command) => {
      await run((ctx) => runTaint(ctx, type, name, taints), cmd);
    });
}

export function cordonCommands(run: Runner): Command[] {
  const make = (verb: 'cordon' | 'uncordon', unschedulable: boolean, what: string) => new Command(verb)
    .description(what)
    .argument('<names...>', 'the nodes')
    .action(async (names: string[], _opts: unknown, cmd: Command) => {
      await run((ctx) => runCordon(ctx, names, unschedulable), cmd);
    });
  return [
    make('cordon', true, 'mark nodes unschedulable: no new pods land there, running ones stay'),
    make('uncordon', false, 'mark nodes schedulable again'),
  ];
}
