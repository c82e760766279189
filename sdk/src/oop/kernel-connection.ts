import * as grpc from '@grpc/grpc-js';
import { KernelError, errors } from '../errors';
import { KernObject } from '../resources/meta';
import { SyscallWatch, Syscalls, WatchArgs, WatchEvent } from '../syscalls';
import { DRIVER_ENV, LOCAL_CHANNEL_OPTIONS, kernelService } from './protocol';
import { fromGrpcError } from './wire-errors';

/** The kernel's syscall API as an out-of-process driver reaches it. */
export interface KernelConnection extends Syscalls {
  /** Any syscall by name, for names the sdk's signatures do not cover. */
  callByName(name: string, args?: unknown): Promise<unknown>;
  /** Closes the connection; open watches and streams end. */
  close(): void;
}

interface KernelClient extends grpc.Client {
  Call(request: { name: string; argsJson: string }, callback: grpc.requestCallback<{ resultJson: string }>): grpc.ClientUnaryCall;
  Stream(request: { name: string; argsJson: string }): grpc.ClientReadableStream<{ chunkJson: string }>;
  Watch(request: { kind: string; namespace: string; labelSelector: string; resourceVersion: string }): grpc.ClientReadableStream<{ type: string; objectJson: string }>;
}

/**
 * Connects an out-of-process driver to the kernel's syscall API
 * (`kern.v1.Kernel`) on the unix socket the kernel names in
 * `KERN_SYSCALL_SOCKET`. No token is needed: the socket is this driver's
 * own, and it allows exactly the syscalls of the plugin manifest's
 * `kern.syscalls` (others fail with Forbidden). Failures come back as
 * KernelErrors with the kernel's kind, message and field.
 */
export function connectKernel(socketPath = process.env[DRIVER_ENV.syscallSocket]): KernelConnection {
  if (!socketPath) {
    throw errors.invalid('socketPath', `no kernel socket: pass one or set ${DRIVER_ENV.syscallSocket} (the kernel sets it for drivers it starts)`);
  }
  const Kernel = kernelService();
  const client = new Kernel(`unix:${socketPath}`, grpc.credentials.createInsecure(), LOCAL_CHANNEL_OPTIONS) as unknown as KernelClient;
  const toError = (e: unknown): KernelError =>
    fromGrpcError(e, (cause) => errors.unavailable(`the kernel is not reachable on ${socketPath}: ${(cause as Error).message}`, { cause }));

  const callByName = (name: string, args: unknown = {}): Promise<unknown> => new Promise((resolve, reject) => {
    client.Call({ name, argsJson: JSON.stringify(args ?? {}) }, (err, reply) => {
      if (err) reject(toError(err));
      else resolve(reply?.resultJson ? JSON.parse(reply.resultJson) : undefined);
    });
  });

  async function* chunks(name: string, args: unknown): AsyncIterable<unknown> {
    const call = client.Stream({ name, argsJson: JSON.stringify(args ?? {}) });
    let over = false;
    try {
      for await (const m of call as AsyncIterable<{ chunkJson: string }>) yield m.chunkJson ? JSON.parse(m.chunkJson) : null;
      over = true;
    } catch (e) {
      over = true;
      throw toError(e);
    } finally {
      if (!over) call.cancel();
    }
  }

  const watch = (args: WatchArgs, onEvent: (e: WatchEvent) => void, onError: (err: Error) => void = () => undefined): SyscallWatch => {
    const call = client.Watch({
      kind: args.kind ?? '', namespace: args.namespace ?? '', labelSelector: args.labelSelector ?? '', resourceVersion: args.resourceVersion ?? '',
    });
    let over = false;
    const end = (err: KernelError) => {
      if (over) return;
      over = true;
      onError(err);
    };
    call.on('data', (m: { type: string; objectJson: string }) => {
      if (!over) onEvent({ type: m.type as WatchEvent['type'], object: JSON.parse(m.objectJson) as KernObject });
    });
    call.on('error', (e: grpc.ServiceError) => { if (!over) end(toError(e)); });
    call.on('end', () => end(errors.unavailable('the kernel ended the watch: watch again from the last resourceVersion')));
    return {
      stop: () => {
        if (over) return;
        over = true;
        call.cancel();
      },
    };
  };

  return {
    call: ((name: string, args: unknown) => callByName(name, args)) as Syscalls['call'],
    callByName,
    stream: (async (name: string, args: unknown) => chunks(name, args)) as Syscalls['stream'],
    watch,
    close: () => client.close(),
  };
}
