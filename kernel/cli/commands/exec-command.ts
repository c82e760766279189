import { Command } from 'commander';
import { ExecArgs, ExecFrame, KernelError } from '@kern/sdk';
import { CLI_ERROR_CODES, statusToError, usageError } from '../cli-error';
import { CliContext } from '../cli-context';
import { podName, podPath, untilInterrupted } from './logs-command';

export interface ExecOptions {
  container?: string;
  namespace?: string;
  stdin?: boolean;
}

/** Exit code after Ctrl-C, as shells report a SIGINT death. */
const INTERRUPTED = 130;

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/**
 * Runs a command in a pod's container through the exec route: output frames
 * go to stdout and stderr as they come, and the command's exit code becomes
 * ours. With -i all of stdin is read first and sent along.
 */
export async function runExec(ctx: CliContext, pod: string, command: string[], o: ExecOptions): Promise<number> {
  const name = podName(pod);
  if (!command.length) throw usageError('give the command after --, e.g. kern exec web -- ls /');
  const body: Omit<ExecArgs, 'name' | 'namespace'> = { command, ...(o.container ? { container: o.container } : {}) };
  if (o.stdin) body.stdin = (await readAll(ctx.io.stdin ?? process.stdin)).toString('base64');
  let exitCode: number | undefined;
  const interrupted = await untilInterrupted(ctx, () => ctx.client.streamLines('POST', podPath(o.namespace || 'default', name, 'exec'), body, {}, (value) => {
    const frame = value as ExecFrame | { type?: string; object?: unknown };
    if ('type' in frame && frame.type === 'ERROR') throw statusToError((frame.object as { code?: number })?.code ?? 500, frame.object);
    if ('exitCode' in frame && typeof frame.exitCode === 'number') exitCode = frame.exitCode;
    else if ('stream' in frame && typeof frame.data === 'string') {
      const bytes = Buffer.from(frame.data, 'base64');
      (frame.stream === 'stderr' ? ctx.io.stderr : ctx.io.stdout).write(bytes);
    }
  }));
  if (interrupted) return INTERRUPTED;
  if (exitCode === undefined) {
    throw new KernelError('Unavailable', `the exec in pod ${name} ended without an exit code (the connection or the container went away)`, {
      code: CLI_ERROR_CODES.badReply,
    });
  }
  return exitCode;
}

export function execCommand(run: (fn: (ctx: CliContext) => Promise<number | void>, cmd: Command) => Promise<void>): Command {
  return new Command('exec')
    .description('run a command in a container of a pod (kern exec POD -- CMD ARGS...); exits with its exit code')
    .argument('<pod>', 'pod name, or pod/NAME')
    .argument('[command...]', 'after --: the command and its arguments')
    .option('-c, --container <name>', 'container (default: the pod\'s first)')
    .option('-n, --namespace <ns>', 'namespace of the pod (default: default)')
    .option('-i, --stdin', 'send all of stdin to the command (read to its end first)')
    .action(async (pod: string, command: string[], opts: ExecOptions, cmd: Command) => {
      await run((ctx) => runExec(ctx, pod, command, opts), cmd);
    });
}
