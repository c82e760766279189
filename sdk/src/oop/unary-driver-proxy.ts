import { DriverKind } from '../plugin';
import { DriverEndpoint, invokeMethod } from './driver-endpoint';
import { DRIVER_METHODS } from './driver-methods';

/**
 * A proxy for a driver in another process with one async method per
 * request/response method of `kind`'s interface (all of the network and
 * volume interfaces; of the store and object store interfaces, what
 * protocol version 1 carries). `methods` (from the handshake) leaves out
 * what the driver does not implement.
 */
export function createUnaryDriverProxy<T>(kind: DriverKind, name: string, endpoint: DriverEndpoint, methods?: readonly string[]): T {
  const proxy: Record<string, unknown> = { name };
  for (const method of DRIVER_METHODS[kind].unary) {
    if (methods && !methods.includes(method)) continue;
    proxy[method] = (...args: unknown[]) => invokeMethod(endpoint, method, args);
  }
  return proxy as T;
}
