import * as grpc from '@grpc/grpc-js';
import { Call, CallResult, DriverServiceClient } from './protocol';

/** Rejects a call that the driver never ran because it does not serve `Calls`: send it through `Invoke`. */
export const USE_INVOKE = Symbol('use Invoke');

/** A failed call as grpc-js reports one, so that `fromGrpcError` reads both paths alike. */
type CallFailure = Pick<grpc.ServiceError, 'code' | 'details' | 'message'>;

interface PendingCall {
  resolve(resultJson: string): void;
  reject(error: CallFailure | typeof USE_INVOKE): void;
}

/**
 * The client end of one driver connection's `Calls` stream: request/response
 * calls multiplexed by id on one long-lived bidirectional stream, which costs
 * far less per call than a unary `Invoke` (no new HTTP/2 stream, no headers).
 * The stream opens with the first call. When it ends or breaks, the calls in
 * flight fail as a unary call would have (UNAVAILABLE when the driver went
 * away) and the next call opens a new one. A driver that answers
 * UNIMPLEMENTED is remembered, and its calls are rejected with
 * {@link USE_INVOKE} so the caller can send them through `Invoke`.
 */
class CallChannel {
  private stream?: grpc.ClientDuplexStream<Call, CallResult>;
  private readonly pending = new Map<number, PendingCall>();
  private lastId = 0;
  private unsupported = false;

  constructor(private readonly client: DriverServiceClient) {}

  call(method: string, argsJson: string): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.unsupported) {
        reject(USE_INVOKE);
        return;
      }
      const stream = this.open();
      do this.lastId = (this.lastId + 1) >>> 0; while (this.lastId === 0 || this.pending.has(this.lastId));
      this.pending.set(this.lastId, { resolve, reject });
      stream.write({ id: this.lastId, method, argsJson });
    });
  }

  /** Ends the stream; calls still in flight fail as unreachable. */
  close(): void {
    const stream = this.stream;
    if (!stream) return;
    this.finish(stream, unavailable('the connection to the driver was closed'));
    stream.cancel();
  }

  private open(): grpc.ClientDuplexStream<Call, CallResult> {
    if (this.stream) return this.stream;
    const stream = this.client.Calls();
    stream.on('data', (result: CallResult) => {
      const call = this.pending.get(result.id);
      if (!call) return;
      this.pending.delete(result.id);
      if (result.errorCode) call.reject({ code: result.errorCode, details: result.errorDetails, message: result.errorDetails });
      else call.resolve(result.resultJson);
    });
    // Driver errors come back inside CallResults, so a failure of the stream
    // itself is the transport's (cancelled, reset, driver gone): Unavailable.
    stream.on('error', (e: grpc.ServiceError) => {
      if (e.code === grpc.status.UNIMPLEMENTED) this.unsupported = true;
      this.finish(stream, unavailable(e.details || e.message));
    });
    // After 'error' when the call failed; alone when the driver ended the stream (it is stopping) after answering what it had.
    stream.on('status', () => this.finish(stream, unavailable('the driver ended the call stream')));
    this.stream = stream;
    return stream;
  }

  private finish(stream: grpc.ClientDuplexStream<Call, CallResult>, error: CallFailure): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) call.reject(this.unsupported ? USE_INVOKE : error);
  }
}

function unavailable(details: string): CallFailure {
  return { code: grpc.status.UNAVAILABLE, details, message: details };
}

const channels = new WeakMap<DriverServiceClient, CallChannel>();

/**
 * Calls `method` on the driver behind `client` through its `Calls` stream;
 * resolves with the result JSON. Rejects like grpc-js does for a failed
 * call, or with {@link USE_INVOKE} when the driver does not serve `Calls`.
 */
export function callOverStream(client: DriverServiceClient, method: string, argsJson: string): Promise<string> {
  let channel = channels.get(client);
  if (!channel) {
    channel = new CallChannel(client);
    channels.set(client, channel);
  }
  return channel.call(method, argsJson);
}

/** Closes a driver client together with its call stream (grpc-js leaves open streams running after `close()`). */
export function closeDriverClient(client: DriverServiceClient): void {
  channels.get(client)?.close();
  channels.delete(client);
  client.close();
}
