import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { errors } from '../errors';

/**
 * Version of the out-of-process driver protocol (`kern.driver.v1.Driver`,
 * proto/kern/v1/driver.proto). Both ends send it in the handshake; a
 * difference fails the handshake with FailedPrecondition.
 */
export const DRIVER_PROTOCOL_VERSION = 1;

/** Environment variables the kernel sets for an out-of-process driver. */
export const DRIVER_ENV = {
  /** Unix socket the driver serves `kern.driver.v1.Driver` on. */
  driverSocket: 'KERN_DRIVER_SOCKET',
  /** Unix socket of the kernel's `kern.v1.Kernel` API, limited to the manifest's syscalls. */
  syscallSocket: 'KERN_SYSCALL_SOCKET',
  /** The plugin's config section, as a JSON object. */
  pluginConfig: 'KERN_PLUGIN_CONFIG',
  /** A directory owned by the plugin. */
  pluginDataDir: 'KERN_PLUGIN_DATA_DIR',
} as const;

/** Messages of driver.proto as @grpc/proto-loader hands them over (camelCase, oneofs named by their virtual field). */
export interface HandshakeRequest { protocolVersion: number; kernelVersion: string }
export interface HandshakeReply { protocolVersion: number; kind: string; name: string; driverVersion: string; capabilitiesJson: string }
export interface HealthReply { status: string; message: string }
export interface InvokeRequest { method: string; argsJson: string }
export interface InvokeReply { resultJson: string }
export interface Call { id: number; method: string; argsJson: string }
export interface CallResult { id: number; resultJson: string; errorCode: number; errorDetails: string }
export interface Chunk { data?: Buffer; json?: string; opened?: boolean }
export interface ExecStart { containerId: string; command: string[]; tty: boolean; env: Record<string, string>; stdin: boolean }
export type ExecInput = { input?: 'start'; start: ExecStart } | { input?: 'stdin'; stdin: Buffer };
export type ExecOutput =
  | { output?: 'started'; started: boolean }
  | { output?: 'stdout'; stdout: Buffer }
  | { output?: 'stderr'; stderr: Buffer }
  | { output?: 'exitCode'; exitCode: number };
export type ImageChunk = { part?: 'name'; name: string } | { part?: 'data'; data: Buffer };
export type Empty = Record<string, never>;

/** A client of `kern.driver.v1.Driver`, as grpc-js generates it. */
export interface DriverServiceClient extends grpc.Client {
  Handshake(request: HandshakeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<HandshakeReply>): grpc.ClientUnaryCall;
  Health(request: Empty, options: grpc.CallOptions, callback: grpc.requestCallback<HealthReply>): grpc.ClientUnaryCall;
  Invoke(request: InvokeRequest, callback: grpc.requestCallback<InvokeReply>): grpc.ClientUnaryCall;
  Calls(): grpc.ClientDuplexStream<Call, CallResult>;
  OpenStream(request: InvokeRequest): grpc.ClientReadableStream<Chunk>;
  Exec(): grpc.ClientDuplexStream<ExecInput, ExecOutput>;
  ImportImage(callback: grpc.requestCallback<Empty>): grpc.ClientWritableStream<ImageChunk>;
}

// Local sockets: large listings must not hit grpc's 4 MiB default.
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Channel options for both ends of a driver or syscall socket. */
export const LOCAL_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
};

/**
 * Path of a .proto the sdk ships (`kern/v1/driver.proto`). The sources sit
 * in src/oop and the build in dist/oop, both two levels below the package.
 */
export function sdkProtoPath(relative: string): string {
  const path = join(__dirname, '..', '..', 'proto', relative);
  if (!existsSync(path)) {
    throw errors.unavailable(`cannot find proto/${relative} of @kern/sdk at ${path}: reinstall the sdk package (it ships the proto files)`);
  }
  return path;
}

const loaded = new Map<string, grpc.GrpcObject>();

/** Loads one of the sdk's .proto files, once. */
export function loadSdkProto(relative: string): grpc.GrpcObject {
  let pkg = loaded.get(relative);
  if (!pkg) {
    const definition = protoLoader.loadSync(sdkProtoPath(relative), { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
    pkg = grpc.loadPackageDefinition(definition);
    loaded.set(relative, pkg);
  }
  return pkg;
}

/** The generated constructor of `kern.driver.v1.Driver`; its `.service` is the server-side definition. */
export function driverService(): grpc.ServiceClientConstructor {
  const pkg = loadSdkProto('kern/v1/driver.proto') as unknown as { kern: { driver: { v1: { Driver: grpc.ServiceClientConstructor } } } };
  return pkg.kern.driver.v1.Driver;
}

/** The generated constructor of `kern.v1.Kernel` (the kernel's syscall API). */
export function kernelService(): grpc.ServiceClientConstructor {
  const pkg = loadSdkProto('kern/v1/kernel.proto') as unknown as { kern: { v1: { Kernel: grpc.ServiceClientConstructor } } };
  return pkg.kern.v1.Kernel;
}

/** A client of the driver serving on `socketPath`. */
export function driverClient(socketPath: string): DriverServiceClient {
  const Driver = driverService();
  return new Driver(`unix:${socketPath}`, grpc.credentials.createInsecure(), LOCAL_CHANNEL_OPTIONS) as unknown as DriverServiceClient;
}
