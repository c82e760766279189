import { DriverKind } from '../plugin';

/** One method of a driver interface, as `kern-sdk init` stubs it. */
export interface MethodStub {
  name: string;
  /** `<T extends KernObject>` for generic methods. */
  typeParameters?: string;
  parameters: string;
  returns: string;
  /** Returns synchronously (the stub is not `async`). */
  sync?: boolean;
  /** The contract in a sentence, written above the stub. */
  doc: string;
}

/** What `kern-sdk init` needs to know about a driver kind. */
export interface DriverKindTemplate {
  /** The sdk interface the driver implements. */
  interfaceName: string;
  /** Names imported from `@kern/sdk` for the method signatures. */
  sdkTypes: string[];
  /** Imports from Node the signatures need. */
  nodeImports: string[];
  methods: MethodStub[];
  /** Optional methods of the interface, listed in a comment (a throwing stub would claim support). */
  optionalMethods: MethodStub[];
  /** The sdk's conformance suite for the kind, when there is one. */
  suite?: ConformanceSuite;
}

export interface ConformanceSuite {
  /** Exported by `@kern/sdk/testing`. */
  describeFunction: 'describeRuntimeConformance' | 'describeStoreConformance' | 'describeNetworkConformance'
    | 'describeVolumeConformance' | 'describeObjectStoreConformance';
  /** What `createConformanceTarget()` returns (also from `@kern/sdk/testing`). */
  targetType: 'RuntimeUnderTest' | 'StoreUnderTest' | 'NetworkUnderTest' | 'VolumeUnderTest' | 'ObjectStoreUnderTest';
  /** Why it cannot run against a driver in another process (the kinds outside OUT_OF_PROCESS_KINDS); ends "... cannot run against a driver in another process yet (<this>)". */
  inProcessOnlyReason?: string;
  /**
   * The body of the scaffold's `src/conformance-target.ts` after its imports
   * (mkdtemp, rm, tmpdir, join, the target type and the driver class), for
   * kinds other than runtime and store.
   */
  scaffoldTarget?: (className: string, pluginId: string) => string;
}

const PROTOCOL_V1 = 'driver protocol version 1 does not carry everything it calls';

const runtime: DriverKindTemplate = {
  interfaceName: 'RuntimeDriver',
  sdkTypes: ['ContainerInfo', 'ContainerSpec', 'ExecOptions', 'ExecSession', 'LogOptions', 'RuntimeInfo', 'SandboxSpec', 'SandboxStatus'],
  nodeImports: ["import { Readable } from 'node:stream';"],
  methods: [
    { name: 'info', parameters: '', returns: 'Promise<RuntimeInfo>', doc: 'Name, version and capability flags; the conformance suite skips what a flag says is missing.' },
    { name: 'ensureImage', parameters: 'image: string', returns: 'Promise<void>', doc: 'Makes `image` available locally; NotFound with a hint when it cannot be.' },
    { name: 'createSandbox', parameters: 'spec: SandboxSpec', returns: 'Promise<SandboxStatus>', doc: 'A ready sandbox labelled with RUNTIME_LABELS and spec.labels; Invalid for an empty podUid, podName or podNamespace.' },
    { name: 'removeSandbox', parameters: 'id: string', returns: 'Promise<void>', doc: 'Stops and removes the sandbox. Idempotent.' },
    { name: 'listSandboxes', parameters: 'labels?: Record<string, string>', returns: 'Promise<SandboxStatus[]>', doc: 'Sandboxes carrying every one of `labels` (what lets a restarted agent adopt them).' },
    { name: 'createContainer', parameters: 'sandboxId: string, spec: ContainerSpec', returns: 'Promise<string>', doc: 'Creates (does not start) a container and returns its id; NotFound for an unknown sandbox.' },
    { name: 'startContainer', parameters: 'id: string', returns: 'Promise<void>', doc: 'Starts it; inspectContainer reports it running when this resolves.' },
    { name: 'stopContainer', parameters: 'id: string, graceSeconds: number', returns: 'Promise<void>', doc: 'SIGTERM, then SIGKILL after `graceSeconds`. Idempotent.' },
    { name: 'removeContainer', parameters: 'id: string', returns: 'Promise<void>', doc: 'Kills and removes it. Idempotent.' },
    { name: 'inspectContainer', parameters: 'id: string', returns: 'Promise<ContainerInfo>', doc: 'State, exit code, times and labels; NotFound for an unknown id.' },
    { name: 'listContainers', parameters: 'labels?: Record<string, string>', returns: 'Promise<ContainerInfo[]>', doc: 'Containers carrying every one of `labels`.' },
    { name: 'logs', parameters: 'id: string, options?: LogOptions', returns: 'Promise<Readable>', doc: 'stdout and stderr as text; `follow` keeps streaming until the container exits.' },
    { name: 'exec', parameters: 'id: string, command: string[], options?: ExecOptions', returns: 'Promise<ExecSession>', doc: 'Runs a command in the running container; `exitCode` resolves when it ends.' },
  ],
  optionalMethods: [
    { name: 'watchEvents', parameters: 'onEvent: (e: RuntimeEvent) => void', returns: 'Disposable', sync: true, doc: 'Container start, die and oom events, so the agent need not poll.' },
    { name: 'importImage', parameters: 'name: string, rootfsTar: Readable', returns: 'Promise<void>', doc: 'Makes image `name` from a root filesystem tarball (`kern image import`).' },
  ],
  suite: { describeFunction: 'describeRuntimeConformance', targetType: 'RuntimeUnderTest' },
};

const store: DriverKindTemplate = {
  interfaceName: 'StoreDriver',
  sdkTypes: ['KernObject', 'ObjectKey', 'StoreDeleteOptions', 'StoreListOptions', 'StoreListResult', 'StoreUpdateOptions', 'StoreWatch', 'StoreWatchEvent', 'StoreWatchOptions'],
  nodeImports: [],
  methods: [
    { name: 'create', typeParameters: '<T extends KernObject>', parameters: 'obj: T', returns: 'Promise<T>', doc: 'Stores a new object with the next revision, a uid and generation 1; AlreadyExists when the key is taken.' },
    { name: 'get', typeParameters: '<T extends KernObject>', parameters: 'key: ObjectKey', returns: 'Promise<T>', doc: 'The stored object; NotFound when absent.' },
    { name: 'list', typeParameters: '<T extends KernObject>', parameters: 'kind: string, options?: StoreListOptions', returns: 'Promise<StoreListResult<T>>', doc: 'Objects of `kind`, filtered and paged, with the revision the list is consistent with.' },
    { name: 'update', typeParameters: '<T extends KernObject>', parameters: 'obj: T, options?: StoreUpdateOptions', returns: 'Promise<T>', doc: 'Compare-and-set when obj carries a resourceVersion (Conflict when stale), unconditional otherwise.' },
    { name: 'delete', typeParameters: '<T extends KernObject>', parameters: 'key: ObjectKey, options?: StoreDeleteOptions', returns: 'Promise<T>', doc: 'Deletes, or with finalizers only marks for deletion; NotFound when absent.' },
    { name: 'watch', parameters: 'options: StoreWatchOptions, onEvent: (e: StoreWatchEvent) => void, onError?: (err: Error) => void', returns: 'StoreWatch', sync: true, doc: 'Changes in revision order, exactly once; never throws (failures go to onError).' },
    { name: 'revision', parameters: '', returns: 'Promise<number>', doc: 'The newest revision.' },
    { name: 'compact', parameters: 'revision: number', returns: 'Promise<void>', doc: 'Drops history at and below `revision`; Invalid beyond the newest one.' },
    { name: 'close', parameters: '', returns: 'Promise<void>', doc: 'Releases everything; later calls fail with Unavailable. Closing twice is a no-op.' },
  ],
  optionalMethods: [],
  suite: { describeFunction: 'describeStoreConformance', targetType: 'StoreUnderTest', inProcessOnlyReason: PROTOCOL_V1 },
};

const network: DriverKindTemplate = {
  interfaceName: 'NetworkDriver',
  sdkTypes: ['PodNetworkRequest', 'PodNetworkStatus'],
  nodeImports: [],
  methods: [
    { name: 'attach', parameters: 'req: PodNetworkRequest', returns: 'Promise<PodNetworkStatus>', doc: 'Wires the sandbox into the network; again for the same sandbox returns the same address.' },
    { name: 'detach', parameters: 'req: PodNetworkRequest', returns: 'Promise<void>', doc: 'Unwires it. Idempotent.' },
    { name: 'check', parameters: 'req: PodNetworkRequest', returns: 'Promise<boolean>', doc: 'True when the attachment is intact.' },
  ],
  optionalMethods: [],
  suite: {
    describeFunction: 'describeNetworkConformance', targetType: 'NetworkUnderTest',
    scaffoldTarget: (className, pluginId) => `
/**
 * The driver under test, for src/driver.test.ts and \`kern-sdk conformance network .\`
 * (which looks for this export in the package's entry). The suite calls it once.
 */
export async function createConformanceTarget(): Promise<NetworkUnderTest> {
  const dataDir = await mkdtemp(join(tmpdir(), '${pluginId}-conformance-'));
  const driver = new ${className}({ dataDir, config: {} });
  return {
    driver,
    // TODO: the range the driver hands pod addresses from.
    podCidr: '10.88.0.0/16',
    newSandbox: async () => {
      // TODO: a real network namespace, e.g. \`ip netns add <name>\` and /var/run/netns/<name>.
      const netnsPath = join(dataDir, \`netns-\${Date.now()}\`);
      return { netnsPath, cleanup: async () => undefined };
    },
    cleanup: async () => {
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
`,
  },
};

const volume: DriverKindTemplate = {
  interfaceName: 'VolumeDriver',
  sdkTypes: ['CreateVolumeRequest', 'VolumeCapabilities', 'VolumeInfo'],
  nodeImports: [],
  methods: [
    { name: 'capabilities', parameters: '', returns: 'Promise<VolumeCapabilities>', doc: 'What the volumes can do (read-write-many, expand, snapshot).' },
    { name: 'createVolume', parameters: 'req: CreateVolumeRequest', returns: 'Promise<VolumeInfo>', doc: 'Creates a volume. Idempotent by name.' },
    { name: 'deleteVolume', parameters: 'id: string', returns: 'Promise<void>', doc: 'Deletes it. Idempotent.' },
    { name: 'stage', parameters: 'id: string, stagingPath: string', returns: 'Promise<void>', doc: 'Makes the volume ready on this node (attach, format, mount at stagingPath).' },
    { name: 'unstage', parameters: 'id: string, stagingPath: string', returns: 'Promise<void>', doc: 'Undoes stage.' },
    { name: 'publish', parameters: 'id: string, stagingPath: string, targetPath: string, readOnly: boolean', returns: 'Promise<void>', doc: 'Makes the staged volume visible at targetPath for one pod.' },
    { name: 'unpublish', parameters: 'id: string, targetPath: string', returns: 'Promise<void>', doc: 'Undoes publish.' },
  ],
  optionalMethods: [],
  suite: {
    describeFunction: 'describeVolumeConformance', targetType: 'VolumeUnderTest',
    scaffoldTarget: (className, pluginId) => `
/**
 * The driver under test, for src/driver.test.ts and \`kern-sdk conformance volume .\`
 * (which looks for this export in the package's entry). The suite calls it once
 * and stages and publishes under \`baseDir\`.
 */
export async function createConformanceTarget(): Promise<VolumeUnderTest> {
  const dir = await mkdtemp(join(tmpdir(), '${pluginId}-conformance-'));
  const driver = new ${className}({ dataDir: join(dir, 'data'), config: {} });
  return {
    driver,
    baseDir: dir,
    cleanup: async () => {
      await rm(dir, { recursive: true, force: true });
    },
  };
}
`,
  },
};

const objectstore: DriverKindTemplate = {
  interfaceName: 'ObjectStoreDriver',
  sdkTypes: ['ListObjectsResult', 'ObjectInfo'],
  nodeImports: ["import { Readable } from 'node:stream';"],
  methods: [
    { name: 'createBucket', parameters: 'bucket: string', returns: 'Promise<void>', doc: 'Creates a bucket.' },
    { name: 'deleteBucket', parameters: 'bucket: string', returns: 'Promise<void>', doc: 'Deletes a bucket.' },
    { name: 'listBuckets', parameters: '', returns: 'Promise<{ name: string; creationDate: string }[]>', doc: 'Every bucket.' },
    { name: 'putObject', parameters: 'bucket: string, key: string, body: Readable, info: { contentType?: string; metadata?: Record<string, string> }', returns: 'Promise<ObjectInfo>', doc: 'Stores `body` under `key`.' },
    { name: 'getObject', parameters: 'bucket: string, key: string, range?: { start: number; end?: number }', returns: 'Promise<{ info: ObjectInfo; body: Readable }>', doc: 'An object (or a byte range of it).' },
    { name: 'headObject', parameters: 'bucket: string, key: string', returns: 'Promise<ObjectInfo>', doc: 'An object\'s metadata.' },
    { name: 'deleteObject', parameters: 'bucket: string, key: string', returns: 'Promise<void>', doc: 'Deletes an object.' },
    { name: 'listObjects', parameters: 'bucket: string, options: { prefix?: string; delimiter?: string; maxKeys?: number; continuationToken?: string }', returns: 'Promise<ListObjectsResult>', doc: 'Objects by prefix, S3 style, in pages.' },
  ],
  optionalMethods: [],
  suite: {
    describeFunction: 'describeObjectStoreConformance', targetType: 'ObjectStoreUnderTest',
    inProcessOnlyReason: 'object bodies are streams, which driver protocol version 1 does not carry',
    scaffoldTarget: (className, pluginId) => `
/**
 * The driver under test, for src/driver.test.ts and \`kern-sdk conformance objectstore .\`
 * (which looks for this export in the package's entry). The suite calls it once.
 */
export async function createConformanceTarget(): Promise<ObjectStoreUnderTest> {
  const dataDir = await mkdtemp(join(tmpdir(), '${pluginId}-conformance-'));
  const driver = new ${className}({ dataDir, config: {} });
  return {
    driver,
    cleanup: async () => {
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
`,
  },
};

/** Every kind `kern-sdk init` scaffolds. */
export const DRIVER_KIND_TEMPLATES: Readonly<Record<DriverKind, DriverKindTemplate>> = { runtime, store, network, volume, objectstore };
