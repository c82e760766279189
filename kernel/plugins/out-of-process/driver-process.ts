import { ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Logger, signalProcessGroup, stopProcessGroup } from '@kern/sdk';
import { DriverLog } from './driver-log';

/** What to run: program, arguments, working directory and environment. */
export interface DriverCommand {
  file: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** How a driver process ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  error?: Error;
}

/** Lines of stderr kept for error messages. */
const STDERR_LINES_KEPT = 20;
/** After exit, how long to wait for the last output before calling the process gone. */
const OUTPUT_DRAIN_MS = 500;

/**
 * One run of a driver's command: its output goes line by line to the
 * kernel's logger and the driver log, the last lines of stderr are kept for
 * error messages. It runs in a process group of its own, so Ctrl-C on the
 * kernel's terminal does not reach it (the kernel stops it in order) and
 * stopping it also stops whatever it started.
 */
export class DriverProcess {
  readonly pid: number | undefined;
  /** Settles once the process is gone; never rejects. */
  readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcess;
  private readonly stderrLines: string[] = [];
  private exit?: ProcessExit;

  constructor(command: DriverCommand, logger: Logger, log: DriverLog) {
    this.child = spawn(command.file, command.args, { cwd: command.cwd, env: command.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.pid = this.child.pid;
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      log.write('stdout', line);
      logger.info({ stream: 'stdout' }, line);
    });
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      log.write('stderr', line);
      logger.warn({ stream: 'stderr' }, line);
      this.stderrLines.push(line);
      if (this.stderrLines.length > STDERR_LINES_KEPT) this.stderrLines.shift();
    });
    this.exited = new Promise((resolve) => {
      const done = (exit: ProcessExit) => {
        this.exit ??= exit;
        resolve(this.exit);
      };
      this.child.on('error', (error) => { if (this.child.pid === undefined) done({ code: null, signal: null, error }); });
      this.child.once('exit', (code, signal) => {
        // 'close' comes once the output is read too, unless something the driver started holds it open.
        const fallback = setTimeout(() => done({ code, signal }), OUTPUT_DRAIN_MS);
        this.child.once('close', () => { clearTimeout(fallback); done({ code, signal }); });
      });
    });
  }

  /** The last lines the process wrote to stderr, oldest first. */
  stderrTail(lines = 10): string[] {
    return this.stderrLines.slice(-lines);
  }

  /** Sends SIGKILL to the process group. */
  kill(): void {
    if (!this.exit) signalProcessGroup(this.child, 'SIGKILL');
  }

  /** SIGTERM, then SIGKILL once `graceMs` passed; resolves when the process is gone. */
  async stop(graceMs: number): Promise<ProcessExit> {
    if (this.exit) return this.exit;
    return stopProcessGroup(this.child, this.exited, graceMs);
  }
}

/** "exited with code 3", "was killed by SIGKILL", "could not be started: spawn x ENOENT". */
export function describeExit(exit: ProcessExit): string {
  if (exit.error) return `could not be started: ${exit.error.message}`;
  if (exit.signal) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code}`;
}
