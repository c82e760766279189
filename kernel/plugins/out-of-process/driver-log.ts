import { WriteStream, createWriteStream, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** Past this size the log is moved to `<file>.1` when a driver is supervised anew. */
const ROTATE_AT_BYTES = 10 * 1024 * 1024;

/**
 * The log file of one out-of-process driver (`driver.log` in its data dir):
 * every line it writes to stdout or stderr, and what the supervisor did,
 * kept across restarts so a crash can be read after the fact.
 */
export class DriverLog {
  private readonly out: WriteStream;

  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
    try {
      if (statSync(file).size > ROTATE_AT_BYTES) renameSync(file, `${file}.1`);
    } catch {
      // no log yet
    }
    this.out = createWriteStream(file, { flags: 'a', mode: 0o600 });
    this.out.on('error', () => undefined); // a full disk must not take the kernel down
  }

  /** One line from the driver (`stdout`, `stderr`) or about it (`kern`). */
  write(source: 'stdout' | 'stderr' | 'kern', line: string): void {
    if (!this.out.writableEnded) this.out.write(`${new Date().toISOString()} ${source} ${line}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.out.end(resolve));
  }
}
