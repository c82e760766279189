import * as grpc from '@grpc/grpc-js';
import {
  ERROR_KINDS, ErrorKind, GRPC_STATUS, KernObject, KernelError, StreamingSyscallName, StreamingSyscallSignatures, SyscallArgs,
  SyscallName, SyscallResult, SyscallWatch, WatchArgs, WatchEvent, errors,
} from '@kern/sdk';
import { KubeStatus, fromStatus } from '../http/status';
import {
  CallReply, CallRequest, StreamChunkMessage, SyscallList, VersionInfoMessage, WatchEventMessage, WatchRequest, kernelService,
} from './kernel-proto';

/**
 * A typed client of `kern.v1.Kernel`. Failures come back as KernelErrors
 * (test them by `kind`), with the server's message, field and Kern code;
 * the gRPC ServiceError is their `cause`.
 */

export interface KernGrpcClientOptions {
  /** `host:port` of the kernel's gRPC API. */
  address: string;
  /** Bearer token (the kernel writes the admin token under its data dir). */
  token?: string;
  /** Deadline of each unary call, in ms; default none. */
  timeoutMs?: number;
}

const KIND_BY_GRPC = new Map<number, ErrorKind>(ERROR_KINDS.map((k) => [GRPC_STATUS[k], k]));

/** The KernelError a failed gRPC call stands for. */
export function fromServiceError(err: grpc.ServiceError | Error): KernelError {
  const e = err as Partial<grpc.ServiceError>;
  let status: Partial<KubeStatus> | undefined;
  if (typeof e.details === 'string' && e.details.startsWith('{')) {
    try { status = JSON.parse(e.details) as Partial<KubeStatus>; } catch { status = undefined; }
  }
  const kind = e.code !== undefined ? KIND_BY_GRPC.get(e.code) : undefined;
  if (status?.kind === 'Status') {
    // The gRPC code is mapped from the kind, so it names the kind exactly;
    // the Status adds message, field and Kern code.
    const parsed = fromStatus(status);
    return new KernelError(kind ?? parsed.kind, parsed.message, { code: parsed.code, field: parsed.field, cause: err });
  }
  if (e.code === grpc.status.UNAVAILABLE) return errors.unavailable(`kernel gRPC API unavailable: ${e.details ?? err.message}`, { cause: err });
  return new KernelError(kind ?? 'Internal', e.details || err.message, { cause: err });
}

export class KernGrpcClient {
  private readonly client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;

  constructor(private readonly options: KernGrpcClientOptions) {
    const Kernel = kernelService();
    this.client = new Kernel(options.address, grpc.credentials.createInsecure()) as unknown as KernGrpcClient['client'];
  }

  /** Calls a syscall; the typed overload covers the sdk's signatures. */
  call<N extends SyscallName>(name: N, args: SyscallArgs<N>): Promise<SyscallResult<N>>;
  call(name: string, args?: unknown): Promise<unknown>;
  call(name: string, args: unknown = {}): Promise<unknown> {
    const request: CallRequest = { name, argsJson: JSON.stringify(args ?? {}) };
    return this.unary<CallRequest, CallReply>('Call', request).then((reply) => (reply.resultJson ? JSON.parse(reply.resultJson) : undefined));
  }

  /**
   * A streaming syscall (`compute.logs`, `compute.exec`, ...): its chunks in
   * order. Failures, also a refusal before the first chunk, are thrown by
   * the loop as KernelErrors. Breaking out of the loop cancels the call,
   * which stops the syscall on the server.
   */
  stream<N extends StreamingSyscallName>(name: N, args: Parameters<StreamingSyscallSignatures[N]>[0]): AsyncIterable<ReturnType<StreamingSyscallSignatures[N]>>;
  stream(name: string, args?: unknown): AsyncIterable<unknown>;
  async *stream(name: string, args: unknown = {}): AsyncIterable<unknown> {
    const request: CallRequest = { name, argsJson: JSON.stringify(args ?? {}) };
    const call = this.client.Stream(request, this.metadata()) as grpc.ClientReadableStream<StreamChunkMessage>;
    let over = false;
    try {
      for await (const m of call as AsyncIterable<StreamChunkMessage>) yield m.chunkJson ? JSON.parse(m.chunkJson) : null;
      over = true;
    } catch (e) {
      over = true;
      throw fromServiceError(e as grpc.ServiceError);
    } finally {
      if (!over) call.cancel();
    }
  }

  listSyscalls(): Promise<{ name: string; implemented: boolean }[]> {
    return this.unary<object, SyscallList>('ListSyscalls', {}).then((r) => r.syscalls);
  }

  version(): Promise<VersionInfoMessage> {
    return this.unary<object, VersionInfoMessage>('Version', {});
  }

  /**
   * `state.watch`: events in revision order. `onError` gets the error that
   * ended the watch (TooOld, Forbidden, Unavailable when the server went
   * away); it is not called after `stop()`.
   */
  watch(args: WatchArgs, onEvent: (e: WatchEvent) => void, onError: (err: KernelError) => void = () => undefined): SyscallWatch {
    const request: WatchRequest = {
      kind: args.kind ?? '', namespace: args.namespace ?? '', labelSelector: args.labelSelector ?? '', resourceVersion: args.resourceVersion ?? '',
    };
    const stream = this.client.Watch(request, this.metadata()) as grpc.ClientReadableStream<WatchEventMessage>;
    let over = false;
    const end = (err: KernelError) => {
      if (over) return;
      over = true;
      onError(err);
    };
    stream.on('data', (m: WatchEventMessage) => {
      if (over) return;
      onEvent({ type: m.type as WatchEvent['type'], object: JSON.parse(m.objectJson) as KernObject });
    });
    stream.on('error', (err: grpc.ServiceError) => {
      if (err.code === grpc.status.CANCELLED && over) return;
      end(fromServiceError(err));
    });
    stream.on('end', () => end(errors.unavailable('the kernel ended the watch (shutting down?): watch again from the last resourceVersion')));
    return {
      stop: () => {
        if (over) return;
        over = true;
        stream.cancel();
      },
    };
  }

  close(): void {
    this.client.close();
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.options.token) md.set('authorization', `Bearer ${this.options.token}`);
    return md;
  }

  private unary<Req, Res>(method: string, request: Req): Promise<Res> {
    const callOptions: grpc.CallOptions = this.options.timeoutMs ? { deadline: Date.now() + this.options.timeoutMs } : {};
    return new Promise<Res>((resolve, reject) => {
      this.client[method](request, this.metadata(), callOptions, (err: grpc.ServiceError | null, reply: Res) => {
        if (err) reject(fromServiceError(err));
        else resolve(reply);
      });
    });
  }
}
