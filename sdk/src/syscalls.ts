import { Pod } from './resources/core';
import { KindInfo } from './resources/kinds';
import { ScheduleExplanation, ScheduleResult } from './sched/framework';
import { KernObject, ObjectKey, ObjectList } from './resources/meta';
import { WatchEventType } from './store/store-driver';
import { createToken } from './tokens';

/** ABI version of the syscall table; plugins declare a semver range against it. */
export const KERNEL_ABI_VERSION = '1.0.0';

export interface ListArgs {
  kind: string;
  namespace?: string;
  /** Text form, e.g. `app=web,tier!=db`. */
  labelSelector?: string;
  limit?: number;
  continue?: string;
}

export interface UpdateArgs {
  object: KernObject;
  subresource?: 'status';
}

export interface DeleteArgs extends ObjectKey {
  /** Precondition on the stored resourceVersion. */
  resourceVersion?: string;
}

export interface WatchArgs {
  kind?: string;
  namespace?: string;
  labelSelector?: string;
  /** Deliver changes after this revision (as a string, like resourceVersion). */
  resourceVersion?: string;
}

/** A watch event as the APIs send it; BOOKMARK carries only a resourceVersion. */
export interface WatchEvent<T extends KernObject = KernObject> {
  type: WatchEventType | 'BOOKMARK' | 'ERROR';
  object: T;
}

/**
 * Signatures of the request/response syscalls. Each is reachable in-process
 * through a {@link Syscalls} handle, over HTTP at `POST /v1/syscalls/{name}`
 * and over gRPC `Kernel.Call`. Args and results are plain JSON.
 */
export interface SyscallSignatures {
  /** Creates an object; validates it first (Invalid names the field). */
  'state.create': (args: { object: KernObject }) => KernObject;
  /** NotFound when absent. */
  'state.get': (args: ObjectKey) => KernObject;
  'state.list': (args: ListArgs) => ObjectList;
  /** Compare-and-set when `object.metadata.resourceVersion` is set (Conflict on mismatch). */
  'state.update': (args: UpdateArgs) => KernObject;
  /** Deletes, or marks for deletion while finalizers remain. */
  'state.delete': (args: DeleteArgs) => KernObject;
  /** Creates, or updates the stored object with this one (apply). */
  'state.apply': (args: { object: KernObject }) => { object: KernObject; action: 'created' | 'configured' | 'unchanged' };
  /** Every kind the kernel serves. */
  'state.kinds': (args: Record<string, never>) => KindInfo[];
  /** Registers another kind (used by plugins that add resources). */
  'state.registerKind': (args: KindInfo) => KindInfo;
  /**
   * Dry run of one scheduling attempt for a stored pod (`namespace`, `name`)
   * or an inline one (`pod`): every node's verdict, reasons and score. Binds nothing.
   */
  'sched.explain': (args: { namespace?: string; name?: string; pod?: Pod }) => ScheduleExplanation;
  /** Binds a pending pod to `nodeName` after checking it fits there (Invalid/FailedPrecondition with the reasons otherwise). */
  'sched.bind': (args: { namespace?: string; name: string; nodeName: string }) => ScheduleResult;
  /**
   * Creates the pod and waits until it is bound or found unschedulable, or
   * `timeoutSeconds` (default 30) pass.
   */
  'sched.submit': (args: { pod: Pod; timeoutSeconds?: number }) => ScheduleResult;
}

export type SyscallName = keyof SyscallSignatures;
export type SyscallArgs<N extends SyscallName> = Parameters<SyscallSignatures[N]>[0];
export type SyscallResult<N extends SyscallName> = ReturnType<SyscallSignatures[N]>;

export interface LogsArgs {
  namespace?: string;
  name: string;
  /** Defaults to the pod's first container. */
  container?: string;
  follow?: boolean;
  /** Only the last N lines. */
  tail?: number;
  /** The previous (exited) instance of the container. */
  previous?: boolean;
}

export interface ExecArgs {
  namespace?: string;
  name: string;
  container?: string;
  command: string[];
  /** Everything to write to the command's stdin, base64; absent = no stdin. */
  stdin?: string;
}

/** One chunk of a `compute.exec` stream: output (base64) or, last, the exit code. */
export type ExecFrame = { stream: 'stdout' | 'stderr'; data: string } | { exitCode: number };

/**
 * Signatures of the streaming syscalls: each yields a sequence of JSON
 * chunks, sent as newline-delimited JSON over HTTP and as a stream over gRPC.
 */
export interface StreamingSyscallSignatures {
  /** Container log text, in chunks of whole lines. */
  'compute.logs': (args: LogsArgs) => { data: string };
  'compute.exec': (args: ExecArgs) => ExecFrame;
}

export type StreamingSyscallName = keyof StreamingSyscallSignatures;

/** Streaming syscalls: `state.watch` through {@link Syscalls.watch}, the others through {@link Syscalls.stream}. */
export const STREAMING_SYSCALLS = ['state.watch', 'compute.logs', 'compute.exec'] as const;

/**
 * Names held for the issues that fill them; calling one today fails with
 * NotImplemented, so clients can probe for them.
 */
export const RESERVED_SYSCALLS = [
  'compute.createPod', 'compute.stopPod', 'compute.getPod', 'compute.nodeInfo',
  'net.attach', 'net.detach', 'net.allocateServiceIP', 'net.releaseServiceIP',
  'storage.provision', 'storage.delete', 'storage.attach', 'storage.detach',
] as const;

export interface SyscallWatch {
  stop(): void;
}

/**
 * The handle a plugin gets: only the syscalls its manifest declares work
 * (others fail with Forbidden). Injected under the {@link Syscalls} token.
 */
export interface Syscalls {
  call<N extends SyscallName>(name: N, args: SyscallArgs<N>): Promise<SyscallResult<N>>;
  /**
   * `state.watch`: events in revision order; `onError` gets TooOld and the
   * like, then the watch is over. Event objects are shared between watchers
   * and read-only: copy before changing.
   */
  watch(args: WatchArgs, onEvent: (e: WatchEvent) => void, onError?: (err: Error) => void): SyscallWatch;
  /** A streaming syscall; stop early by breaking out of the loop (`return()` ends it). */
  stream<N extends StreamingSyscallName>(name: N, args: Parameters<StreamingSyscallSignatures[N]>[0]): Promise<AsyncIterable<ReturnType<StreamingSyscallSignatures[N]>>>;
}

export const Syscalls = createToken<Syscalls>('syscalls');

/** True when `pattern` (`state.get`, `state.*`, `*`) covers `name`. */
export function syscallAllowed(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) => p === '*' || p === name || (p.endsWith('.*') && name.startsWith(p.slice(0, -1))));
}
