import { Command } from 'commander';
import { ScheduleExplanation } from '@kern/sdk';
import { CliContext } from '../cli-context';
import { formatTable } from '../table-printer';
import { podName } from './logs-command';

/** The NODE VERDICT SCORE REASONS table of a `sched.explain` answer. */
export function explanationLines(ex: ScheduleExplanation): string[] {
  const rows = ex.nodes.map((n) => [n.node, n.verdict, n.score === undefined ? '-' : String(Math.round(n.score)), n.reasons.join('; ') || '-']);
  const head = ex.nodeName
    ? `pod ${ex.pod.namespace}/${ex.pod.name} (priority ${ex.priority}) would be scheduled to ${ex.nodeName}`
    : `pod ${ex.pod.namespace}/${ex.pod.name} (priority ${ex.priority}) fits no node: ${ex.message ?? ''}`;
  return [head, ...formatTable(['NODE', 'VERDICT', 'SCORE', 'REASONS'], rows)];
}

export async function runExplainSchedule(ctx: CliContext, pod: string, o: { namespace?: string; output?: string }): Promise<number> {
  const ex = await ctx.client.syscall('sched.explain', { namespace: o.namespace || 'default', name: podName(pod) });
  if (o.output === 'json') ctx.out(JSON.stringify(ex, null, 2) + '\n');
  else ctx.out(explanationLines(ex).join('\n') + '\n');
  return 0;
}

export function explainScheduleCommand(run: (fn: (ctx: CliContext) => Promise<number | void>, cmd: Command) => Promise<void>): Command {
  return new Command('explain-schedule')
    .description("dry-run the scheduler for a pod: every node's verdict, score and reasons (binds nothing)")
    .argument('<pod>', 'pod name (or pod/NAME)')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-o, --output <format>', 'json for the raw answer')
    .action(async (pod: string, opts: { namespace?: string; output?: string }, cmd: Command) => {
      await run((ctx) => runExplainSchedule(ctx, pod, opts), cmd);
    });
}
