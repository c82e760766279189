import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { KernelError } from '@kern/sdk';
import type { ConfigOverrides, KernelConfig } from '../../config/config';
import type { Kernel } from '../../kernel';
import { CliContext } from '../cli-context';

export interface UpOptions {
  dataDir?: string;
  port?: number;
  grpcPort?: number;
  host?: string;
  logLevel?: string;
  config?: string;
  nodeName?: string;
  socket?: string;
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('must be a port between 0 and 65535 (0 picks a free one)');
  return n;
}

/** Flags that map onto KernelConfig; the rest of the config comes from file and env. */
export function upFlags(o: UpOptions, kernHome?: string): ConfigOverrides {
  const flags: ConfigOverrides = {};
  if (kernHome) flags.kernHome = kernHome;
  if (o.dataDir) flags.dataDir = o.dataDir;
  if (o.logLevel) flags.logLevel = o.logLevel;
  if (o.nodeName) flags.agent = { nodeName: o.nodeName };
  if (o.host || o.port !== undefined || o.socket !== undefined) {
    flags.http = { ...(o.host ? { host: o.host } : {}), ...(o.port !== undefined ? { port: o.port } : {}), ...(o.socket !== undefined ? { socket: o.socket } : {}) };
  }
  if (o.host || o.grpcPort !== undefined) flags.grpc = { ...(o.host ? { host: o.host } : {}), ...(o.grpcPort !== undefined ? { port: o.grpcPort } : {}) };
  return flags;
}

export function readyLine(kernel: Pick<Kernel, 'endpoints'>, config: Pick<KernelConfig, 'dataDir' | 'kernHome' | 'writeClientConfig'>): string {
  const tokenAt = config.writeClientConfig ? join(config.kernHome, 'config.json') : join(config.dataDir, 'auth', 'admin.token');
  const socket = kernel.endpoints?.socket ? ` and ${kernel.endpoints.socket}` : '';
  return `Kern ready — API ${kernel.endpoints?.http}${socket}, gRPC ${kernel.endpoints?.grpc}, data ${config.dataDir} (admin token in ${tokenAt})`;
}

/** Boot failures a user can fix get a hint on how. */
export function explainBootError(e: unknown): unknown {
  const code = (e as { code?: unknown })?.code ?? (e as { cause?: { code?: unknown } })?.cause?.code;
  if (code === 'EADDRINUSE' || code === 'EACCES') {
    const what = code === 'EADDRINUSE' ? 'the port is taken (is another `kern up` running?)' : 'no permission to listen there';
    return new KernelError('Unavailable', `${(e as Error).message}: ${what}; pick another with --port / --grpc-port (0 picks a free one)`, {
      code: 'KERN_ERR_CLI_LISTEN',
      cause: e,
    });
  }
  return e;
}

/**
 * `kern up`: the whole single-machine kernel in the foreground. The first
 * SIGINT/SIGTERM shuts down in order and exits 0; a second one exits at once.
 */
export async function runUp(ctx: CliContext, o: UpOptions): Promise<number> {
  // Loaded here, not at the top: the other commands should not pay for the kernel.
  const { loadConfig } = await import('../../config/config');
  const { createKernelLogger } = await import('../../logging/logger');
  const { Kernel } = await import('../../kernel');

  const env = ctx.globals.kernHome ? { ...ctx.io.env, KERN_HOME: ctx.globals.kernHome } : ctx.io.env;
  const config = loadConfig({ configFile: o.config, flags: upFlags(o, ctx.globals.kernHome), env });
  const logger = createKernelLogger({ dataDir: config.dataDir, level: config.logLevel, console: true, consoleStacks: ctx.globals.debug || undefined });

  let kernel: Kernel | undefined;
  let stopping = false;
  let exitCode = 0;
  let release: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => { release = resolve; });
  const stop = async () => {
    try {
      await kernel?.shutdown();
    } catch (e) {
      ctx.reportError(e);
      exitCode = 1;
    }
    logger.info('kern stopped');
    release();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      ctx.warn(`${signal} again: exiting without a clean shutdown`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down (send the signal again to exit at once)');
    // A signal during boot waits for boot to end, then stops what it started.
    if (kernel) void stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    kernel = await Kernel.boot(config, logger);
  } catch (e) {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    logger.flush();
    throw explainBootError(e);
  }
  if (stopping) void stop();
  else ctx.out(readyLine(kernel, config) + '\n');
  await stopped;
  logger.flush();
  return exitCode;
}

export function upCommand(run: (fn: (ctx: CliContext) => Promise<number | void>, cmd: Command) => Promise<void>): Command {
  return new Command('up')
    .description('run Kern on this machine in the foreground: control plane, node agent and store in one process')
    .option('--data-dir <dir>', 'where state, logs and plugin data live (default: $KERN_HOME/data)')
    .option('--port <n>', 'HTTP API port (default: 7070; 0 picks a free one)', parsePort)
    .option('--grpc-port <n>', 'gRPC API port (default: 7071; 0 picks a free one)', parsePort)
    .option('--host <address>', 'address both APIs listen on (default: 127.0.0.1)')
    .option('--socket <path>', 'Unix socket the HTTP API also listens on, for local clients (default: <data-dir>/kern.sock; "" for none)')
    .option('--log-level <level>', 'trace, debug, info, warn or error (default: info)')
    .option('--config <file>', 'YAML config file (default: <data-dir>/config.yaml when present)')
    .option('--node-name <name>', 'name of this machine\'s node (default: the host name)')
    .action(async (opts: UpOptions, cmd: Command) => {
      await run((ctx) => runUp(ctx, opts), cmd);
      // Whatever a plugin left running must not keep a stopped kernel alive.
      process.exit();
    });
}
