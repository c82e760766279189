import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { Command } from 'commander';
import { isKernelError } from '@kern/sdk';
import { validateImageName } from '../../api/http/image-import';
import { usageError } from '../cli-error';
import { CliContext } from '../cli-context';

/** Uploads at least this big (or of unknown size) show progress. */
export const PROGRESS_MIN_BYTES = 8 * 1024 * 1024;
/** A redrawn progress line is redrawn at most this often. */
const REDRAW_MS = 250;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(1)} ${units[i]}`;
}

/**
 * Progress of an upload on stderr: one line redrawn in place on a
 * terminal; otherwise a line per quarter of a known size.
 */
export class UploadProgress {
  private lastDraw = 0;
  private lastQuarter = 0;
  private shown = false;

  constructor(private readonly ctx: CliContext, private readonly total: number | undefined, private readonly now: () => number = Date.now) {}

  get enabled(): boolean {
    return this.total === undefined || this.total >= PROGRESS_MIN_BYTES;
  }

  update(sent: number): void {
    if (!this.enabled) return;
    if (this.ctx.io.stderr.isTTY) {
      const t = this.now();
      if (t - this.lastDraw < REDRAW_MS && sent !== this.total) return;
      this.lastDraw = t;
      this.ctx.io.stderr.write(`\r${this.text(sent)}\u001b[K`);
      this.shown = true;
    } else if (this.total) {
      const quarter = Math.floor((sent / this.total) * 4);
      if (quarter > this.lastQuarter) {
        this.lastQuarter = quarter;
        this.ctx.io.stderr.write(`${this.text(sent)}\n`);
      }
    }
  }

  /** Ends the redrawn line. */
  finish(sent: number): void {
    if (!this.enabled || !this.ctx.io.stderr.isTTY || !this.shown) return;
    this.ctx.io.stderr.write(`\r${this.text(sent)}\u001b[K\n`);
  }

  private text(sent: number): string {
    if (this.total === undefined) return `sent ${formatBytes(sent)}`;
    const pct = this.total ? Math.floor((sent / this.total) * 100) : 100;
    // After the last byte the server still has to import: say so.
    return `sent ${formatBytes(sent)} of ${formatBytes(this.total)} (${pct}%)${sent >= this.total ? ', importing' : ''}`;
  }
}

async function openSource(ctx: CliContext, file: string): Promise<{ source: Readable; size?: number }> {
  if (file === '-') return { source: Readable.from(ctx.io.stdin ?? process.stdin) };
  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw usageError(`${file} is not a file: give a root filesystem tarball (tar -C ROOTFS -cf rootfs.tar .)`);
    size = s.size;
  } catch (e) {
    if (isKernelError(e)) throw e;
    throw usageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return { source: createReadStream(file), size };
}

/**
 * Uploads a root filesystem tarball (a file, or stdin for `-`) to
 * `POST /v1/images/import?name=NAME`, which streams it into the machine's
 * container runtime as image NAME.
 */
export async function runImageImport(ctx: CliContext, file: string, name: string): Promise<number> {
  try {
    validateImageName(name);
  } catch (e) {
    throw usageError(`${(e as Error).message.replace(/^name: /, '')}`);
  }
  const { source, size } = await openSource(ctx, file);
  const progress = new UploadProgress(ctx, size);
  let sent = 0;
  try {
    await ctx.client.upload('/v1/images/import', source, {
      query: { name },
      contentType: 'application/x-tar',
      contentLength: size,
      onProgress: (n) => {
        sent = n;
        progress.update(n);
      },
    });
  } finally {
    progress.finish(sent);
  }
  ctx.out(`image ${name} imported\n`);
  return 0;
}

export function imageCommand(run: (fn: (ctx: CliContext) => Promise<number | void>, cmd: Command) => Promise<void>): Command {
  const image = new Command('image').description('manage the images of this machine\'s container runtime');
  image
    .command('import')
    .description('make an image from a root filesystem tarball (no registry needed)')
    .argument('<file>', 'the tarball (plain or gzip), or - to read it from stdin')
    .argument('<name>', 'image name, NAME[:TAG] (tag default: latest)')
    .action(async (file: string, name: string, _opts: unknown, cmd: Command) => {
      await run((ctx) => runImageImport(ctx, file, name), cmd);
    });
  return image;
}
