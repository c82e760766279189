/**
 * Out-of-process drivers (proto/kern/v1/driver.proto): `serveDriver` and
 * `connectKernel` for the driver's side; `connectDriver`, the proxies and
 * the handshake for the side that calls a driver (the kernel, tools).
 */
export { DRIVER_PROTOCOL_VERSION, DRIVER_ENV, LOCAL_CHANNEL_OPTIONS, driverClient } from './protocol';
export type { DriverServiceClient } from './protocol';
export { DRIVER_METHODS, OUT_OF_PROCESS_KINDS, protocolMethods, isProtocolKind, runsOutOfProcess } from './driver-methods';
export type { DriverMethods, OutOfProcessKind } from './driver-methods';
export { toDriverStatus, fromGrpcError } from './wire-errors';
export type { WireErrorDetails } from './wire-errors';
export { SocketDriverEndpoint, callError, checkHealth, handshake, invokeMethod } from './driver-endpoint';
export { closeDriverClient } from './call-channel';
export type { DriverEndpoint, DriverIdentity, DriverCapabilities } from './driver-endpoint';
export { serveDriver } from './driver-server';
export type { DriverServer, ServeDriverOptions } from './driver-server';
export { connectKernel } from './kernel-connection';
export { driverProcessEnv, resolveDriverCommand, signalProcessGroup, stopProcessGroup } from './driver-launch';
export type { DriverEnvironment } from './driver-launch';
export type { KernelConnection } from './kernel-connection';
export { RuntimeDriverProxy } from './runtime-driver-client';
export type { RuntimeDriverProxyOptions } from './runtime-driver-client';
export { createUnaryDriverProxy } from './unary-driver-proxy';
export { connectDriver, driverProxy } from './connect-driver';
export type { ConnectDriverOptions, ConnectedDriver } from './connect-driver';
