import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { errors, isKernelError } from '@kern/sdk';

const execFileAsync = promisify(execFile);

/** Where Debian's busybox-static puts its binary. */
export const DEFAULT_BUSYBOX_PATH = '/bin/busybox';

/**
 * Command of the pause image: a shell that holds the sandbox's namespaces
 * and exits at once on SIGTERM/SIGINT. A bare `sleep` as PID 1 would ignore
 * SIGTERM (PID 1 has no default signal actions) and every sandbox stop would
 * cost the whole grace period.
 */
export const PAUSE_COMMAND = ['/bin/sh', '-c', "trap 'exit 0' TERM INT; sleep 2147483647 & wait"];

/** Images the driver can build by itself, from the host's busybox-static. */
export function isLocallyBuildable(image: string): boolean {
  return /^kern\/(pause|busybox):[\w][\w.-]{0,127}$/.test(image);
}

export interface LocalImageOptions {
  /** Path of a statically linked busybox; default `/bin/busybox`. */
  busyboxPath?: string;
}

/**
 * Builds `kern/pause:<tag>` or `kern/busybox:<tag>` from the host's
 * busybox-static: a root filesystem with `/bin/busybox`, a symlink per
 * applet, `/etc/passwd`, `/tmp`, made in memory as a tar and imported
 * (`POST /images/create?fromSrc=-`). Nothing is downloaded.
 */
export async function buildLocalImage(docker: Docker, image: string, options: LocalImageOptions = {}): Promise<void> {
  if (!isLocallyBuildable(image)) {
    throw errors.invalid('image', `${image} is not an image the docker runtime can build (kern/pause:* or kern/busybox:*)`);
  }
  const busyboxPath = options.busyboxPath ?? DEFAULT_BUSYBOX_PATH;
  const tarball = await busyboxRootfsTar(busyboxPath);
  const pause = image.startsWith('kern/pause:');
  const changes = [
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    `CMD ${JSON.stringify(pause ? PAUSE_COMMAND : ['/bin/sh'])}`,
  ];
  await importRootfsImage(docker, tarball, image, { changes });
}

/**
 * Imports a root filesystem tarball as image `imageName` (`repo:tag`, tag
 * defaults to `latest`), like `docker import`. `tarball` is a path, a
 * Buffer or a stream of the (optionally gzip-compressed) tar. `changes` are
 * Dockerfile instructions applied on import (`CMD [...]`, `ENV K=V`).
 * Used by `kern image import`.
 */
export async function importRootfsImage(
  docker: Docker,
  tarball: string | Buffer | NodeJS.ReadableStream,
  imageName: string,
  options: { changes?: string[] } = {},
): Promise<void> {
  const { repo, tag } = splitImageName(imageName);
  let progress: NodeJS.ReadableStream;
  try {
    progress = await (docker.importImage as unknown as (
      f: string | Buffer | NodeJS.ReadableStream, o: Record<string, unknown>) => Promise<NodeJS.ReadableStream>)(
      tarball, { repo, tag, ...(options.changes?.length ? { changes: options.changes } : {}) });
  } catch (e) {
    if (isKernelError(e)) throw e;
    const err = e as { statusCode?: number; code?: string; json?: { message?: string }; message?: string };
    const message = err.json?.message ?? err.message ?? String(e);
    if (err.code === 'ENOENT' && typeof tarball === 'string' && !existsSync(tarball)) {
      throw errors.notFound(`tarball ${tarball}`, { field: 'tarball', cause: e });
    }
    if (err.statusCode === 500 && /tar|archive|gzip/i.test(message)) {
      throw errors.invalid('tarball', `not a root filesystem tar archive (${message})`, { cause: e });
    }
    if (err.statusCode === 400) throw errors.invalid('imageName', message, { cause: e });
    throw errors.unavailable(`importing image ${imageName} failed: ${message}`, { cause: e });
  }
  // The reply is a JSON progress stream; an error arrives as {error} in it.
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(progress, (err: Error | null, output: Array<{ error?: string }>) => {
      const failed = err?.message ?? output?.find((o) => o.error)?.error;
      if (failed) reject(errors.invalid('tarball', `importing image ${imageName} failed: ${failed}`));
      else resolve();
    });
  });
}

/** `repo[:tag]` → parts; the tag is after the last colon that follows the last slash. */
export function splitImageName(image: string): { repo: string; tag: string } {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon > slash) return { repo: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { repo: image, tag: 'latest' };
}

/** The rootfs tar of a busybox image, in memory (about 2 MB). */
export async function busyboxRootfsTar(busyboxPath: string = DEFAULT_BUSYBOX_PATH): Promise<Buffer> {
  let binary: Buffer;
  let list: string;
  try {
    binary = await readFile(busyboxPath);
    list = (await execFileAsync(busyboxPath, ['--list-full'])).stdout;
  } catch (e) {
    throw errors.failedPrecondition(
      `cannot read busybox at ${busyboxPath} (install Debian's busybox-static): ${(e as Error).message}`, { cause: e });
  }
  const tar = new TarWriter();
  for (const dir of ['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'etc', 'root', 'var', 'dev', 'proc', 'sys']) {
    tar.directory(dir, 0o755);
  }
  tar.directory('tmp', 0o1777);
  tar.file('bin/busybox', binary, 0o755);
  tar.file('etc/passwd', Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n'), 0o644);
  tar.file('etc/group', Buffer.from('root:x:0:\nnobody:x:65534:\n'), 0o644);
  for (const applet of list.split('\n').map((l) => l.trim()).filter(Boolean)) {
    if (applet === 'bin/busybox') continue;
    tar.symlink(applet, '/bin/busybox');
  }
  return tar.finish();
}

/** Just enough of ustar to write directories, regular files and symlinks. */
class TarWriter {
  private readonly chunks: Buffer[] = [];
  private readonly mtime = Math.floor(Date.now() / 1000);

  directory(path: string, mode: number): void {
    this.chunks.push(this.header(path.endsWith('/') ? path : path + '/', mode, 0, '5', ''));
  }

  file(path: string, content: Buffer, mode: number): void {
    this.chunks.push(this.header(path, mode, content.length, '0', ''), content);
    const pad = (512 - (content.length % 512)) % 512;
    if (pad) this.chunks.push(Buffer.alloc(pad));
  }

  symlink(path: string, target: string): void {
    this.chunks.push(this.header(path, 0o777, 0, '2', target));
  }

  finish(): Buffer {
    return Buffer.concat([...this.chunks, Buffer.alloc(1024)]);
  }

  private header(path: string, mode: number, size: number, type: string, linkname: string): Buffer {
    if (Buffer.byteLength(path) > 100 || Buffer.byteLength(linkname) > 100) {
      throw errors.internal(`tar entry name too long: ${path}`);
    }
    const h = Buffer.alloc(512);
    const octal = (value: number, offset: number, width: number) =>
      h.write(value.toString(8).padStart(width - 1, '0') + '\0', offset, width, 'ascii');
    h.write(path, 0, 100, 'utf8');
    octal(mode, 100, 8);
    octal(0, 108, 8); // uid
    octal(0, 116, 8); // gid
    octal(size, 124, 12);
    octal(this.mtime, 136, 12);
    h.write('        ', 148, 8, 'ascii'); // checksum placeholder: spaces
    h.write(type, 156, 1, 'ascii');
    h.write(linkname, 157, 100, 'utf8');
    h.write('ustar\0', 257, 6, 'ascii');
    h.write('00', 263, 2, 'ascii');
    h.write('root', 265, 32, 'ascii');
    h.write('root', 297, 32, 'ascii');
    let sum = 0;
    for (const byte of h) sum += byte;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
    return h;
  }
}
