import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KernelError } from '@kern/sdk';
import { badRequest, packageTooLarge } from './registry-status';

/** An upload on disk, not yet published. */
export interface ReceivedPackage {
  file: string;
  size: number;
}

/**
 * The package files of a registry: `<dataDir>/packages/<id>/<id>-<version>.kpkg`.
 * Uploads land in `<dataDir>/tmp` (same file system) and are renamed into
 * place only once verified and recorded, so a published blob is always whole
 * and a refused upload leaves nothing behind.
 */
export class PackageBlobs {
  readonly tmpDir: string;
  private readonly packagesDir: string;

  constructor(dataDir: string) {
    this.tmpDir = join(dataDir, 'tmp');
    this.packagesDir = join(dataDir, 'packages');
  }

  /** Creates the folders and removes uploads a crash left half-done. */
  async init(): Promise<void> {
    await mkdir(this.packagesDir, { recursive: true });
    await mkdir(this.tmpDir, { recursive: true });
    for (const name of await readdir(this.tmpDir)) await rm(join(this.tmpDir, name), { recursive: true, force: true });
  }

  pathOf(id: string, version: string): string {
    return join(this.packagesDir, id, `${id}-${version}.kpkg`);
  }

  /**
   * Streams a request body into a temporary file, refusing it (413) once it
   * passes `limit` bytes. On any failure the file is removed; the rest of
   * the body is drained so the client can still read the refusal.
   */
  async receive(req: IncomingMessage, limit: number): Promise<ReceivedPackage> {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) throw packageTooLarge(limit);
    const file = join(this.tmpDir, `upload-${randomUUID()}.kpkg`);
    let size = 0;
    let failure: KernelError | undefined;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > limit) done((failure ??= packageTooLarge(limit)));
        else done(null, chunk);
      },
    });
    const cut = () => {
      if (req.complete) return;
      failure ??= badRequest('body', 'the client stopped sending the package before its end: nothing was published');
      counter.destroy(failure);
    };
    req.once('close', cut);
    req.once('error', cut);
    req.pipe(counter);
    try {
      await pipeline(counter, createWriteStream(file, { flags: 'wx' }));
      // On disk before it can be recorded as published.
      const handle = await open(file, 'r');
      try { await handle.sync(); } finally { await handle.close(); }
      return { file, size };
    } catch (e) {
      req.unpipe(counter);
      if (!req.complete) req.resume();
      await rm(file, { force: true });
      throw failure ?? e;
    } finally {
      req.off('close', cut);
      req.off('error', cut);
    }
  }

  /** A fresh scratch folder for checking an upload; the caller removes it. */
  scratchDir(): Promise<string> {
    return mkdtemp(join(this.tmpDir, 'verify-'));
  }

  /** Moves a verified upload into place (synchronous: it runs inside the publish transaction). */
  commit(upload: ReceivedPackage, id: string, version: string): string {
    const to = this.pathOf(id, version);
    mkdirSync(join(this.packagesDir, id), { recursive: true });
    renameSync(upload.file, to);
    return to;
  }

  /** Undoes {@link commit} when the transaction around it failed. */
  discard(id: string, version: string): void {
    rmSync(this.pathOf(id, version), { force: true });
  }

  /** The package bytes and their size, or undefined when the file is gone. */
  async open(id: string, version: string): Promise<{ stream: Readable; size: number } | undefined> {
    const file = this.pathOf(id, version);
    const s = await stat(file).catch(() => undefined);
    if (!s?.isFile()) return undefined;
    return { stream: createReadStream(file), size: s.size };
  }
}
