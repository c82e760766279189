import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuntimeDriver } from '../drivers/runtime-driver';
import { KernelError } from '../errors';
import { connectDriver } from '../oop';
import { CONFORMANCE_RUN_LABEL, RuntimeUnderTest } from '../testing/runtime-conformance';
import { conformanceTargetOf } from './conformance-export';
import { startDriverProcess } from './driver-process';

/**
 * Factories the test files that `kern-sdk conformance` writes hand to the
 * suites. They run inside jest, in the temporary test file's process.
 */

/**
 * The suite's factory for a driver loaded in process: the module's
 * `createConformanceTarget()` (a named export, or on the default export).
 */
export function inProcessFactory(moduleExports: unknown, modulePath: string): () => Promise<unknown> {
  const create = conformanceTargetOf(moduleExports);
  if (!create) {
    throw new KernelError('Invalid',
      `${modulePath} does not export createConformanceTarget(): export a function returning what the kind's suite takes ` +
      '(a RuntimeUnderTest or StoreUnderTest from @kern/sdk/testing), or run the driver out of process with --command',
      { field: 'entry' });
  }
  return async () => create();
}

export interface OutOfProcessRuntimeOptions {
  command: string[];
  /** Where the command runs: the driver's package directory. */
  cwd: string;
  /** The image the suite runs its containers from. */
  image: string;
  /** The driver's data dir (KERN_PLUGIN_DATA_DIR); default a temporary one, removed afterwards. */
  dataDir?: string;
  /** The driver's config section (KERN_PLUGIN_CONFIG). */
  config?: Record<string, unknown>;
}

/**
 * The suite's factory for a runtime driver in another process: each call
 * starts the command (all of a run's processes share one data dir, as a
 * restarted driver would) and connects to it with `connectDriver`. The last
 * cleanup removes whatever the suite left (everything carrying its label)
 * and the temporary data dir; every cleanup stops its process.
 */
export function outOfProcessRuntimeFactory(options: OutOfProcessRuntimeOptions): () => Promise<RuntimeUnderTest> {
  let run: { dataDir: string; temporary: boolean; instances: number } | undefined;
  let started = 0;
  return async () => {
    run ??= options.dataDir
      ? { dataDir: options.dataDir, temporary: false, instances: 0 }
      : { dataDir: mkdtempSync(join(tmpdir(), 'kern-conformance-data-')), temporary: true, instances: 0 };
    const current = run;
    // Unix socket paths are short (108 bytes): a directory of their own under the temp dir.
    const socketDir = mkdtempSync(join(tmpdir(), 'kern-drv-'));
    started += 1;
    const driverProcess = await startDriverProcess({
      command: options.command, cwd: options.cwd, socketPath: join(socketDir, `driver-${started}.sock`),
      dataDir: current.dataDir, config: options.config ?? {},
    });
    const stop = async () => {
      await driverProcess.stop();
      await rm(socketDir, { recursive: true, force: true });
    };
    let connected;
    try {
      connected = await connectDriver<RuntimeDriver>(driverProcess.socketPath);
    } catch (e) {
      await stop();
      throw e;
    }
    if (connected.kind !== 'runtime') {
      connected.close();
      await stop();
      throw new KernelError('Invalid', `"${options.command.join(' ')}" serves a ${connected.kind} driver, not a runtime driver`, { field: 'command' });
    }
    current.instances += 1;
    const { driver } = connected;
    let cleaned = false;
    return {
      driver,
      image: options.image,
      cleanup: async () => {
        if (cleaned) return;
        cleaned = true;
        current.instances -= 1;
        const last = current.instances === 0;
        try {
          if (last) await removeConformanceLeftovers(driver);
        } finally {
          connected.close();
          await stop();
          if (last) {
            if (run === current) run = undefined;
            if (current.temporary) await rm(current.dataDir, { recursive: true, force: true });
          }
        }
      },
    };
  };
}

/** Removes every container and sandbox carrying the suite's run label. */
export async function removeConformanceLeftovers(driver: RuntimeDriver): Promise<void> {
  for (const container of await driver.listContainers()) {
    if (CONFORMANCE_RUN_LABEL in container.labels) await driver.removeContainer(container.id).catch(() => undefined);
  }
  for (const sandbox of await driver.listSandboxes()) {
    if (CONFORMANCE_RUN_LABEL in sandbox.labels) await driver.removeSandbox(sandbox.id).catch(() => undefined);
  }
}
