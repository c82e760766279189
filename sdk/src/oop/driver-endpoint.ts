import * as grpc from '@grpc/grpc-js';
import { KernelError, errors } from '../errors';
import { DriverKind } from '../plugin';
import { isProtocolKind } from './driver-methods';
import { DRIVER_PROTOCOL_VERSION, DriverServiceClient, driverClient } from './protocol';
import { fromGrpcError } from './wire-errors';
import { USE_INVOKE, callOverStream, closeDriverClient } from './call-channel';

/**
 * Where a driver proxy sends its calls. A fixed socket for tools and tests
 * ({@link SocketDriverEndpoint}); in the kernel, the supervisor of the
 * driver process, which swaps the client when it restarts the driver and
 * refuses calls while it cannot take them.
 */
export interface DriverEndpoint {
  /** Names the driver in messages, e.g. `runtime driver "docker"`. */
  readonly description: string;
  /** The client of the driver as it runs now; throws Unavailable when it cannot take calls. */
  client(): DriverServiceClient;
  /** The error for a call that did not reach the driver or lost it midway. */
  unreachable(cause: unknown): KernelError;
}

/** What a driver says about itself in the handshake. */
export interface DriverIdentity {
  protocolVersion: number;
  kind: DriverKind;
  name: string;
  version: string;
  /** `methods` (the interface methods it implements) plus kind-specific flags. */
  capabilities: DriverCapabilities;
}

export interface DriverCapabilities {
  methods: string[];
  [flag: string]: unknown;
}

/** Maps a failed call to a KernelError, asking `endpoint` about transport failures. */
export function callError(endpoint: DriverEndpoint, e: unknown): KernelError {
  return fromGrpcError(e, (cause) => endpoint.unreachable(cause));
}

/**
 * Calls a request/response method of the driver: through its `Calls` stream,
 * or through `Invoke` for a driver that does not serve that stream.
 */
export function invokeMethod(endpoint: DriverEndpoint, method: string, args: unknown[]): Promise<unknown> {
  let client: DriverServiceClient;
  try {
    client = endpoint.client();
  } catch (e) {
    return Promise.reject(e);
  }
  const argsJson = JSON.stringify(trimTrailingUndefined(args));
  return callOverStream(client, method, argsJson).then(
    parseResult,
    (e) => (e === USE_INVOKE ? invokeUnary(endpoint, client, method, argsJson) : Promise.reject(callError(endpoint, e))),
  );
}

function invokeUnary(endpoint: DriverEndpoint, client: DriverServiceClient, method: string, argsJson: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    client.Invoke({ method, argsJson }, (err, reply) => {
      if (err) reject(callError(endpoint, err));
      else resolve(parseResult(reply?.resultJson));
    });
  });
}

function parseResult(resultJson: string | undefined): unknown {
  return resultJson ? JSON.parse(resultJson) : undefined;
}

/** JSON has no undefined: an optional argument left out stays out rather than becoming null. */
export function trimTrailingUndefined(args: unknown[]): unknown[] {
  let end = args.length;
  while (end > 0 && args[end - 1] === undefined) end--;
  return args.slice(0, end);
}

/**
 * Handshakes with the driver behind `client`: FailedPrecondition when it
 * speaks another protocol version or announces a kind the protocol does not
 * know, DeadlineExceeded or Unavailable when it does not answer in time.
 */
export function handshake(client: DriverServiceClient, options: { kernelVersion: string; timeoutMs: number; description: string }): Promise<DriverIdentity> {
  const unreachable = (cause: unknown) => errors.unavailable(`${options.description} did not answer the handshake: ${(cause as Error).message}`, { cause });
  return new Promise((resolve, reject) => {
    // Waits for a connection (up to the deadline) rather than failing at once on a driver still binding its socket.
    const metadata = new grpc.Metadata({ waitForReady: true });
    client.Handshake({ protocolVersion: DRIVER_PROTOCOL_VERSION, kernelVersion: options.kernelVersion },
      metadata, { deadline: Date.now() + options.timeoutMs }, (err, reply) => {
        if (err || !reply) {
          reject(fromGrpcError(err, unreachable));
          return;
        }
        if (reply.protocolVersion !== DRIVER_PROTOCOL_VERSION) {
          reject(errors.failedPrecondition(`${options.description} speaks driver protocol version ${reply.protocolVersion}, but this side speaks version ${DRIVER_PROTOCOL_VERSION}: use a driver built for protocol ${DRIVER_PROTOCOL_VERSION}`,
            { code: 'KERN_ERR_DRIVER_PROTOCOL_MISMATCH' }));
          return;
        }
        if (!isProtocolKind(reply.kind)) {
          reject(errors.failedPrecondition(`${options.description} announced driver kind "${reply.kind}", which is not one of store, runtime, network, volume, objectstore`,
            { code: 'KERN_ERR_DRIVER_KIND_UNKNOWN' }));
          return;
        }
        let capabilities: DriverCapabilities;
        try {
          const parsed = reply.capabilitiesJson ? JSON.parse(reply.capabilitiesJson) as Partial<DriverCapabilities> : {};
          capabilities = { ...parsed, methods: Array.isArray(parsed.methods) ? parsed.methods.filter((m) => typeof m === 'string') : [] };
        } catch (e) {
          reject(errors.failedPrecondition(`${options.description} sent capabilities_json that is not JSON: ${(e as Error).message}`, { code: 'KERN_ERR_DRIVER_HANDSHAKE_INVALID' }));
          return;
        }
        resolve({ protocolVersion: reply.protocolVersion, kind: reply.kind, name: reply.name, version: reply.driverVersion, capabilities });
      });
  });
}

/** Asks the driver whether it is serving; resolves with why not, or undefined when it is. */
export function checkHealth(client: DriverServiceClient, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    client.Health({}, { deadline: Date.now() + timeoutMs }, (err, reply) => {
      if (err) resolve(`health check failed: ${err.message}`);
      else if (reply?.status !== 'SERVING') resolve(`driver reports ${reply?.status || 'no status'}${reply?.message ? `: ${reply.message}` : ''}`);
      else resolve(undefined);
    });
  });
}

/** A driver on a fixed unix socket: calls go straight to it; a broken connection is Unavailable. */
export class SocketDriverEndpoint implements DriverEndpoint {
  private readonly grpcClient: DriverServiceClient;
  description: string;

  constructor(readonly socketPath: string, description = `driver at ${socketPath}`) {
    this.grpcClient = driverClient(socketPath);
    this.description = description;
  }

  client(): DriverServiceClient {
    return this.grpcClient;
  }

  unreachable(cause: unknown): KernelError {
    const why = (cause as Partial<grpc.ServiceError>)?.details || (cause as Error)?.message || String(cause);
    return errors.unavailable(`${this.description} is not reachable on ${this.socketPath}: ${why}`, { cause });
  }

  close(): void {
    closeDriverClient(this.grpcClient);
  }
}
