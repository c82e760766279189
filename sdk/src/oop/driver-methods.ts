import { DriverKind } from '../plugin';

/**
 * The methods of each driver interface as the out-of-process protocol
 * carries them. `unary` go through `Invoke` (positional JSON arguments, a
 * JSON result); `streams` through `OpenStream`; the runtime's `exec` and
 * `importImage` have rpcs of their own. Methods not listed (store `watch`
 * and `close`, object bodies) are not part of protocol version 1.
 */
export interface DriverMethods {
  unary: readonly string[];
  streams: readonly string[];
  /** Methods with an rpc of their own. */
  special: readonly string[];
}

export const DRIVER_METHODS: Readonly<Record<DriverKind, DriverMethods>> = {
  runtime: {
    unary: [
      'info', 'ensureImage', 'createSandbox', 'removeSandbox', 'listSandboxes', 'createContainer', 'startContainer',
      'stopContainer', 'removeContainer', 'inspectContainer', 'listContainers',
    ],
    streams: ['logs', 'watchEvents'],
    special: ['exec', 'importImage'],
  },
  store: { unary: ['create', 'get', 'list', 'update', 'delete', 'revision', 'compact'], streams: [], special: [] },
  network: { unary: ['attach', 'detach', 'check'], streams: [], special: [] },
  volume: { unary: ['capabilities', 'createVolume', 'deleteVolume', 'stage', 'unstage', 'publish', 'unpublish'], streams: [], special: [] },
  objectstore: {
    unary: ['createBucket', 'deleteBucket', 'listBuckets', 'headObject', 'deleteObject', 'listObjects'],
    streams: [],
    special: [],
  },
};

/** Every method of `kind`'s interface the protocol carries. */
export function protocolMethods(kind: DriverKind): string[] {
  const m = DRIVER_METHODS[kind];
  return [...m.unary, ...m.streams, ...m.special];
}

/**
 * Kinds whose whole interface protocol version 1 carries, so a driver of
 * them can run out of process. Store watches and object bodies are not
 * carried: store and object store drivers run in process.
 */
export const OUT_OF_PROCESS_KINDS = ['runtime', 'network', 'volume'] as const;
export type OutOfProcessKind = typeof OUT_OF_PROCESS_KINDS[number];

export function runsOutOfProcess(kind: string): kind is OutOfProcessKind {
  return (OUT_OF_PROCESS_KINDS as readonly string[]).includes(kind);
}

/** True when `kind` is a driver kind the protocol knows. */
export function isProtocolKind(kind: string): kind is DriverKind {
  return Object.prototype.hasOwnProperty.call(DRIVER_METHODS, kind);
}
