import { Transform } from 'node:stream';
import type Koa from 'koa';
import { KernelError, errors } from '@kern/sdk';
import { ApiContext } from '../api-context';
import { badRequest, httpError } from './status';

/**
 * `POST /v1/images/import?name=NAME[:TAG]`: the raw body is a root
 * filesystem tarball (plain or gzip), streamed to the runtime driver as it
 * arrives. It is the one route not bound by `bodyLimitBytes` (root
 * filesystems are large and nothing here is buffered); it has its own cap.
 */

/** Largest tarball accepted: 2 GiB. */
export const IMAGE_IMPORT_LIMIT_BYTES = 2 * 1024 * 1024 * 1024;

const TAR_CONTENT_TYPES = ['application/x-tar', 'application/tar', 'application/gzip', 'application/x-gzip', 'application/octet-stream'];

const HOST = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\\d+)?';
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
/** A Docker image reference without digest: `[host[:port]/]path[:tag]`. */
const IMAGE_NAME = new RegExp(`^(?:${HOST}/)?${COMPONENT}(?:/${COMPONENT})*(?::[\\w][\\w.-]{0,127})?$`);

/** `repo` → `repo:latest`; a name with a tag stays as it is. */
export function withDefaultTag(image: string): string {
  return image.lastIndexOf(':') > image.lastIndexOf('/') ? image : `${image}:latest`;
}

export function validateImageName(name: unknown): string {
  if (typeof name !== 'string' || name === '') {
    throw badRequest('query parameter name is required: POST /v1/images/import?name=NAME[:TAG]', { field: 'name' });
  }
  if (name.length > 255 || !IMAGE_NAME.test(name)) {
    throw errors.invalid('name', `"${name.slice(0, 300)}" is not an image name: use lower-case path parts and an optional tag, e.g. my-team/app:1.0`);
  }
  return name;
}

function tooLarge(limit: number): KernelError {
  return httpError('ResourceExhausted', 413, 'RequestEntityTooLarge',
    `the tarball is larger than the import limit of ${limit} bytes: make the root filesystem smaller`,
    { code: 'KERN_ERR_API_IMAGE_TOO_LARGE', field: 'body' });
}

export async function importImage(c: Koa.Context, api: ApiContext, limit = IMAGE_IMPORT_LIMIT_BYTES): Promise<void> {
  const name = validateImageName(c.query.name);
  const contentType = (c.get('Content-Type') || '').split(';')[0].trim().toLowerCase();
  if (contentType && !TAR_CONTENT_TYPES.includes(contentType)) {
    throw httpError('Invalid', 415, 'UnsupportedMediaType',
      `content type ${contentType} is not a tarball: send the root filesystem tar as application/x-tar (or application/gzip)`,
      { code: 'KERN_ERR_API_UNSUPPORTED_MEDIA_TYPE', field: 'Content-Type' });
  }
  if (!api.images) {
    throw errors.unavailable('this kernel has no container runtime to import images into: run `kern up` with a runtime driver (runtime-docker)');
  }
  if (Number(c.get('Content-Length')) > limit) throw tooLarge(limit);

  const req = c.req;
  let bytes = 0;
  let failure: KernelError | undefined;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > limit) done((failure = tooLarge(limit)));
      else done(null, chunk);
    },
  });
  const cut = () => {
    if (req.complete) return;
    failure ??= badRequest('the client stopped sending the tarball before its end: nothing was imported', { code: 'KERN_ERR_API_UPLOAD_CUT', field: 'body' });
    counted.destroy(failure);
  };
  req.once('close', cut);
  req.once('error', cut);
  req.pipe(counted);

  const started = Date.now();
  try {
    await api.images.import(name, counted);
  } catch (e) {
    // The runtime may have refused before reading everything. Node discards
    // the rest once the reply is out (our CLI stops sending when it sees
    // the reply); closing the connection instead could reset it before the
    // client has read why.
    if (!req.complete) req.unpipe(counted);
    throw failure ?? e;
  } finally {
    req.off('close', cut);
    req.off('error', cut);
  }
  if (failure) throw failure;
  const image = withDefaultTag(name);
  api.logger.info({ image, bytes, ms: Date.now() - started }, 'image imported');
  c.status = 200;
  c.body = { image, bytes };
}
