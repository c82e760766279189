import { RuntimeDriver } from '../drivers/runtime-driver';
import { DriverKind } from '../plugin';
import { Logger } from '../logger';
import { DriverCapabilities, DriverEndpoint, DriverIdentity, SocketDriverEndpoint, handshake } from './driver-endpoint';
import { RuntimeDriverProxy } from './runtime-driver-client';
import { createUnaryDriverProxy } from './unary-driver-proxy';

export interface ConnectDriverOptions {
  /** How long the handshake may take, in ms. Default 10000. */
  timeoutMs?: number;
  /** Sent in the handshake. Default "unknown". */
  kernelVersion?: string;
}

/** A driver process reached over its socket. */
export interface ConnectedDriver<T = RuntimeDriver> {
  kind: DriverKind;
  name: string;
  version: string;
  capabilities: DriverCapabilities;
  /** A {@link RuntimeDriverProxy} for a runtime; a request/response proxy for the other kinds. */
  driver: T;
  /** Closes the connection; the driver process keeps running. */
  close(): void;
}

/**
 * The proxy that stands in for the driver `identity` names, sending its
 * calls to `endpoint`: a {@link RuntimeDriverProxy} for a runtime, a
 * request/response proxy for the other kinds; only the methods the driver
 * said it implements.
 */
export function driverProxy(identity: DriverIdentity, endpoint: DriverEndpoint, logger?: Logger): unknown {
  const methods = identity.capabilities.methods;
  if (identity.kind === 'runtime') return new RuntimeDriverProxy(endpoint, identity.name, { methods, logger });
  return createUnaryDriverProxy(identity.kind, identity.name, endpoint, methods);
}

/**
 * Connects to a driver serving `kern.driver.v1.Driver` on the unix socket
 * `socketPath` and handshakes (FailedPrecondition for another protocol
 * version; Unavailable when nothing answers). For tools and tests, such as
 * running a conformance suite against an out-of-process driver:
 *
 * ```ts
 * const { driver, close } = await connectDriver('/tmp/my-driver.sock');
 * describeRuntimeConformance('my-driver', async () => ({ driver, image: 'kern/busybox:1', cleanup: async () => close() }));
 * ```
 */
export async function connectDriver<T = RuntimeDriver>(socketPath: string, options: ConnectDriverOptions = {}): Promise<ConnectedDriver<T>> {
  const endpoint = new SocketDriverEndpoint(socketPath);
  try {
    const identity = await handshake(endpoint.client(), {
      kernelVersion: options.kernelVersion ?? 'unknown', timeoutMs: options.timeoutMs ?? 10_000, description: endpoint.description,
    });
    endpoint.description = `${identity.kind} driver "${identity.name}"`;
    return { ...identity, driver: driverProxy(identity, endpoint) as T, close: () => endpoint.close() };
  } catch (e) {
    endpoint.close();
    throw e;
  }
}
