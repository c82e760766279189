import type { ChildProcess } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import { DRIVER_ENV } from './protocol';

/** What a driver process is told through its environment. */
export interface DriverEnvironment {
  driverSocket: string;
  /** The kernel's syscall socket; absent where no kernel serves one (kern-sdk conformance). */
  syscallSocket?: string;
  config: Record<string, unknown>;
  dataDir: string;
}

/**
 * The program and arguments of a driver command (a manifest's
 * `kern.command`), run in the package directory `dir`. `node` is the node
 * running this process, so a driver runs on the same version even where
 * node is not on the PATH; a program given as a relative path
 * (`./bin/driver`) is taken from the package directory; any other name is
 * looked up on the PATH.
 */
export function resolveDriverCommand(command: readonly string[], dir: string): { file: string; args: string[] } {
  const [program, ...args] = command;
  if (program === 'node') return { file: process.execPath, args };
  const file = program.includes('/') && !isAbsolute(program) ? resolve(dir, program) : program;
  return { file, args };
}

/** This process's environment plus the `KERN_*` variables a driver process reads (DRIVER_ENV). */
export function driverProcessEnv(env: DriverEnvironment): NodeJS.ProcessEnv {
  return {
    ...process.env,
    [DRIVER_ENV.driverSocket]: env.driverSocket,
    ...(env.syscallSocket ? { [DRIVER_ENV.syscallSocket]: env.syscallSocket } : {}),
    [DRIVER_ENV.pluginConfig]: JSON.stringify(env.config),
    [DRIVER_ENV.pluginDataDir]: env.dataDir,
  };
}

/**
 * Sends `signal` to the process group a driver was started in (it is
 * spawned detached, so its own children go too), or to the process alone
 * when the group is gone already.
 */
export function signalProcessGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM to the driver's process group, SIGKILL once `graceMs` passed; resolves with `exited`. */
export async function stopProcessGroup<T>(child: ChildProcess, exited: Promise<T>, graceMs: number): Promise<T> {
  signalProcessGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalProcessGroup(child, 'SIGKILL'), graceMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}
