import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import {
  KernelError, OUT_OF_PROCESS_KINDS, PluginDefinition, PluginManifest, driverProxy, runsOutOfProcess, toDisposable,
} from '@kern/sdk';
import { startUnixSocketGrpcServer } from '../../api/grpc/grpc-server';
import { SyscallTable } from '../../syscalls/syscall-table';
import { KERN_ABI, KERN_VERSION } from '../../version';
import { driverCommand } from './driver-command';
import { DriverSupervisor, SupervisorOptions, SupervisorStatus } from './driver-supervisor';
import { MAX_SOCKET_PATH_BYTES, fitsSocketPath } from '../../config/socket-path';

/** The socket files of one out-of-process plugin, in its data dir. */
export const DRIVER_SOCKET = 'driver.sock';
export const KERNEL_SOCKET = 'kernel.sock';
export const DRIVER_LOG = 'driver.log';


export interface OutOfProcessOptions {
  /** The kernel's syscall table; the plugin's socket answers only the manifest's syscalls from it. */
  syscalls: SyscallTable;
  supervisor?: Partial<SupervisorOptions>;
}

/** An out-of-process plugin as the plugin host runs it. */
export interface OutOfProcessPlugin {
  definition: PluginDefinition;
  /** The supervisor's status once activation started it. */
  status(): SupervisorStatus | undefined;
}

/**
 * The plugin definition of a `kern.command` plugin. Activating it serves
 * the kernel's syscall API on `kernel.sock` in the plugin's data dir (for
 * this driver only, limited to the manifest's syscalls), starts the driver
 * under a {@link DriverSupervisor}, and registers a proxy under the
 * manifest's kind and name once the handshake agrees with them. Its
 * subscriptions undo all that in reverse on deactivation: unregister, stop
 * the process (SIGTERM, then SIGKILL), close the socket.
 */
export function outOfProcessPlugin(manifest: PluginManifest, dir: string, options: OutOfProcessOptions): OutOfProcessPlugin {
  let supervisor: DriverSupervisor | undefined;
  const definition: PluginDefinition = {
    async activate(ctx) {
      const provided = manifest.provides[0];
      if (!provided || manifest.provides.length !== 1 || !runsOutOfProcess(provided.kind)) {
        throw new KernelError('FailedPrecondition',
          `plugin ${manifest.id} runs out of process (kern.command), which works for exactly one driver of kind ${OUT_OF_PROCESS_KINDS.join(', ')} in kern.provides; run a ${provided?.kind ?? 'driver of another'} kind in process (kern.entry / main) instead`,
          { field: 'kern.provides', code: 'KERN_ERR_PLUGIN_OUT_OF_PROCESS_KIND' });
      }
      const driverSocket = socketPath(ctx.dataDir, DRIVER_SOCKET);
      const syscallSocket = socketPath(ctx.dataDir, KERNEL_SOCKET);
      // The sockets carry no token: only this user may reach them.
      chmodSync(ctx.dataDir, 0o700);

      const kernelSocket = await startUnixSocketGrpcServer(
        { syscalls: options.syscalls, logger: ctx.logger.child({ component: 'syscall-socket' }), version: { kern: KERN_VERSION, abi: KERN_ABI } },
        { socketPath: syscallSocket, syscalls: ctx.syscalls },
      );
      ctx.subscriptions.push(toDisposable(() => kernelSocket.close()));

      const running = new DriverSupervisor({
        pluginId: manifest.id,
        kind: provided.kind,
        name: provided.name,
        command: driverCommand(manifest, dir, { driverSocket, syscallSocket, config: ctx.config, dataDir: ctx.dataDir }),
        socketPath: driverSocket,
        logFile: join(ctx.dataDir, DRIVER_LOG),
        kernelVersion: KERN_VERSION,
      }, ctx.logger, options.supervisor);
      supervisor = running;
      ctx.subscriptions.push(toDisposable(() => running.stop()));

      const identity = await running.start();
      ctx.subscriptions.push(ctx.drivers.register(identity.kind, identity.name, driverProxy(identity, running, ctx.logger)));
    },
  };
  return { definition, status: () => supervisor?.status() };
}

function socketPath(dataDir: string, file: string): string {
  const path = join(dataDir, file);
  if (!fitsSocketPath(path)) {
    throw new KernelError('FailedPrecondition',
      `the socket path ${path} is ${Buffer.byteLength(path)} bytes, more than the ${MAX_SOCKET_PATH_BYTES} a unix socket allows: use a shorter data directory`,
      { code: 'KERN_ERR_PLUGIN_SOCKET_PATH' });
  }
  return path;
}
