import { Command } from 'commander';
import { usageError } from '../cli-error';
import { CliContext } from '../cli-context';

export interface LogsOptions {
  container?: string;
  namespace?: string;
  follow?: boolean;
  tail?: string;
  previous?: boolean;
}

/** `web`, `pod/web`, `pods/web` or `po/web` → `web`. */
export function podName(arg: string): string {
  const slash = arg.indexOf('/');
  if (slash < 0) return arg;
  const type = arg.slice(0, slash).toLowerCase();
  if (!['pod', 'pods', 'po'].includes(type) || slash === arg.length - 1) {
    throw usageError(`"${arg}" is not a pod: give NAME or pod/NAME`);
  }
  return arg.slice(slash + 1);
}

/** `/api/v1/namespaces/{ns}/pods/{name}/{action}`. */
export function podPath(namespace: string, name: string, action: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/${action}`;
}

/**
 * Runs `start` until it ends by itself or SIGINT/SIGTERM arrives (then it
 * is stopped and counts as a clean end), and until stdout is closed under it
 * (`kern logs -f | head`).
 */
export async function untilInterrupted(ctx: CliContext, start: () => { stop(): void; done: Promise<void> }): Promise<boolean> {
  let interrupted = false;
  const handle = start();
  const onSignal = () => {
    interrupted = true;
    handle.stop();
  };
  const stdout = ctx.io.stdout as Partial<NodeJS.WritableStream>;
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  stdout.on?.('error', onSignal);
  try {
    await handle.done;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    stdout.removeListener?.('error', onSignal);
  }
  return interrupted;
}

export async function runLogs(ctx: CliContext, pod: string, o: LogsOptions): Promise<number> {
  const name = podName(pod);
  if (o.tail !== undefined && !/^\d+$/.test(o.tail)) throw usageError(`--tail must be a whole number of lines, got "${o.tail}"`);
  const query = {
    container: o.container,
    follow: o.follow ? 'true' : undefined,
    tailLines: o.tail,
    previous: o.previous ? 'true' : undefined,
  };
  await untilInterrupted(ctx, () => ctx.client.streamText('GET', podPath(o.namespace || 'default', name, 'log'), undefined, { query }, (text) => ctx.out(text)));
  return 0;
}

export function logsCommand(run: (fn: (ctx: CliContext) => Promise<number | void>, cmd: Command) => Promise<void>): Command {
  return new Command('logs')
    .description('print the output of a container in a pod (Ctrl-C stops -f)')
    .argument('<pod>', 'pod name, or pod/NAME')
    .option('-c, --container <name>', 'container (default: the pod\'s first)')
    .option('-n, --namespace <ns>', 'namespace of the pod (default: default)')
    .option('-f, --follow', 'keep printing new output as it comes')
    .option('--tail <lines>', 'only the last N lines')
    .option('-p, --previous', 'the previous (exited) instance of the container')
    .action(async (pod: string, opts: LogsOptions, cmd: Command) => {
      await run((ctx) => runLogs(ctx, pod, opts), cmd);
    });
}
