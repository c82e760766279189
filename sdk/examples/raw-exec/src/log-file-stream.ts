import { FileHandle, open } from 'node:fs/promises';
import { Readable } from 'node:stream';

export interface LogStreamOptions {
  /** Start this many lines before the end (absent: from the beginning). */
  tail?: number;
  /** Keep reading what is appended until `finished()` says the writer is done. */
  follow?: boolean;
  /** Asked whenever a follower has caught up; true ends the stream once the rest is read. */
  finished?: () => Promise<boolean>;
  /** How often a follower that has caught up looks for more, in ms. Default 100. */
  pollMs?: number;
}

const CHUNK = 64 * 1024;

/**
 * A container's log file as a stream of text: all of it, its last `tail`
 * lines, and with `follow` everything appended afterwards. Polling instead
 * of fs.watch: it works the same on every filesystem and when the writer is
 * another process. Destroying the stream closes the file.
 */
export async function openLogStream(file: string, options: LogStreamOptions = {}): Promise<Readable> {
  const handle = await open(file, 'r');
  try {
    const start = options.tail === undefined ? 0 : await offsetOfLastLines(handle, Math.max(0, Math.floor(options.tail)));
    return new LogFileStream(handle, start, options);
  } catch (e) {
    await handle.close();
    throw e;
  }
}

class LogFileStream extends Readable {
  private position: number;
  private reading = false;
  private timer?: NodeJS.Timeout;
  private wake?: () => void;

  constructor(private readonly handle: FileHandle, start: number, private readonly options: LogStreamOptions) {
    super({ encoding: 'utf8' });
    this.position = start;
  }

  override _read(): void {
    if (this.reading) return;
    this.reading = true;
    this.pump().then(
      () => { this.reading = false; },
      (e: Error) => { this.reading = false; this.destroy(e); },
    );
  }

  /** Reads until the consumer wants no more or the end is reached. */
  private async pump(): Promise<void> {
    for (;;) {
      if (this.destroyed) return;
      const { bytesRead, buffer } = await this.handle.read(Buffer.alloc(CHUNK), 0, CHUNK, this.position);
      if (this.destroyed) return;
      if (bytesRead > 0) {
        this.position += bytesRead;
        if (!this.push(buffer.subarray(0, bytesRead))) return;
        continue;
      }
      if (!this.options.follow) {
        this.push(null);
        return;
      }
      // Caught up. When the writer is done, one more read picks up its last bytes.
      if (await (this.options.finished?.() ?? Promise.resolve(false))) {
        const rest = await this.handle.read(Buffer.alloc(CHUNK), 0, CHUNK, this.position);
        if (rest.bytesRead > 0) {
          this.position += rest.bytesRead;
          this.push(rest.buffer.subarray(0, rest.bytesRead));
          continue;
        }
        if (!this.destroyed) this.push(null);
        return;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, this.options.pollMs ?? 100);
      });
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.timer);
    this.wake?.();
    this.handle.close().then(() => callback(error), () => callback(error));
  }
}

/**
 * The byte offset where the last `lines` lines start; a final line without
 * a newline counts as a line. Reads backwards, so a long log costs no more
 * than its tail.
 */
export async function offsetOfLastLines(handle: FileHandle, lines: number): Promise<number> {
  const size = (await handle.stat()).size;
  if (lines === 0) return size;
  let end = size;
  let found = 0;
  while (end > 0) {
    const start = Math.max(0, end - CHUNK);
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(end - start), 0, end - start, start);
    for (let i = bytesRead - 1; i >= 0; i--) {
      // The newline that ends the file closes the last line; it does not start one.
      if (buffer[i] !== 0x0a || start + i === size - 1) continue;
      found += 1;
      if (found === lines) return start + i + 1;
    }
    end = start;
  }
  return 0;
}
