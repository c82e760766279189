import {
  ErrorKind, GRPC_STATUS, HTTP_STATUS, KernelError, KernelErrorOptions, Logger, STATUS_REASON, isKernelError,
  toKernelError,
} from '@kern/sdk';

/**
 * The one place errors become wire replies, for HTTP and gRPC alike: a
 * Kubernetes `Status` object (so stock clients print our messages), with
 * Kern's own error code riding along as `kernCode`.
 */

/** Kubernetes' `Status` (failure form), plus Kern's code and field. */
export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  code: number;
  details?: { causes: { field: string; message: string; reason: string }[] };
  /** Kern's stable code, `KERN_ERR_<AREA>_<WHAT>`. */
  kernCode: string;
  field?: string;
}

/**
 * A KernelError whose HTTP status is not the one its kind maps to: request
 * problems only HTTP has (undecodable body, body too large, unsupported verb).
 */
export interface HttpStatusOverride {
  httpStatus: number;
  httpReason: string;
}

/** Makes a KernelError that HTTP reports as `status`/`reason`; gRPC uses `kind`. */
export function httpError(kind: ErrorKind, status: number, reason: string, message: string, options: KernelErrorOptions = {}): KernelError {
  const err = new KernelError(kind, message, options) as KernelError & HttpStatusOverride;
  Object.defineProperty(err, 'httpStatus', { value: status, enumerable: false });
  Object.defineProperty(err, 'httpReason', { value: reason, enumerable: false });
  return err;
}

/** 400 Bad Request: the request itself could not be understood. */
export function badRequest(message: string, options: KernelErrorOptions = {}): KernelError {
  return httpError('Invalid', 400, 'BadRequest', message, { code: 'KERN_ERR_API_BAD_REQUEST', ...options });
}

export interface WireError {
  status: KubeStatus;
  /** HTTP status code. */
  http: number;
  /** gRPC status code. */
  grpc: number;
  error: KernelError;
}

const GENERIC_MESSAGE = 'internal error: the kernel log has the details';

/**
 * Maps anything thrown to its wire form. Errors that are not Kern's own (a
 * TypeError, a driver's raw exception, also when the syscall table already
 * wrapped them as Internal) are logged with their stack and reported with a
 * generic message, so internals never reach the client.
 */
export function toWireError(e: unknown, logger: Logger): WireError {
  let err = toKernelError(e);
  if (isUnexpected(e, err)) {
    logger.error({ err: isKernelError(e) && e.cause !== undefined ? e.cause : e }, 'api request failed unexpectedly');
    err = new KernelError('Internal', GENERIC_MESSAGE, { code: err.code });
  }
  const override = err as Partial<HttpStatusOverride>;
  const http = override.httpStatus ?? HTTP_STATUS[err.kind] ?? 500;
  const status: KubeStatus = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: err.message,
    reason: override.httpReason ?? STATUS_REASON[err.kind] ?? 'InternalError',
    code: http,
    ...(err.field ? { details: { causes: [{ field: err.field, message: err.message, reason: causeReason(err.kind) }] } } : {}),
    kernCode: err.code,
    ...(err.field ? { field: err.field } : {}),
  };
  return { status, http, grpc: GRPC_STATUS[err.kind] ?? 13, error: err };
}

/** True for errors Kern did not raise on purpose. */
function isUnexpected(raw: unknown, err: KernelError): boolean {
  if (err.kind !== 'Internal') return false;
  if (!isKernelError(raw)) return true;
  // The syscall table wraps foreign errors with toKernelError, which copies
  // the foreign message verbatim: that is the mark of a wrapped one.
  const cause = raw.cause;
  return cause !== undefined && !isKernelError(cause) && cause instanceof Error && cause.message === raw.message;
}

function causeReason(kind: ErrorKind): string {
  switch (kind) {
    case 'Invalid': return 'FieldValueInvalid';
    case 'NotFound': return 'FieldValueNotFound';
    case 'AlreadyExists': return 'FieldValueDuplicate';
    default: return kind;
  }
}

const KIND_BY_REASON = new Map<string, ErrorKind>(
  (Object.entries(STATUS_REASON) as [ErrorKind, string][]).map(([kind, reason]) => [reason, kind]),
);
const KIND_BY_HTTP = new Map<number, ErrorKind>([
  [400, 'Invalid'], [413, 'ResourceExhausted'], [405, 'NotImplemented'],
  ...(Object.entries(HTTP_STATUS) as [ErrorKind, number][]).filter(([k]) => k !== 'AlreadyExists').map(([k, c]) => [c, k] as [number, ErrorKind]),
]);

/**
 * The KernelError a `Status` object describes (clients of the HTTP and gRPC
 * APIs use it to turn replies back into errors they can test by kind).
 */
export function fromStatus(status: Partial<KubeStatus> | undefined, fallbackMessage = 'request failed'): KernelError {
  const kind = (status?.reason && status.reason !== 'BadRequest' ? KIND_BY_REASON.get(status.reason) : undefined)
    ?? (status?.code !== undefined ? KIND_BY_HTTP.get(status.code) : undefined)
    ?? 'Internal';
  return new KernelError(kind, status?.message ?? fallbackMessage, {
    code: status?.kernCode,
    field: status?.field ?? status?.details?.causes?.[0]?.field,
  });
}
