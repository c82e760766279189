import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NetworkDriver } from '../drivers/network-driver';
import { RuntimeDriver } from '../drivers/runtime-driver';
import { VolumeDriver } from '../drivers/volume-driver';
import { KernelError, errors } from '../errors';
import { ConnectedDriver, OutOfProcessKind, connectDriver } from '../oop';
import { NetworkSandbox, NetworkUnderTest } from '../testing/network-conformance';
import { RuntimeUnderTest } from '../testing/runtime-conformance';
import { VolumeUnderTest } from '../testing/volume-conformance';
import { conformanceTargetOf } from './conformance-export';
import { DriverProcess, startDriverProcess } from './driver-process';

const execFileAsync = promisify(execFile);

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

export interface OutOfProcessOptions {
  kind: OutOfProcessKind;
  command: string[];
  /** Where the command runs: the driver's package directory. */
  cwd: string;
  /** The driver's data dir (KERN_PLUGIN_DATA_DIR); default a temporary one, removed afterwards. */
  dataDir?: string;
  /** The driver's config section (KERN_PLUGIN_CONFIG). */
  config?: Record<string, unknown>;
  /** runtime: the image the suite runs its containers from. */
  image?: string;
  /** network: the range the driver hands pod addresses from (CIDR). */
  podCidr?: string;
}

/** One driver process, connected and checked to serve `kind`. */
interface DriverInstance {
  /** A RuntimeDriverProxy for a runtime, a request/response proxy for the other kinds. */
  driver: unknown;
  /** Closes the connection and stops the process. */
  stop(): Promise<void>;
}

/**
 * The suite's factory for a driver in another process. Each call starts the
 * command (all of a run's processes share one data dir, as a restarted
 * driver would), connects to it with `connectDriver` and checks that it
 * serves `options.kind`; then adds what the kind's suite needs besides the
 * driver: for a runtime the image (its last cleanup removes whatever the
 * suite left, everything carrying its label), for a volume driver a
 * temporary `baseDir`, for a network driver `podCidr` and `newSandbox()`
 * making real network namespaces (`ip netns add`, so root). The last
 * cleanup removes the temporary data dir; every cleanup stops its process.
 */
export function outOfProcessFactory(options: OutOfProcessOptions): () => Promise<RuntimeUnderTest | VolumeUnderTest | NetworkUnderTest> {
  if (options.kind === 'runtime' && !options.image) throw errors.invalid('image', 'the runtime suite out of process needs the image it runs');
  if (options.kind === 'network' && !options.podCidr) throw errors.invalid('podCidr', 'the network suite out of process needs the pod address range');
  let run: { dataDir: string; temporary: boolean; instances: number } | undefined;
  let started = 0;
  /** No process of the run is left: the next call starts a new run; a temporary data dir goes. */
  const endRun = async (ended: NonNullable<typeof run>) => {
    if (run === ended) run = undefined;
    if (ended.temporary) await rm(ended.dataDir, { recursive: true, force: true });
  };
  return async () => {
    run ??= options.dataDir
      ? { dataDir: options.dataDir, temporary: false, instances: 0 }
      : { dataDir: mkdtempSync(join(tmpdir(), 'kern-conformance-data-')), temporary: true, instances: 0 };
    const current = run;
    started += 1;
    let instance: DriverInstance;
    try {
      instance = await startConnectedDriver(options, current.dataDir, started);
    } catch (e) {
      if (current.instances === 0) await endRun(current);
      throw e;
    }
    current.instances += 1;
    // What the kind added, undone after the driver stopped. (What a runtime
    // suite creates it removes itself, by its own run's label.)
    let afterStop = async (): Promise<void> => undefined;
    const cleanup = once(async () => {
      current.instances -= 1;
      const last = current.instances === 0;
      await instance.stop();
      await afterStop();
      if (last) await endRun(current);
    });
    if (options.kind === 'runtime') {
      const driver = instance.driver as RuntimeDriver;
      return { driver, image: options.image!, cleanup };
    }
    if (options.kind === 'volume') {
      const baseDir = mkdtempSync(join(tmpdir(), 'kern-conformance-volumes-'));
      afterStop = () => rm(baseDir, { recursive: true, force: true });
      return { driver: instance.driver as VolumeDriver, baseDir, cleanup };
    }
    // The namespaces this target made and the suite has not removed yet.
    const sandboxes = new Set<NetworkSandbox>();
    afterStop = async () => {
      for (const sandbox of sandboxes) await sandbox.cleanup().catch(() => undefined);
    };
    return {
      driver: instance.driver as NetworkDriver, podCidr: options.podCidr!, cleanup,
      newSandbox: async () => {
        const sandbox = await newNetnsSandbox();
        sandboxes.add(sandbox);
        return { netnsPath: sandbox.netnsPath, cleanup: async () => { sandboxes.delete(sandbox); await sandbox.cleanup(); } };
      },
    };
  };
}

/**
 * Starts the command with the kernel's environment, connects to its socket
 * and checks the kind it announces; on any failure the process is stopped.
 */
async function startConnectedDriver(options: OutOfProcessOptions, dataDir: string, instance: number): Promise<DriverInstance> {
  // Unix socket paths are short (108 bytes): a directory of their own under the temp dir.
  const socketDir = mkdtempSync(join(tmpdir(), 'kern-drv-'));
  let driverProcess: DriverProcess;
  try {
    driverProcess = await startDriverProcess({
      command: options.command, cwd: options.cwd, socketPath: join(socketDir, `driver-${instance}.sock`),
      dataDir, config: options.config ?? {},
    });
  } catch (e) {
    await rm(socketDir, { recursive: true, force: true });
    throw e;
  }
  const stop = async () => {
    await driverProcess.stop();
    await rm(socketDir, { recursive: true, force: true });
  };
  let connected: ConnectedDriver<unknown>;
  try {
    connected = await connectDriver<unknown>(driverProcess.socketPath);
  } catch (e) {
    await stop();
    throw e;
  }
  if (connected.kind !== options.kind) {
    connected.close();
    await stop();
    throw new KernelError('Invalid', `"${options.command.join(' ')}" serves a ${connected.kind} driver, not a ${options.kind} driver`, { field: 'command' });
  }
  return {
    driver: connected.driver,
    stop: async () => {
      connected.close();
      await stop();
    },
  };
}

/** Network namespaces made for the network suite are named with this, then a random suffix. */
export const CONFORMANCE_NETNS_PREFIX = 'kern-conf-';

/**
 * A new network namespace, `ip netns add kern-conf-<random>` (needs root and
 * iproute2), at `/run/netns/<name>`. Its cleanup deletes that namespace and
 * nothing else, once.
 */
export async function newNetnsSandbox(): Promise<NetworkSandbox & { name: string }> {
  const name = `${CONFORMANCE_NETNS_PREFIX}${randomBytes(4).toString('hex')}`;
  await ipNetns('add', name);
  return {
    name,
    netnsPath: `/run/netns/${name}`,
    cleanup: once(() => ipNetns('delete', name)),
  };
}

async function ipNetns(verb: 'add' | 'delete', name: string): Promise<void> {
  try {
    await execFileAsync('ip', ['netns', verb, name]);
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    const why = err.code === 'ENOENT' ? 'ip (iproute2) is not installed' : (err.stderr?.trim() || err.message);
    throw new KernelError('FailedPrecondition',
      `ip netns ${verb} ${name} failed: ${why} (the network suite out of process makes real network namespaces, so it needs root)`,
      { cause: e });
  }
}

/** `fn` run at most once; later calls get the first call's promise. */
function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
