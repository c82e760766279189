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
