import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { errors } from '@kern/sdk';

/**
 * The `kern.v1.Kernel` service, loaded at runtime from the sdk's
 * `proto/kern/v1/kernel.proto` (the sdk ships the .proto so clients in any
 * language can generate stubs from the same file).
 */

const PROTO_IN_SDK = 'proto/kern/v1/kernel.proto';

/** Messages as @grpc/proto-loader hands them over (camelCase fields, defaults filled). */
export interface CallRequest { name: string; argsJson: string }
export interface CallReply { resultJson: string }
export interface WatchRequest { kind: string; namespace: string; labelSelector: string; resourceVersion: string }
export interface StreamChunkMessage { chunkJson: string }
export interface WatchEventMessage { type: string; objectJson: string; resourceVersion: string }
export interface SyscallList { syscalls: { name: string; implemented: boolean }[] }
export interface VersionInfoMessage { gitVersion: string; major: string; minor: string; platform: string; kernAbi: string }
export type Empty = Record<string, never>;

/**
 * Finds kernel.proto: through the sdk package's `./proto/*` export, then
 * next to its package.json, then relative to this file in the repo (jest
 * maps `@kern/sdk` to the sources, and a built kernel runs from dist/).
 */
export function kernelProtoPath(): string {
  const candidates: (() => string)[] = [
    () => require.resolve(`@kern/sdk/${PROTO_IN_SDK}`),
    () => join(dirname(require.resolve('@kern/sdk/package.json')), PROTO_IN_SDK),
    () => join(__dirname, '..', '..', '..', 'sdk', PROTO_IN_SDK),
    () => join(__dirname, '..', '..', '..', '..', 'sdk', PROTO_IN_SDK),
  ];
  for (const candidate of candidates) {
    try {
      const path = candidate();
      if (existsSync(path)) return path;
    } catch {
      // not resolvable this way; try the next
    }
  }
  throw errors.unavailable(`cannot find ${PROTO_IN_SDK} of @kern/sdk: reinstall the sdk package (it ships the proto files)`);
}

let cached: grpc.ServiceClientConstructor | undefined;

/** The generated client constructor of `kern.v1.Kernel`; its `.service` is the server-side definition. */
export function kernelService(): grpc.ServiceClientConstructor {
  if (cached) return cached;
  const definition = protoLoader.loadSync(kernelProtoPath(), {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as { kern: { v1: { Kernel: grpc.ServiceClientConstructor } } };
  cached = loaded.kern.v1.Kernel;
  return cached;
}

/** `host:port`, bracketing IPv6 literals. */
export function grpcAddress(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
