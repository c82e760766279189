import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@kern/sdk';
import pino from 'pino';

/**
 * The kernel's logger: JSON lines to `<dataDir>/logs/kern.log`, and readable
 * lines on stderr (pino-pretty) when `console` is set.
 */
export type KernelLogger = Logger & {
  flush(): void;
  /**
   * Flushes and ends the log transport (its worker thread), so nothing is
   * written after this resolves; waits at most 2 s. Log nothing afterwards.
   */
  close(): Promise<void>;
};

export interface KernelLoggerOptions {
  dataDir: string;
  level: string;
  /** Readable lines on stderr too. */
  console: boolean;
  /** Stack traces on the console (`kern --debug up`); the file always has them. Default: at level debug or trace. */
  consoleStacks?: boolean;
}

export function createKernelLogger(options: KernelLoggerOptions): KernelLogger {
  mkdirSync(join(options.dataDir, 'logs'), { recursive: true });
  const targets: pino.TransportTargetOptions[] = [
    { target: 'pino/file', level: options.level, options: { destination: join(options.dataDir, 'logs', 'kern.log'), mkdir: true } },
  ];
  if (options.console) {
    // A user reads the console's message; a stack is for whoever debugs.
    const stacks = options.consoleStacks ?? (options.level === 'debug' || options.level === 'trace');
    const ignore = stacks ? 'pid,hostname' : 'pid,hostname,err.stack,error.stack';
    targets.push({ target: 'pino-pretty', level: options.level, options: { destination: 2, colorize: process.stderr.isTTY, ignore, translateTime: 'HH:MM:ss.l' } });
  }
  const transport = pino.transport({ targets });
  const logger = pino({ level: options.level, base: { pid: process.pid } }, transport);
  const close = () => new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 2000);
    transport.once('close', () => { clearTimeout(timer); resolve(); });
    logger.flush();
    transport.end();
  });
  return Object.assign(logger as unknown as Logger & { flush(): void }, { close });
}
