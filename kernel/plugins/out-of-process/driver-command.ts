import { isAbsolute, resolve } from 'node:path';
import { DRIVER_ENV, PluginManifest } from '@kern/sdk';
import { DriverCommand } from './driver-process';

/** What the driver process is told through its environment. */
export interface DriverEnvironment {
  driverSocket: string;
  syscallSocket: string;
  config: Record<string, unknown>;
  dataDir: string;
}

/**
 * The program and arguments of a manifest's `kern.command`, run in the
 * package directory. `node` is the node running the kernel, so a driver
 * runs on the same version even where node is not on the PATH; a program
 * given as a relative path (`./bin/driver`) is taken from the package
 * directory; any other name is looked up on the PATH.
 */
export function resolveCommand(command: readonly string[], dir: string): { file: string; args: string[] } {
  const [program, ...args] = command;
  if (program === 'node') return { file: process.execPath, args };
  const file = program.includes('/') && !isAbsolute(program) ? resolve(dir, program) : program;
  return { file, args };
}

/** The command of an out-of-process plugin, ready to spawn. */
export function driverCommand(manifest: PluginManifest, dir: string, env: DriverEnvironment): DriverCommand {
  const { file, args } = resolveCommand(manifest.command ?? [], dir);
  return {
    file,
    args,
    cwd: dir,
    env: {
      ...process.env,
      [DRIVER_ENV.driverSocket]: env.driverSocket,
      [DRIVER_ENV.syscallSocket]: env.syscallSocket,
      [DRIVER_ENV.pluginConfig]: JSON.stringify(env.config),
      [DRIVER_ENV.pluginDataDir]: env.dataDir,
    },
  };
}
