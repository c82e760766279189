import { Readable, Writable } from 'node:stream';
import { Disposable, createToken } from '../tokens';

/** What a runtime driver can do; the agent checks flags instead of catching "not supported". */
export interface RuntimeCapabilities {
  exec: boolean;
  logs: boolean;
  /** Enforces memory limits and reports OOM kills. */
  memoryLimit: boolean;
  cpuLimit: boolean;
  /** Containers of a pod share one network namespace held by the sandbox. */
  sharedNetworkNamespace: boolean;
}

export interface RuntimeInfo {
  name: string;
  version: string;
  capabilities: RuntimeCapabilities;
}

/** Labels every driver puts on what it creates, so the agent can adopt it after a restart. */
export const RUNTIME_LABELS = {
  managed: 'kern.io/managed',
  /** The node (agent) that owns it: an agent only ever adopts or removes its own. */
  node: 'kern.io/node',
  podUid: 'kern.io/pod-uid',
  podName: 'kern.io/pod-name',
  podNamespace: 'kern.io/pod-namespace',
  container: 'kern.io/container',
  attempt: 'kern.io/attempt',
} as const;

export interface SandboxSpec {
  podUid: string;
  podName: string;
  podNamespace: string;
  hostname?: string;
  labels?: Record<string, string>;
}

export interface SandboxStatus {
  id: string;
  podUid: string;
  state: 'ready' | 'notready';
  /** Path of the network namespace, for the network driver (e.g. `/proc/123/ns/net`). */
  netnsPath?: string;
  ip?: string;
  labels: Record<string, string>;
}

export interface ContainerMount { hostPath: string; containerPath: string; readOnly?: boolean }

export interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
  workingDir?: string;
  mounts?: ContainerMount[];
  /** CPU limit in millicores; memory limit in bytes. */
  cpuMillis?: number;
  memoryBytes?: number;
  labels?: Record<string, string>;
}

export interface ContainerInfo {
  id: string;
  sandboxId?: string;
  name: string;
  image: string;
  state: 'created' | 'running' | 'exited' | 'unknown';
  exitCode?: number;
  oomKilled?: boolean;
  startedAt?: string;
  finishedAt?: string;
  labels: Record<string, string>;
}

/** A container life-cycle event, so the agent reacts at once instead of polling. */
export interface RuntimeEvent {
  containerId: string;
  type: 'start' | 'die' | 'oom';
  labels: Record<string, string>;
}

export interface LogOptions { follow?: boolean; tail?: number; sinceSeconds?: number; timestamps?: boolean }

export interface ExecOptions { stdin?: Readable; tty?: boolean; env?: Record<string, string> }

export interface ExecSession {
  stdout: Readable;
  stderr: Readable;
  stdin?: Writable;
  /** Resolves with the exit code when the command ends. */
  exitCode: Promise<number>;
}

/**
 * A container runtime (Docker, a host-process runner, ...). All methods are
 * idempotent where the name says so: removing something already gone
 * succeeds; creating is not idempotent (the agent lists first).
 */
export interface RuntimeDriver {
  readonly name: string;
  info(): Promise<RuntimeInfo>;
  /** Makes sure `image` is available locally; NotFound with a hint when it cannot be. */
  ensureImage(image: string): Promise<void>;
  createSandbox(spec: SandboxSpec): Promise<SandboxStatus>;
  /** Stops and removes the sandbox; its containers must be gone first. Idempotent. */
  removeSandbox(id: string): Promise<void>;
  listSandboxes(labels?: Record<string, string>): Promise<SandboxStatus[]>;
  createContainer(sandboxId: string, spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceSeconds`. Idempotent. */
  stopContainer(id: string, graceSeconds: number): Promise<void>;
  /** Idempotent. */
  removeContainer(id: string): Promise<void>;
  inspectContainer(id: string): Promise<ContainerInfo>;
  listContainers(labels?: Record<string, string>): Promise<ContainerInfo[]>;
  logs(id: string, options?: LogOptions): Promise<Readable>;
  exec(id: string, command: string[], options?: ExecOptions): Promise<ExecSession>;
  /**
   * Optional: calls `onEvent` for container starts, deaths and OOM kills of
   * containers this driver made. Dispose to stop. Drivers without it are
   * polled.
   */
  watchEvents?(onEvent: (e: RuntimeEvent) => void): Disposable;
  /**
   * Optional: makes image `name` (`repo[:tag]`, tag `latest` when left out)
   * from a root filesystem tarball, as `docker import` does: one layer, no
   * entrypoint or command (pods name their command). `rootfsTar` is a plain
   * or gzip-compressed tar of the filesystem root, read to its end once;
   * the promise settles when the image can be used by `createContainer`.
   *
   * Called by the kernel for `POST /v1/images/import` (`kern image import`).
   * Importing over an existing name replaces what the name points at; the
   * old image stays until nothing uses it. If `rootfsTar` fails (the upload
   * was cut), the import is abandoned and no image is made. Failures:
   * Invalid for a name the runtime refuses or data that is not a tar
   * archive, Unavailable when the runtime cannot be reached. Without this
   * method the API answers imports with 503 (Unavailable).
   */
  importImage?(name: string, rootfsTar: Readable): Promise<void>;
}

export const RuntimeDriver = createToken<RuntimeDriver>('driver.runtime');
