/**
 * runtime-raw-exec, out of process (`kern.command`: `node dist/main.js`):
 * serves the driver on the socket the kernel names in KERN_DRIVER_SOCKET.
 * The config section comes as JSON in KERN_PLUGIN_CONFIG and the state
 * lives in KERN_PLUGIN_DATA_DIR (default `~/.kern/data/plugins/runtime-raw-exec`).
 * Containers keep running while this process is down; when the kernel
 * restarts it, it finds them in the state directory.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DRIVER_ENV, errors, serveDriver } from '@kern/sdk';
import { parseConfig } from './config';
import { RawExecRuntimeDriver } from './driver';
import { RAW_EXEC_VERSION } from './version';

function configFromEnvironment(): Record<string, unknown> {
  const text = process.env[DRIVER_ENV.pluginConfig];
  if (!text) return {};
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw errors.invalid(DRIVER_ENV.pluginConfig, 'must be a JSON object (the plugins.runtime-raw-exec config section)');
}

async function main(): Promise<void> {
  const dataDir = process.env[DRIVER_ENV.pluginDataDir] || join(homedir(), '.kern', 'data', 'plugins', 'runtime-raw-exec');
  const config = parseConfig(configFromEnvironment(), dataDir);
  const driver = new RawExecRuntimeDriver(config);
  await driver.prepare();
  // serveDriver stops on SIGTERM; the containers' shims are detached and keep running.
  await serveDriver({ kind: 'runtime', name: 'raw-exec', version: RAW_EXEC_VERSION, driver });
}

main().catch((e: unknown) => {
  process.stderr.write(`runtime-raw-exec: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
