import { Command } from 'commander';
import { KERN_VERSION } from '../version';
import { CliContext, CliIo, GlobalOptions } from './cli-context';
import { formatError } from './cli-error';
import { applyCommand } from './commands/apply-command';
import { deleteCommand } from './commands/delete-command';
import { describeCommand } from './commands/describe-command';
import { execCommand } from './commands/exec-command';
import { explainScheduleCommand } from './commands/explain-schedule-command';
import { getCommand } from './commands/get-command';
import { imageCommand } from './commands/image-command';
import { logsCommand } from './commands/logs-command';
import { pluginCommand } from './commands/plugin-command';
import { registryCommand } from './commands/registry-command';
import { rolloutCommand } from './commands/rollout-command';
import { runCommand } from './commands/run-command';
import { scaleCommand } from './commands/scale-command';
import { cordonCommands, taintCommand } from './commands/node-command';
import { upCommand } from './commands/up-command';
import { versionCommand } from './commands/version-command';

/**
 * Runs one command with its context: a returned number becomes the exit
 * code; a thrown error prints `error: ...` (stack with --debug) and exits 1.
 */
function runner(io: CliIo) {
  return async (fn: (ctx: CliContext) => Promise<number | void>, cmd: Command): Promise<void> => {
    const globals = cmd.optsWithGlobals() as GlobalOptions;
    const ctx = new CliContext(globals, io);
    try {
      const code = await fn(ctx);
      process.exitCode = code ?? 0;
    } catch (e) {
      io.stderr.write(formatError(e, { debug: globals.debug }).join('\n') + '\n');
      process.exitCode = 1;
    } finally {
      ctx.close();
    }
  };
}

export function createProgram(io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env, stdin: process.stdin }): Command {
  const run = runner(io);
  const program = new Command('kern')
    .description('Kern: a plugin-oriented microkernel for running containers on a fleet of machines')
    .version(KERN_VERSION, '--client-version', 'print the client version only')
    .option('--debug', 'print stack traces with errors')
    .option('--kern-home <dir>', 'where config.json (server address and token) lives (default: $KERN_HOME or ~/.kern)')
    .option('--server <url>', 'Kern API address (default: from config.json, else http://127.0.0.1:7070)')
    .option('--token <token>', 'bearer token (default: from config.json)')
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
  for (const make of [
    upCommand, getCommand, describeCommand, applyCommand, deleteCommand, runCommand, logsCommand, execCommand, imageCommand,
    pluginCommand, versionCommand, scaleCommand, rolloutCommand, explainScheduleCommand, registryCommand, taintCommand,
  ]) {
    program.addCommand(make(run));
  }
  for (const cmd of cordonCommands(run)) program.addCommand(cmd);
  return program;
}

/** The `kern` entry point. */
export async function main(argv: string[] = process.argv): Promise<void> {
  await createProgram().parseAsync(argv);
}
