import { chmodSync, rmSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import * as grpc from '@grpc/grpc-js';
import { ExecSession, RuntimeDriver } from '../drivers/runtime-driver';
import { errors } from '../errors';
import { Logger, silentLogger } from '../logger';
import { DriverKind } from '../plugin';
import { Disposable } from '../tokens';
import { DRIVER_METHODS, isProtocolKind, protocolMethods } from './driver-methods';
import {
  Call, CallResult, Chunk, DRIVER_ENV, DRIVER_PROTOCOL_VERSION, Empty, ExecInput, ExecOutput, ExecStart, HandshakeReply, HandshakeRequest, HealthReply,
  ImageChunk, InvokeReply, InvokeRequest, LOCAL_CHANNEL_OPTIONS, driverService,
} from './protocol';
import { toDriverStatus } from './wire-errors';
import { CallStreams, RunCall } from './call-stream-server';

export interface ServeDriverOptions {
  kind: DriverKind;
  /** The name the kernel registers the driver under; must match the manifest's `kern.provides`. */
  name: string;
  /** The driver's own version, for the handshake. Default "0.0.0". */
  version?: string;
  /** The driver: an object with the methods of `kind`'s sdk interface (a RuntimeDriver for "runtime"). */
  driver: object;
  /** Default: the `KERN_DRIVER_SOCKET` environment variable the kernel sets. */
  socketPath?: string;
  /** Kind-specific flags for the handshake. Default for a runtime: `info().capabilities` when it answers. */
  capabilities?: Record<string, unknown>;
  /** Answers the kernel's health checks: why the driver cannot serve, or undefined when it can. Default: always serving. */
  health?: () => Promise<string | undefined> | string | undefined;
  /** Runs once when the server stops (SIGTERM, SIGINT, parent gone, close()): release connections. */
  onShutdown?: () => void | Promise<void>;
  /** Stop and exit the process on SIGTERM and SIGINT. Default true. */
  handleSignals?: boolean;
  /** Stop and exit when the parent process (the kernel) goes away. Default true. */
  exitWithParent?: boolean;
  logger?: Logger;
}

export interface DriverServer {
  readonly socketPath: string;
  /** Stops serving (calls in flight get a moment to finish) and runs `onShutdown`. */
  close(): Promise<void>;
}

/** How long calls in flight get once the server stops. */
const SHUTDOWN_GRACE_MS = 2000;

/**
 * Serves `driver` to the kernel as an out-of-process driver: binds
 * `kern.driver.v1.Driver` (proto/kern/v1/driver.proto) on a unix socket
 * (mode 0600), answers the handshake with `kind` and `name`, dispatches
 * `Invoke` and `Calls` to the methods of `kind`'s sdk interface only, and streams logs,
 * runtime events, exec and image imports. Errors thrown by the driver reach
 * the kernel with their kind. The process exits cleanly on SIGTERM.
 *
 * ```js
 * // main.js, started by the kernel through the manifest's kern.command
 * const { serveDriver } = require('@kern/sdk');
 * const config = JSON.parse(process.env.KERN_PLUGIN_CONFIG || '{}');
 * serveDriver({ kind: 'runtime', name: 'my-runtime', driver: new MyRuntime(config) });
 * ```
 */
export async function serveDriver(options: ServeDriverOptions): Promise<DriverServer> {
  const socketPath = options.socketPath ?? process.env[DRIVER_ENV.driverSocket];
  if (!socketPath) {
    throw errors.invalid('socketPath', `no socket to serve on: pass socketPath or set ${DRIVER_ENV.driverSocket} (the kernel sets it for drivers it starts)`);
  }
  if (!isProtocolKind(options.kind)) {
    throw errors.invalid('kind', `"${options.kind}" is not a driver kind (store, runtime, network, volume, objectstore)`);
  }
  const logger = options.logger ?? silentLogger;
  const server = new grpc.Server(LOCAL_CHANNEL_OPTIONS);
  const runUnary = unaryMethodRunner(options);
  const callStreams = new CallStreams(runUnary);
  server.addService(driverService().service, driverHandlers(options, runUnary, callStreams));

  rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => {
      if (err) reject(errors.unavailable(`cannot listen on ${socketPath}: ${err.message}`, { cause: err }));
      else resolve();
    });
  });
  chmodSync(socketPath, 0o600);
  logger.info({ socketPath, kind: options.kind, name: options.name }, 'driver serving');

  let closing: Promise<void> | undefined;
  const cleanups: (() => void)[] = [];
  const close = (): Promise<void> => {
    closing ??= (async () => {
      cleanups.forEach((undo) => undo());
      callStreams.drain();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => { server.forceShutdown(); resolve(); }, SHUTDOWN_GRACE_MS);
        server.tryShutdown(() => { clearTimeout(force); resolve(); });
      });
      rmSync(socketPath, { force: true });
      await options.onShutdown?.();
    })();
    return closing;
  };
  const exit = (why: string) => {
    logger.info({ why }, 'driver stopping');
    close().then(() => process.exit(0), (e) => {
      logger.error({ err: (e as Error).message }, 'driver did not stop cleanly');
      process.exit(1);
    });
  };
  if (options.handleSignals ?? true) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const onSignal = () => exit(signal);
      process.once(signal, onSignal);
      cleanups.push(() => process.off(signal, onSignal));
    }
  }
  if (options.exitWithParent ?? true) {
    // An orphaned driver would hold on to what it manages with nobody to talk to.
    const parent = process.ppid;
    const timer = setInterval(() => { if (process.ppid !== parent) exit('the parent process went away'); }, 1000);
    timer.unref();
    cleanups.push(() => clearInterval(timer));
  }
  return { socketPath, close };
}

type Method = (...args: unknown[]) => unknown;

/** The driver's method `method`, if `allowed` (what the rpc carries) has it and the driver implements it. */
function methodOf(options: ServeDriverOptions, method: string, allowed: readonly string[]): Method {
  const { kind, name, driver } = options;
  if (!allowed.includes(method)) {
    throw errors.invalid('method', `"${method}" is not a method of the ${kind} driver interface that this rpc carries (${allowed.join(', ') || 'none'})`);
  }
  const fn = (driver as Record<string, unknown>)[method];
  if (typeof fn !== 'function') throw errors.notImplemented(`${kind} driver "${name}" does not implement ${method}`);
  return (fn as Method).bind(driver);
}

/** Runs a request/response method as `Invoke` and `Calls` carry it. */
function unaryMethodRunner(options: ServeDriverOptions): RunCall {
  const allowed = DRIVER_METHODS[options.kind].unary;
  return async (method, argsJson) => methodOf(options, method, allowed)(...parseArgs(argsJson));
}

function driverHandlers(options: ServeDriverOptions, runUnary: RunCall, callStreams: CallStreams): grpc.UntypedServiceImplementation {
  const { kind, name, driver } = options;
  const methods = DRIVER_METHODS[kind];
  const implemented = () => protocolMethods(kind).filter((m) => typeof (driver as Record<string, unknown>)[m] === 'function');

  return {
    Handshake: (call: grpc.ServerUnaryCall<HandshakeRequest, HandshakeReply>, callback: grpc.sendUnaryData<HandshakeReply>) => {
      (async () => {
        const wanted = call.request.protocolVersion;
        if (wanted !== DRIVER_PROTOCOL_VERSION) {
          throw errors.failedPrecondition(`${kind} driver "${name}" speaks driver protocol version ${DRIVER_PROTOCOL_VERSION}, but the kernel asked for version ${wanted}: use a driver built for protocol ${wanted}`,
            { code: 'KERN_ERR_DRIVER_PROTOCOL_MISMATCH' });
        }
        const flags = options.capabilities ?? await defaultCapabilities(kind, driver);
        return {
          protocolVersion: DRIVER_PROTOCOL_VERSION, kind, name, driverVersion: options.version ?? '0.0.0',
          capabilitiesJson: JSON.stringify({ ...flags, methods: implemented() }),
        };
      })().then((reply) => callback(null, reply), (e) => callback(toDriverStatus(e)));
    },

    Health: (_call: grpc.ServerUnaryCall<Empty, HealthReply>, callback: grpc.sendUnaryData<HealthReply>) => {
      Promise.resolve().then(() => options.health?.()).then(
        (problem) => callback(null, problem ? { status: 'NOT_SERVING', message: problem } : { status: 'SERVING', message: '' }),
        (e) => callback(null, { status: 'NOT_SERVING', message: (e as Error)?.message ?? String(e) }),
      );
    },

    Invoke: (call: grpc.ServerUnaryCall<InvokeRequest, InvokeReply>, callback: grpc.sendUnaryData<InvokeReply>) => {
      runUnary(call.request.method, call.request.argsJson)
        .then((result) => callback(null, { resultJson: JSON.stringify(result ?? null) }), (e) => callback(toDriverStatus(e)));
    },

    Calls: (call: grpc.ServerDuplexStream<Call, CallResult>) => callStreams.serve(call),

    OpenStream: (call: grpc.ServerWritableStream<InvokeRequest, Chunk>) => {
      (async () => {
        const fn = methodOf(options, call.request.method, methods.streams);
        const args = parseArgs(call.request.argsJson);
        if (call.request.method === 'watchEvents') streamEvents(call, fn);
        else await streamReadable(call, (await fn(...args)) as Readable);
      })().catch((e) => fail(call, e));
    },

    Exec: (call: grpc.ServerDuplexStream<ExecInput, ExecOutput>) => {
      try {
        serveExec(call, methodOf(options, 'exec', methods.special) as RuntimeDriver['exec']);
      } catch (e) {
        fail(call, e);
      }
    },

    ImportImage: (call: grpc.ServerReadableStream<ImageChunk, Empty>, callback: grpc.sendUnaryData<Empty>) => {
      try {
        serveImport(call, callback, methodOf(options, 'importImage', methods.special) as NonNullable<RuntimeDriver['importImage']>);
      } catch (e) {
        callback(toDriverStatus(e));
      }
    },
  };
}

/** How long the handshake waits for a runtime's `info()` before answering without its flags. */
const INFO_WAIT_MS = 2000;

async function defaultCapabilities(kind: DriverKind, driver: object): Promise<Record<string, unknown>> {
  if (kind !== 'runtime') return {};
  // A backend that is down or slow now must not fail the handshake; info() reports it later.
  let timer: NodeJS.Timeout | undefined;
  const flags = (driver as RuntimeDriver).info().then((info) => ({ ...info.capabilities }), () => ({}));
  const late = new Promise<Record<string, unknown>>((resolve) => { timer = setTimeout(() => resolve({}), INFO_WAIT_MS); });
  return Promise.race([flags, late]).finally(() => clearTimeout(timer));
}

function parseArgs(json: string): unknown[] {
  if (!json || !json.trim()) return [];
  let args: unknown;
  try {
    args = JSON.parse(json);
  } catch (e) {
    throw errors.invalid('args_json', `malformed JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(args)) throw errors.invalid('args_json', 'must be a JSON array of the positional arguments');
  return args;
}

/** Ends a server stream with the error's status. */
function fail(call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>, e: unknown): void {
  if (!call.cancelled) call.emit('error', toDriverStatus(e));
}

async function streamReadable(call: grpc.ServerWritableStream<InvokeRequest, Chunk>, source: Readable): Promise<void> {
  call.on('cancelled', () => source.destroy());
  call.write({ opened: true });
  source.on('data', (d: Buffer | string) => {
    if (!call.write({ data: Buffer.from(d) })) {
      source.pause();
      call.once('drain', () => source.resume());
    }
  });
  source.once('error', (e) => fail(call, e));
  source.once('end', () => { if (!call.cancelled) call.end(); });
}

function streamEvents(call: grpc.ServerWritableStream<InvokeRequest, Chunk>, watch: Method): void {
  call.write({ opened: true });
  const subscription = watch((event: unknown) => {
    if (!call.cancelled) call.write({ json: JSON.stringify(event) });
  }) as Disposable;
  call.on('cancelled', () => { void subscription.dispose(); });
}

function serveExec(call: grpc.ServerDuplexStream<ExecInput, ExecOutput>, exec: RuntimeDriver['exec']): void {
  let stdin: PassThrough | undefined;
  let session: ExecSession | undefined;
  let begun = false;
  const send = (m: ExecOutput) => { if (!call.cancelled) call.write(m); };
  const begin = async (start: ExecStart) => {
    if (start.stdin) stdin = new PassThrough();
    const env = start.env && Object.keys(start.env).length > 0 ? start.env : undefined;
    session = await exec(start.containerId, start.command, { ...(stdin ? { stdin } : {}), tty: start.tty, ...(env ? { env } : {}) });
    send({ started: true });
    const { stdout, stderr } = session;
    stdout.on('data', (d: Buffer | string) => send({ stdout: Buffer.from(d) }));
    stderr.on('data', (d: Buffer | string) => send({ stderr: Buffer.from(d) }));
    // The exit code is the last message: after every byte of output.
    const [code] = await Promise.all([session.exitCode, finished(stdout).catch(() => undefined), finished(stderr).catch(() => undefined)]);
    send({ exitCode: code });
    if (!call.cancelled) call.end();
  };
  call.on('data', (m: ExecInput) => {
    if (m.input === 'start' && 'start' in m && !begun) {
      begun = true;
      begin(m.start).catch((e) => fail(call, e));
    } else if (m.input === 'stdin' && 'stdin' in m && stdin && !stdin.write(m.stdin)) {
      call.pause();
      stdin.once('drain', () => call.resume());
    }
  });
  // The kernel half-closes at the end of the input.
  call.on('end', () => stdin?.end());
  call.on('cancelled', () => {
    stdin?.destroy();
    session?.stdout.destroy();
    session?.stderr.destroy();
  });
}

function serveImport(call: grpc.ServerReadableStream<ImageChunk, Empty>, callback: grpc.sendUnaryData<Empty>, importImage: NonNullable<RuntimeDriver['importImage']>): void {
  let tar: PassThrough | undefined;
  let replied = false;
  const reply = (e?: unknown) => {
    if (replied) return;
    replied = true;
    if (e === undefined) callback(null, {});
    else callback(toDriverStatus(e));
  };
  call.on('data', (m: ImageChunk) => {
    if (m.part === 'name' && 'name' in m && !tar) {
      const rootfs = new PassThrough();
      tar = rootfs;
      Promise.resolve().then(() => importImage(m.name, rootfs)).then(() => reply(), (e) => reply(e));
    } else if (m.part === 'data' && 'data' in m && tar && !tar.write(m.data)) {
      call.pause();
      tar.once('drain', () => call.resume());
    }
  });
  call.on('end', () => {
    if (tar) tar.end();
    else reply(errors.invalid('name', 'the first ImageChunk must carry the image name'));
  });
  // A cut upload: the driver must abandon the import.
  call.on('cancelled', () => tar?.destroy(new Error('the image upload was cut off')));
}
