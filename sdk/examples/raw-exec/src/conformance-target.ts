import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuntimeDriver } from '@kern/sdk';
import type { RuntimeUnderTest } from '@kern/sdk/testing';
import { RawExecRuntimeDriver } from './driver';

/** The image name we suggest for raw-exec pods; any name is accepted and ignored. */
export const HOST_IMAGE = 'host';

export interface ConformanceTargetOptions {
  /** Busybox for the applets (the suite needs `sh`, `nc`, `seq`, ...). Default `/bin/busybox`. */
  busyboxPath?: string;
}

/** What `describeRuntimeConformance` takes from its factory (the sdk's RuntimeUnderTest). */
export type RuntimeConformanceTarget = RuntimeUnderTest;

/** One temporary state dir for every instance of a run, so a second instance adopts what the first made. */
let shared: { stateDir: string; instances: number } | undefined;

/**
 * The `kern-sdk conformance` convention: a runtime under test for
 * `describeRuntimeConformance`. Each call makes a new driver instance over
 * the same temporary state directory (what a restarted driver sees); the
 * last cleanup removes every container, which kills its processes, and the
 * directory.
 */
export async function createConformanceTarget(options: ConformanceTargetOptions = {}): Promise<RuntimeConformanceTarget> {
  if (!shared) {
    shared = { stateDir: mkdtempSync(join(tmpdir(), 'raw-exec-conformance-')), instances: 0 };
  }
  const run = shared;
  run.instances += 1;
  const driver = new RawExecRuntimeDriver({ stateDir: run.stateDir, busyboxPath: options.busyboxPath });
  await driver.prepare();
  let cleaned = false;
  return {
    driver,
    image: HOST_IMAGE,
    cleanup: async () => {
      if (cleaned) return;
      cleaned = true;
      run.instances -= 1;
      if (run.instances > 0) return;
      if (shared === run) shared = undefined;
      await removeEverything(driver);
      await rm(run.stateDir, { recursive: true, force: true });
      },
  };
}

/** Removes every container (killing its processes) and every sandbox the driver knows. */
export async function removeEverything(driver: RuntimeDriver): Promise<void> {
  for (const container of await driver.listContainers()) await driver.removeContainer(container.id);
  for (const sandbox of await driver.listSandboxes()) await driver.removeSandbox(sandbox.id);
}
