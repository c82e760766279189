import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@kern/sdk';
import pino from 'pino';

/**
 * The kernel's logger: JSON lines to `<dataDir>/logs/kern.log`, and readable
 * lines on stderr (pino-pretty) when `console` is set.
 */
export function createKernelLogger(options: { dataDir: string; level: string; console: boolean }): Logger & { flush(): void } {
  mkdirSync(join(options.dataDir, 'logs'), { recursive: true });
  const targets: pino.TransportTargetOptions[] = [
    { target: 'pino/file', level: options.level, options: { destination: join(options.dataDir, 'logs', 'kern.log'), mkdir: true } },
  ];
  if (options.console) {
    targets.push({ target: 'pino-pretty', level: options.level, options: { destination: 2, colorize: process.stderr.isTTY, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' } });
  }
  const logger = pino({ level: options.level, base: { pid: process.pid } }, pino.transport({ targets }));
  return logger as unknown as Logger & { flush(): void };
}
