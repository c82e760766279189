import {
  Disposable, RESERVED_SYSCALLS, STREAMING_SYSCALLS, SyscallArgs, SyscallName, SyscallResult, SyscallWatch, Syscalls, WatchArgs,
  WatchEvent, errors, syscallAllowed, toDisposable, toKernelError,
} from '@kern/sdk';
import { KernelMetrics } from '../metrics/metrics';

/** Who is calling: a plugin (limited by its manifest) or an API client. */
export interface Caller {
  /** `plugin:<id>`, `user:admin`, ... for logs and errors. */
  principal: string;
  /** Syscall patterns this caller may use; absent = all. */
  allowed?: readonly string[];
}

export type SyscallHandler = (args: unknown, caller: Caller) => Promise<unknown>;
export type StreamHandler = (args: unknown, caller: Caller) => Promise<AsyncIterable<unknown>>;
export type WatchHandler = (args: WatchArgs, onEvent: (e: WatchEvent) => void, onError: (err: Error) => void, caller: Caller) => SyscallWatch;

const WATCH = 'state.watch';

/**
 * The one dispatch point of every syscall, whoever calls it: plugins through
 * their limited handles, HTTP and gRPC clients through the APIs.
 */
export class SyscallTable {
  private readonly handlers = new Map<string, SyscallHandler>();
  private watchHandler?: WatchHandler;
  private readonly streams = new Map<string, StreamHandler>();

  constructor(private readonly metrics?: KernelMetrics) {}

  register(name: string, handler: SyscallHandler): Disposable {
    if (!/^[a-z]+\.[A-Za-z]+$/.test(name)) throw errors.invalid('name', `syscall "${name}" must look like area.verb`);
    if (this.handlers.has(name)) throw errors.alreadyExists(`syscall ${name}`);
    this.handlers.set(name, handler);
    return toDisposable(() => { if (this.handlers.get(name) === handler) this.handlers.delete(name); });
  }

  /** A streaming syscall (`compute.logs`, `compute.exec`, ...). */
  registerStream(name: string, handler: StreamHandler): Disposable {
    if (this.streams.has(name) || this.handlers.has(name)) throw errors.alreadyExists(`syscall ${name}`);
    this.streams.set(name, handler);
    return toDisposable(() => { if (this.streams.get(name) === handler) this.streams.delete(name); });
  }

  isStream(name: string): boolean {
    return this.streams.has(name) || (STREAMING_SYSCALLS as readonly string[]).includes(name);
  }

  async stream(name: string, args: unknown, caller: Caller): Promise<AsyncIterable<unknown>> {
    this.authorize(name, caller);
    const handler = this.streams.get(name);
    if (!handler) {
      if ((STREAMING_SYSCALLS as readonly string[]).includes(name)) throw errors.unavailable(`syscall ${name} needs a node agent, and none is running here`);
      throw errors.notFound(`streaming syscall ${name}`, { field: 'name' });
    }
    if (args === undefined || args === null) args = {};
    if (typeof args !== 'object' || Array.isArray(args)) throw errors.invalid('args', 'must be a JSON object');
    if (this.metrics) this.metrics.syscalls.child({ name, code: 'OK' }).inc();
    return handler(args, caller);
  }

  registerWatch(handler: WatchHandler): Disposable {
    this.watchHandler = handler;
    return toDisposable(() => { if (this.watchHandler === handler) this.watchHandler = undefined; });
  }

  /** Every syscall name with whether it is implemented yet. */
  names(): { name: string; implemented: boolean }[] {
    const all = new Set<string>([...this.handlers.keys(), ...this.streams.keys(), ...STREAMING_SYSCALLS, ...RESERVED_SYSCALLS]);
    return [...all].sort().map((name) => ({
      name,
      implemented: this.handlers.has(name) || this.streams.has(name) || (name === WATCH && !!this.watchHandler),
    }));
  }

  async dispatch(name: string, args: unknown, caller: Caller): Promise<unknown> {
    const started = process.hrtime.bigint();
    let code = 'OK';
    try {
      this.authorize(name, caller);
      const handler = this.handlers.get(name);
      if (!handler) {
        if ((RESERVED_SYSCALLS as readonly string[]).includes(name)) {
          throw errors.notImplemented(`syscall ${name} is reserved but nothing provides it yet`);
        }
        if (this.isStream(name)) throw errors.invalid('name', `${name} is a streaming syscall: use the stream API`);
        throw errors.notFound(`syscall ${name}`, { field: 'name' });
      }
      if (args === undefined || args === null) args = {};
      if (typeof args !== 'object' || Array.isArray(args)) throw errors.invalid('args', 'must be a JSON object');
      return await handler(args, caller);
    } catch (e) {
      const err = toKernelError(e);
      code = err.kind;
      throw err;
    } finally {
      if (this.metrics) {
        this.metrics.syscalls.child({ name, code }).inc();
        this.metrics.syscallSeconds.child({ name }).observe(Number(process.hrtime.bigint() - started) / 1e9);
      }
    }
  }

  watch(args: WatchArgs, onEvent: (e: WatchEvent) => void, onError: (err: Error) => void, caller: Caller): SyscallWatch {
    this.authorize(WATCH, caller);
    if (!this.watchHandler) throw errors.unavailable('no store is active yet, so nothing can be watched');
    if (typeof args !== 'object' || args === null) throw errors.invalid('args', 'must be a JSON object');
    return this.watchHandler(args, onEvent, onError, caller);
  }

  /** A handle limited to `allowed` patterns, as injected into a plugin. */
  handleFor(principal: string, allowed: readonly string[]): Syscalls {
    const caller: Caller = { principal, allowed };
    return {
      call: <N extends SyscallName>(name: N, args: SyscallArgs<N>) => this.dispatch(name, args, caller) as Promise<SyscallResult<N>>,
      watch: (args, onEvent, onError) => this.watch(args, onEvent, onError ?? (() => undefined), caller),
      stream: (name, args) => this.stream(name, args, caller) as never,
    };
  }

  private authorize(name: string, caller: Caller): void {
    if (caller.allowed && !syscallAllowed(caller.allowed, name)) {
      throw errors.forbidden(`${caller.principal} may not call ${name}: add "${name}" (or "${name.split('.')[0]}.*") to the syscalls of its manifest`);
    }
  }
}
