import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { PassThrough, Readable } from 'node:stream';
import { ExecSession } from '@kern/sdk';

export interface ExecProcessOptions {
  env: Record<string, string>;
  cwd: string;
  /** Piped to the process; its end closes the process's stdin. Without it stdin is /dev/null. */
  stdin?: Readable;
}

/**
 * Runs `argv` as a child of the driver (not of the container: a host
 * process cannot join another's session) with the container's environment
 * and working directory. A program that cannot be started ends with 127
 * (not found) or 126 (not executable) and a message on stderr, as a shell
 * would report it.
 */
export function startExecProcess(argv: string[], options: ExecProcessOptions): ExecSession {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const child = spawn(argv[0], argv.slice(1), {
    cwd: options.cwd,
    env: options.env,
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  // Ended by hand below, once the process is done: a process that fails to
  // start never ends its pipes.
  child.stdout!.pipe(stdout, { end: false });
  child.stderr!.pipe(stderr, { end: false });
  if (options.stdin && child.stdin) {
    // A process that exits without reading all of its input is not an error.
    child.stdin.on('error', () => undefined);
    options.stdin.on('error', () => child.stdin?.end());
    options.stdin.pipe(child.stdin);
  }

  const exitCode = new Promise<number>((resolve) => {
    let settled = false;
    const settle = (code: number, message?: string) => {
      if (settled) return;
      settled = true;
      if (message) stderr.write(message);
      stdout.end();
      stderr.end();
      resolve(code);
    };
    child.once('error', (e: NodeJS.ErrnoException) => {
      const notFound = e.code === 'ENOENT';
      settle(notFound ? 127 : 126, `${argv[0]}: ${notFound ? 'not found' : e.message}\n`);
    });
    child.once('close', (code, signal) => {
      settle(code ?? 128 + (signal ? constants.signals[signal] ?? 0 : 0));
    });
  });
  return { stdout, stderr, exitCode };
}
