import { KernelError, KernelErrorOptions, Logger } from '@kern/sdk';
import { HttpStatusOverride, KubeStatus, httpError, toWireError } from '../../kernel/api/http/status';

/**
 * Errors as the registry sends them: the kernel's `Status` body, except that
 * bad input (kind Invalid) is a plain 400 Bad Request, as package registries
 * answer it, rather than Kubernetes' 422.
 */

/** Stable codes of the registry server's own refusals. */
export const REGISTRY_ERROR_CODES = {
  tokenMissing: 'KERN_ERR_REGISTRY_TOKEN_MISSING',
  tokenInvalid: 'KERN_ERR_REGISTRY_TOKEN_INVALID',
  notOwner: 'KERN_ERR_REGISTRY_NOT_OWNER',
  versionExists: 'KERN_ERR_REGISTRY_VERSION_EXISTS',
  mismatch: 'KERN_ERR_REGISTRY_MANIFEST_MISMATCH',
  badRequest: 'KERN_ERR_REGISTRY_BAD_REQUEST',
  tooLarge: 'KERN_ERR_REGISTRY_PACKAGE_TOO_LARGE',
  mediaType: 'KERN_ERR_REGISTRY_UNSUPPORTED_MEDIA_TYPE',
  notFound: 'KERN_ERR_REGISTRY_NOT_FOUND',
  methodNotAllowed: 'KERN_ERR_REGISTRY_METHOD_NOT_ALLOWED',
} as const;

export interface RegistryWireError {
  http: number;
  status: KubeStatus;
}

/** Maps anything thrown to the HTTP status and `Status` body to send. */
export function toRegistryStatus(e: unknown, logger: Logger): RegistryWireError {
  const wire = toWireError(e, logger);
  const overridden = (wire.error as Partial<HttpStatusOverride>).httpStatus !== undefined;
  if (wire.error.kind === 'Invalid' && !overridden) {
    return { http: 400, status: { ...wire.status, code: 400, reason: 'BadRequest' } };
  }
  return { http: wire.http, status: wire.status };
}

/** 400: the request (a header, a path parameter, the body) is not acceptable. */
export function badRequest(field: string, message: string, options: KernelErrorOptions = {}): KernelError {
  return new KernelError('Invalid', message, { field, code: REGISTRY_ERROR_CODES.badRequest, ...options });
}

/** 401, with how to get a token. */
export function unauthenticated(problem: string, code: string): KernelError {
  return new KernelError('Unauthenticated',
    `${problem}: send "Authorization: Bearer <publisher token>" (kern registry publish takes --token or KERN_REGISTRY_TOKEN); `
    + 'the registry operator issues tokens on the registry machine with `kern registry publisher add NAME --key publisher.pub` '
    + 'or `kern registry token create --publisher NAME`',
    { code, field: 'Authorization' });
}

export function notFound(message: string): KernelError {
  return new KernelError('NotFound', message, { code: REGISTRY_ERROR_CODES.notFound });
}

/** 413 for a package over the limit. */
export function packageTooLarge(limit: number): KernelError {
  return httpError('ResourceExhausted', 413, 'RequestEntityTooLarge',
    `package is larger than the registry's limit of ${limit} bytes: make the plugin smaller (leave out what it does not need at run time)`,
    { code: REGISTRY_ERROR_CODES.tooLarge, field: 'body' });
}

/** 415 for a body that is not a package. */
export function unsupportedMediaType(contentType: string): KernelError {
  return httpError('Invalid', 415, 'UnsupportedMediaType',
    `content type ${contentType} is not a package: send the .kpkg bytes as application/octet-stream`,
    { code: REGISTRY_ERROR_CODES.mediaType, field: 'Content-Type' });
}

/** 405 for a known path with another method. */
export function methodNotAllowed(method: string, path: string, allowed: string): KernelError {
  return httpError('NotImplemented', 405, 'MethodNotAllowed',
    `${method} is not allowed on ${path}: use ${allowed}`,
    { code: REGISTRY_ERROR_CODES.methodNotAllowed });
}
