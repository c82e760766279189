import { CommanderError } from 'commander';
import { isKernelError } from '../errors';
import { buildProgram } from './program';

/**
 * Runs `kern-sdk` with `argv` (as process.argv: node, script, args...) and
 * resolves with the exit code: errors are printed as one line, KernelErrors
 * by their message, with 1 (2 for usage errors).
 */
export async function runCli(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = buildProgram({ out: (text) => process.stdout.write(text) }, (code) => { exitCode = code; });
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version end here too; commander has printed what it had to.
      return e.exitCode === 0 ? 0 : 2;
    }
    const message = isKernelError(e) ? e.message : e instanceof Error ? e.stack ?? e.message : String(e);
    process.stderr.write(`kern-sdk: ${message}\n`);
    return 1;
  }
}

if (require.main === module) {
  void runCli(process.argv).then((code) => { process.exitCode = code; });
}
