import { PassThrough, Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import {
  ContainerInfo, ContainerSpec, ExecOptions, ExecSession, LogOptions, RuntimeDriver, RuntimeEvent, RuntimeInfo, SandboxSpec,
  SandboxStatus,
} from '../drivers/runtime-driver';
import { errors } from '../errors';
import { Logger, silentLogger } from '../logger';
import { Disposable, toDisposable } from '../tokens';
import { DriverEndpoint, callError, invokeMethod, trimTrailingUndefined } from './driver-endpoint';
import { Chunk, ExecInput, ExecOutput } from './protocol';

export interface RuntimeDriverProxyOptions {
  /**
   * The methods the driver implements (the handshake's
   * `capabilities.methods`): optional ones it lacks (`watchEvents`,
   * `importImage`) are left off the proxy, as on an in-process driver.
   * Default: all.
   */
  methods?: readonly string[];
  /** Wait before `watchEvents` subscribes again after its stream broke, in ms. Default 1000. */
  watchRetryMs?: number;
  /** Where problems of event delivery go. Default: nowhere. */
  logger?: Logger;
}

/**
 * A {@link RuntimeDriver} whose driver runs in another process, reached
 * through `kern.driver.v1.Driver` (proto/kern/v1/driver.proto). Errors keep
 * the driver's kinds; a driver that cannot be reached gives Unavailable (the
 * endpoint words it). `watchEvents` subscribes again after the driver came
 * back, so a watcher outlives driver restarts (events while it was away are
 * lost: resync after a gap).
 */
export class RuntimeDriverProxy implements RuntimeDriver {
  readonly watchEvents?: (onEvent: (e: RuntimeEvent) => void) => Disposable;
  readonly importImage?: (name: string, rootfsTar: Readable) => Promise<void>;
  private readonly watchRetryMs: number;
  private readonly logger: Logger;

  constructor(private readonly endpoint: DriverEndpoint, readonly name: string, options: RuntimeDriverProxyOptions = {}) {
    this.watchRetryMs = options.watchRetryMs ?? 1000;
    this.logger = options.logger ?? silentLogger;
    const has = (method: string) => !options.methods || options.methods.includes(method);
    if (has('watchEvents')) this.watchEvents = (onEvent) => this.subscribe(onEvent);
    if (has('importImage')) this.importImage = (image, tar) => this.upload(image, tar);
  }

  info(): Promise<RuntimeInfo> {
    return this.invoke('info');
  }

  ensureImage(image: string): Promise<void> {
    return this.invoke('ensureImage', image);
  }

  createSandbox(spec: SandboxSpec): Promise<SandboxStatus> {
    return this.invoke('createSandbox', spec);
  }

  removeSandbox(id: string): Promise<void> {
    return this.invoke('removeSandbox', id);
  }

  listSandboxes(labels?: Record<string, string>): Promise<SandboxStatus[]> {
    return this.invoke('listSandboxes', labels);
  }

  createContainer(sandboxId: string, spec: ContainerSpec): Promise<string> {
    return this.invoke('createContainer', sandboxId, spec);
  }

  startContainer(id: string): Promise<void> {
    return this.invoke('startContainer', id);
  }

  stopContainer(id: string, graceSeconds: number): Promise<void> {
    return this.invoke('stopContainer', id, graceSeconds);
  }

  removeContainer(id: string): Promise<void> {
    return this.invoke('removeContainer', id);
  }

  inspectContainer(id: string): Promise<ContainerInfo> {
    return this.invoke('inspectContainer', id);
  }

  listContainers(labels?: Record<string, string>): Promise<ContainerInfo[]> {
    return this.invoke('listContainers', labels);
  }

  /** Log text; destroying the stream cancels the call, which stops a follow on the driver's side. */
  async logs(id: string, options?: LogOptions): Promise<Readable> {
    const out = new PassThrough();
    out.setEncoding('utf8');
    let closed = false;
    const call = await this.openStream('logs', [id, options], {
      data: (m, c) => { if (m.data?.length && !out.write(m.data)) c.pause(); },
      end: () => out.end(),
      error: (e) => { if (!closed) out.destroy(e); },
    }).catch((e) => {
      out.destroy();
      throw e;
    });
    out.on('drain', () => call.resume());
    out.once('close', () => {
      closed = true;
      call.cancel();
    });
    return out;
  }

  async exec(id: string, command: string[], options: ExecOptions = {}): Promise<ExecSession> {
    const call = this.endpoint.client().Exec();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let settleExit!: (code: number | Error) => void;
    const exitCode = new Promise<number>((resolve, reject) => {
      settleExit = (v) => (typeof v === 'number' ? resolve(v) : reject(v));
    });
    exitCode.catch(() => undefined); // the caller may never await it
    const endOutputs = () => {
      if (!stdout.writableEnded) stdout.end();
      if (!stderr.writableEnded) stderr.end();
    };
    return new Promise<ExecSession>((resolve, reject) => {
      let started = false;
      let exited = false;
      call.on('data', (m: ExecOutput) => {
        // Output is not held back when nobody reads it, as with the in-process drivers.
        if ('stdout' in m && m.output === 'stdout') stdout.write(m.stdout);
        else if ('stderr' in m && m.output === 'stderr') stderr.write(m.stderr);
        else if ('exitCode' in m && m.output === 'exitCode') {
          exited = true;
          endOutputs();
          settleExit(m.exitCode);
        } else if (m.output === 'started' && !started) {
          started = true;
          if (options.stdin) this.forwardStdin(options.stdin, call);
          resolve({ stdout, stderr, exitCode });
        }
      });
      call.once('error', (e) => {
        const err = callError(this.endpoint, e);
        endOutputs();
        if (!started) reject(err);
        else if (!exited) settleExit(err);
      });
      call.once('end', () => {
        endOutputs();
        const err = errors.internal(`${this.endpoint.description} ended an exec without ${started ? 'an exit code' : 'starting it'}`);
        if (!started) reject(err);
        else if (!exited) settleExit(err);
      });
      call.write({ start: { containerId: id, command, tty: options.tty ?? false, env: options.env ?? {}, stdin: options.stdin !== undefined } });
      if (!options.stdin) call.end();
    });
  }

  private forwardStdin(input: Readable, call: grpc.ClientDuplexStream<ExecInput, ExecOutput>): void {
    input.on('data', (chunk: Buffer | string) => {
      if (!call.write({ stdin: Buffer.from(chunk) })) {
        input.pause();
        call.once('drain', () => input.resume());
      }
    });
    // Half-closing is the end of the input: the driver closes the command's stdin.
    input.once('end', () => call.end());
    input.once('error', () => call.end());
  }

  private subscribe(onEvent: (e: RuntimeEvent) => void): Disposable {
    let stopped = false;
    let current: grpc.ClientReadableStream<Chunk> | undefined;
    let retry: NodeJS.Timeout | undefined;
    const later = () => {
      if (stopped) return;
      retry = setTimeout(connect, this.watchRetryMs);
      retry.unref();
    };
    const connect = () => {
      let call: grpc.ClientReadableStream<Chunk> | undefined;
      const broken = () => {
        if (current !== call) return;
        current = undefined;
        later();
      };
      this.openStream('watchEvents', [], {
        data: (m) => {
          if (!m.json) return;
          try {
            onEvent(JSON.parse(m.json) as RuntimeEvent);
          } catch (e) {
            // One bad event or listener must not end the subscription.
            this.logger.warn({ err: (e as Error).message }, 'runtime event not delivered');
          }
        },
        end: broken,
        error: broken,
      }).then((opened) => {
        call = opened;
        if (stopped) opened.cancel();
        else current = opened;
      }, (e) => {
        this.logger.debug({ err: (e as Error).message }, 'runtime events unavailable; subscribing again later');
        later();
      });
    };
    connect();
    return toDisposable(() => {
      stopped = true;
      clearTimeout(retry);
      const call = current;
      current = undefined;
      call?.cancel();
    });
  }

  private upload(image: string, tar: Readable): Promise<void> {
    return new Promise((resolve, reject) => {
      let sourceError: Error | undefined;
      const onData = (chunk: Buffer | string) => {
        if (!call.write({ data: Buffer.from(chunk) })) {
          tar.pause();
          call.once('drain', () => tar.resume());
        }
      };
      const onEnd = () => call.end();
      // A cut upload cancels the call: the driver then abandons the import.
      const onError = (e: Error) => {
        sourceError = e;
        call.cancel();
      };
      const call = this.endpoint.client().ImportImage((err) => {
        tar.off('data', onData);
        tar.off('end', onEnd);
        tar.off('error', onError);
        if (sourceError) reject(sourceError);
        else if (err) reject(callError(this.endpoint, err));
        else resolve();
      });
      call.write({ name: image });
      tar.on('data', onData);
      tar.once('end', onEnd);
      tar.once('error', onError);
    });
  }

  private invoke<T>(method: string, ...args: unknown[]): Promise<T> {
    return invokeMethod(this.endpoint, method, args) as Promise<T>;
  }

  /**
   * Opens an `OpenStream` call and resolves once the driver sent `opened`
   * (rejects with its refusal). The handlers are in place from the start,
   * so nothing after `opened` is missed; they see errors as KernelErrors.
   */
  private openStream(method: string, args: unknown[], handlers: StreamHandlers): Promise<grpc.ClientReadableStream<Chunk>> {
    return new Promise((resolve, reject) => {
      const call = this.endpoint.client().OpenStream({ method, argsJson: JSON.stringify(trimTrailingUndefined(args)) });
      let opened = false;
      call.on('data', (m: Chunk) => {
        if (opened) {
          handlers.data(m, call);
        } else if (m.opened) {
          opened = true;
          resolve(call);
        } else {
          call.cancel();
          reject(errors.internal(`${this.endpoint.description} broke the driver protocol: the first message of an OpenStream ("${method}") must have opened = true`));
        }
      });
      call.on('error', (e) => {
        const err = callError(this.endpoint, e);
        if (opened) handlers.error(err);
        else reject(err);
      });
      call.on('end', () => {
        if (opened) handlers.end();
        else reject(errors.internal(`${this.endpoint.description} ended the "${method}" stream before opening it`));
      });
    });
  }
}

interface StreamHandlers {
  data(m: Chunk, call: grpc.ClientReadableStream<Chunk>): void;
  end(): void;
  error(e: Error): void;
}
