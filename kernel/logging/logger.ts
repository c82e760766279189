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

export function createKernelLogger(options: { dataDir: string; level: string; console: boolean }): KernelLogger {
  mkdirSync(join(options.dataDir, 'logs'), { recursive: true });
  const targets: pino.TransportTargetOptions[] = [
    { target: 'pino/file', level: options.level, options: { destination: join(options.dataDir, 'logs', 'kern.log'), mkdir: true } },
  ];
  if (options.console) {
    targets.push({ target: 'pino-pretty', level: options.level, options: { destination: 2, colorize: process.stderr.isTTY, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' } });
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
