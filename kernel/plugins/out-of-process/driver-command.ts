import { DriverEnvironment, PluginManifest, driverProcessEnv, resolveDriverCommand } from '@kern/sdk';
import { DriverCommand } from './driver-process';

/** The command of an out-of-process plugin, ready to spawn. */
export function driverCommand(manifest: PluginManifest, dir: string, env: DriverEnvironment & { syscallSocket: string }): DriverCommand {
  return { ...resolveDriverCommand(manifest.command ?? [], dir), cwd: dir, env: driverProcessEnv(env) };
}
