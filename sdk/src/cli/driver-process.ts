import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { KernelError } from '../errors';
import { driverProcessEnv, resolveDriverCommand, stopProcessGroup } from '../oop/driver-launch';

export interface DriverProcessOptions {
  /** Program and arguments, e.g. `['node', 'dist/main.js']`. */
  command: string[];
  cwd: string;
  /** Where the driver must serve; passed in KERN_DRIVER_SOCKET. */
  socketPath: string;
  /** Passed in KERN_PLUGIN_DATA_DIR. */
  dataDir: string;
  /** Passed as JSON in KERN_PLUGIN_CONFIG. */
  config: Record<string, unknown>;
  /** How long the driver may take to open its socket, in ms. Default 15000. */
  startTimeoutMs?: number;
}

/** An out-of-process driver started the way the kernel starts one. */
export interface DriverProcess {
  readonly socketPath: string;
  readonly pid: number;
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process has exited. */
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 5000;

/**
 * Starts `command` with the environment the kernel gives driver processes
 * (no syscall socket: there is no kernel here) and resolves once its socket
 * exists. FailedPrecondition when the program
 * cannot be run or exits first, DeadlineExceeded when the socket does not
 * appear in time; the process is stopped in both cases.
 */
export async function startDriverProcess(options: DriverProcessOptions): Promise<DriverProcess> {
  const shown = options.command.join(' ');
  const { file, args } = resolveDriverCommand(options.command, options.cwd);
  // Its own process group, as under the kernel: stopping it stops what it started (an npm or sh wrapper's child).
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: driverProcessEnv({ driverSocket: options.socketPath, dataDir: options.dataDir, config: options.config }),
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let done: { code: number | null; signal: NodeJS.Signals | null; error?: Error } | undefined;
  void exited.then((d) => { done = d; });

  const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);
  while (!existsSync(options.socketPath)) {
    if (done) {
      const why = done.error ? done.error.message : `exited with ${done.signal ?? `code ${done.code}`}`;
      throw new KernelError('FailedPrecondition', `driver command "${shown}" (in ${options.cwd}) ${why} before serving on ${options.socketPath}`, { field: 'command' });
    }
    if (Date.now() > deadline) {
      await stopProcess(child, exited);
      throw new KernelError('DeadlineExceeded', `driver command "${shown}" did not serve on ${options.socketPath} within ${options.startTimeoutMs ?? 15_000} ms (does it call serveDriver?)`, { field: 'command' });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { socketPath: options.socketPath, pid: child.pid!, stop: () => stopProcess(child, exited) };
}

async function stopProcess(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await stopProcessGroup(child, exited, STOP_GRACE_MS);
}
