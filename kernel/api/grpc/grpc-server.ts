import { chmodSync, rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { LOCAL_CHANNEL_OPTIONS, SyscallWatch, Syscalls, WatchArgs, WatchEvent, errors, watchObjectJson } from '@kern/sdk';
import { tooDeepAt, tooDeepMessage } from '../../nesting';
import { ApiContext } from '../api-context';
import { versionInfo } from '../http/http-app';
import { toWireError } from '../http/status';
import {
  CallReply, CallRequest, Empty, StreamChunkMessage, SyscallList, VersionInfoMessage, WatchEventMessage, WatchRequest,
  grpcAddress, kernelService,
} from './kernel-proto';

/**
 * Kern's gRPC API (`kern.v1.Kernel`, see sdk/proto/kern/v1/kernel.proto):
 * the syscall table for gRPC clients. Same tokens, same caller limits and
 * the same error Status (as JSON in the details string) as the HTTP API.
 */

export interface GrpcServerOptions {
  host: string;
  /** 0 picks a free port (see the returned port). */
  port: number;
}

/**
 * The Kernel service on a unix socket for one caller: no tokens, every call
 * goes through `syscalls` (say, a plugin's handle limited to its manifest),
 * and the socket file (mode 0600) is the credential.
 */
export interface UnixSocketGrpcServerOptions {
  socketPath: string;
  syscalls: Syscalls;
}

/** What the Kernel service needs of the kernel; the TCP API passes its whole ApiContext. */
export type KernelServiceContext = Pick<ApiContext, 'syscalls' | 'logger' | 'version'> & Partial<Pick<ApiContext, 'metrics'>>;

export interface RunningGrpcServer {
  /** The TCP port; 0 on a unix socket. */
  port: number;
  /** Ends open watches and streams, lets calls in flight finish (briefly), then stops. */
  close(): Promise<void>;
}

/** How long calls in flight get to finish once close() has been called. */
const CLOSE_GRACE_MS = 1000;

/** Events buffered for a slow watch client before its watch is ended. */
const MAX_BUFFERED_EVENTS = 10_000;

export async function startGrpcServer(api: ApiContext, options: GrpcServerOptions): Promise<RunningGrpcServer> {
  // The bearer token picks the principal; '*' allows every syscall, as an absent list does.
  const syscallsOf = (metadata: grpc.Metadata): Syscalls => {
    const header = metadata.get('authorization')[0];
    const principal = api.auth.authenticate(typeof header === 'string' ? header : undefined);
    return api.syscalls.handleFor(principal.name, principal.allowed ?? ['*']);
  };
  const address = grpcAddress(options.host, options.port);
  return serveKernel(api, syscallsOf, address, () => undefined);
}

/** Serves the Kernel service on a unix socket (replacing a stale file there) for the one caller behind `options.syscalls`. */
export async function startUnixSocketGrpcServer(ctx: KernelServiceContext, options: UnixSocketGrpcServerOptions): Promise<RunningGrpcServer> {
  rmSync(options.socketPath, { force: true });
  const running = await serveKernel(ctx, () => options.syscalls, `unix:${options.socketPath}`, () => chmodSync(options.socketPath, 0o600), LOCAL_CHANNEL_OPTIONS);
  return { port: 0, close: () => running.close().finally(() => rmSync(options.socketPath, { force: true })) };
}

async function serveKernel(
  api: KernelServiceContext, syscallsOf: (metadata: grpc.Metadata) => Syscalls, address: string, afterBind: () => void,
  channelOptions: grpc.ServerOptions = {},
): Promise<RunningGrpcServer> {
  const server = new grpc.Server(channelOptions);
  /** Stop functions of open Watch and Stream calls, run when the server closes. */
  const watches = new Set<() => void>();

  const serviceError = (e: unknown): Partial<grpc.StatusObject> => {
    const wire = toWireError(e, api.logger);
    const metadata = new grpc.Metadata();
    metadata.set('kern-code', wire.error.code);
    return { code: wire.grpc, details: JSON.stringify(wire.status), metadata };
  };

  // Syscalls' typed signatures cover the sdk's names; the wire carries any name.
  const callThrough = (syscalls: Syscalls, name: string, args: unknown) =>
    (syscalls.call as (n: string, a: unknown) => Promise<unknown>)(name, args);
  const streamThrough = (syscalls: Syscalls, name: string, args: unknown) =>
    (syscalls.stream as (n: string, a: unknown) => Promise<AsyncIterable<unknown>>)(name, args);

  const handlers: grpc.UntypedServiceImplementation = {
    Call: (call: grpc.ServerUnaryCall<CallRequest, CallReply>, callback: grpc.sendUnaryData<CallReply>) => {
      (async () => {
        const syscalls = syscallsOf(call.metadata);
        const { name, argsJson } = call.request;
        if (name === 'state.watch') throw errors.invalid('name', 'state.watch streams: use the Watch rpc');
        const args = parseArgs(argsJson);
        const result = await callThrough(syscalls, name, args);
        return { resultJson: JSON.stringify(result === undefined ? null : result) };
      })().then((reply) => callback(null, reply), (e) => callback(serviceError(e)));
    },

    Watch: (call: grpc.ServerWritableStream<WatchRequest, WatchEventMessage>) => {
      let handle: SyscallWatch | undefined;
      let done = false;
      const finish = (e?: unknown) => {
        if (done) return;
        done = true;
        watches.delete(stopForShutdown);
        handle?.stop();
        if (call.cancelled) return;
        if (e === undefined) call.end();
        else call.emit('error', serviceError(e));
      };
      const stopForShutdown = () => finish();
      call.on('cancelled', () => finish());
      call.on('error', () => finish());
      try {
        const syscalls = syscallsOf(call.metadata);
        const r = call.request;
        const args: WatchArgs = {
          ...(r.kind ? { kind: r.kind } : {}),
          ...(r.namespace ? { namespace: r.namespace } : {}),
          ...(r.labelSelector ? { labelSelector: r.labelSelector } : {}),
          ...(r.resourceVersion ? { resourceVersion: r.resourceVersion } : {}),
        };
        watches.add(stopForShutdown);
        handle = syscalls.watch(args, (e: WatchEvent) => {
          if (done) return;
          call.write({ type: e.type, objectJson: e.object ? watchObjectJson(e.object) : 'null', resourceVersion: e.object?.metadata?.resourceVersion ?? '' });
          if (call.writableLength > MAX_BUFFERED_EVENTS) {
            finish(errors.unavailable('the watch client reads too slowly: watch again from the last resourceVersion it saw'));
          }
        }, (err) => finish(err));
        api.metrics?.watchers.inc({ api: 'grpc' });
        if (done) handle.stop();
      } catch (e) {
        finish(e);
      }
    },

    Stream: (call: grpc.ServerWritableStream<CallRequest, StreamChunkMessage>) => {
      let iterator: AsyncIterator<unknown> | undefined;
      let exhausted = false;
      let done = false;
      let onDone!: () => void;
      const over = new Promise<void>((resolve) => { onDone = resolve; });
      const finish = (e?: unknown) => {
        if (done) return;
        done = true;
        onDone();
        watches.delete(stopForShutdown);
        // Stops the syscall (a follow log, an exec) when the client went away.
        if (iterator && !exhausted) {
          Promise.resolve(iterator.return?.()).catch((err) => api.logger.debug({ err }, 'stopping a stream failed'));
        }
        if (call.cancelled) return;
        if (e === undefined) call.end();
        else call.emit('error', serviceError(e));
      };
      const stopForShutdown = () => finish(errors.unavailable('the kernel is shutting down, which ended this stream: start it again once Kern is back'));
      call.on('cancelled', () => finish());
      call.on('error', () => finish());
      watches.add(stopForShutdown);
      (async () => {
        const syscalls = syscallsOf(call.metadata);
        const { name, argsJson } = call.request;
        if (name === 'state.watch') throw errors.invalid('name', 'state.watch streams through the Watch rpc');
        const chunks = await streamThrough(syscalls, name, parseArgs(argsJson));
        iterator = chunks[Symbol.asyncIterator]();
        if (done) {
          // Cancelled while the syscall started: finish() ran without an iterator to stop.
          await iterator.return?.();
          return;
        }
        while (!done) {
          const next = await iterator.next();
          if (next.done) {
            exhausted = true;
            break;
          }
          if (done) break;
          if (!call.write({ chunkJson: JSON.stringify(next.value ?? null) })) {
            await Promise.race([new Promise((resolve) => call.once('drain', resolve)), over]);
          }
        }
      })().then(() => finish(), (e) => {
        exhausted = true;
        finish(e);
      });
    },

    ListSyscalls: (_call: grpc.ServerUnaryCall<Empty, SyscallList>, callback: grpc.sendUnaryData<SyscallList>) => {
      try {
        syscallsOf(_call.metadata);
        callback(null, { syscalls: api.syscalls.names() });
      } catch (e) {
        callback(serviceError(e));
      }
    },

    Version: (_call: grpc.ServerUnaryCall<Empty, VersionInfoMessage>, callback: grpc.sendUnaryData<VersionInfoMessage>) => {
      try {
        syscallsOf(_call.metadata);
        const v = versionInfo(api as ApiContext); // reads only api.version
        callback(null, { gitVersion: v.gitVersion, major: v.major, minor: v.minor, platform: v.platform, kernAbi: v.kernAbi });
      } catch (e) {
        callback(serviceError(e));
      }
    },
  };

  server.addService(kernelService().service, handlers);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err) reject(errors.unavailable(`cannot listen for gRPC on ${address}: ${err.message}`, { cause: err }));
      else resolve(bound);
    });
  });
  afterBind();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      for (const stop of [...watches]) stop();
      const force = setTimeout(() => { server.forceShutdown(); resolve(); }, CLOSE_GRACE_MS);
      server.tryShutdown(() => { clearTimeout(force); resolve(); });
    });
    return closing;
  };
  return { port, close };
}

function parseArgs(json: string): unknown {
  if (!json || !json.trim()) return {};
  let args: unknown;
  try {
    args = JSON.parse(json);
  } catch (e) {
    throw errors.invalid('args_json', `malformed JSON: ${(e as Error).message}`);
  }
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw errors.invalid('args_json', 'must be a JSON object');
  const deep = tooDeepAt(args);
  if (deep !== undefined) throw errors.invalid('args_json', tooDeepMessage(`at ${deep}`));
  return args;
}
