/**
 * One error type for the whole system. Code that handles errors tests the
 * `kind` (use {@link isKernelError} and the `is*` predicates), never
 * `instanceof`, so errors that crossed a process or a bundled sdk copy still
 * match. Kinds map to HTTP and gRPC status codes only at the API edge, using
 * the tables below.
 */
export type ErrorKind =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'FailedPrecondition'
  | 'Forbidden'
  | 'Unauthenticated'
  | 'ResourceExhausted'
  | 'Unavailable'
  | 'NotImplemented'
  | 'DeadlineExceeded'
  | 'TooOld'
  | 'Internal';

export const ERROR_KINDS: readonly ErrorKind[] = [
  'NotFound', 'AlreadyExists', 'Conflict', 'Invalid', 'FailedPrecondition', 'Forbidden',
  'Unauthenticated', 'ResourceExhausted', 'Unavailable', 'NotImplemented', 'DeadlineExceeded',
  'TooOld', 'Internal',
];

/** HTTP status for each kind (Kubernetes conventions: TooOld is 410 Gone). */
export const HTTP_STATUS: Readonly<Record<ErrorKind, number>> = {
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  Invalid: 422,
  FailedPrecondition: 412,
  Forbidden: 403,
  Unauthenticated: 401,
  ResourceExhausted: 429,
  Unavailable: 503,
  NotImplemented: 501,
  DeadlineExceeded: 504,
  TooOld: 410,
  Internal: 500,
};

/** gRPC status code for each kind (numeric values from grpc's status.proto). */
export const GRPC_STATUS: Readonly<Record<ErrorKind, number>> = {
  NotFound: 5,
  AlreadyExists: 6,
  Conflict: 10, // ABORTED: the optimistic-concurrency check failed
  Invalid: 3,
  FailedPrecondition: 9,
  Forbidden: 7,
  Unauthenticated: 16,
  ResourceExhausted: 8,
  Unavailable: 14,
  NotImplemented: 12,
  DeadlineExceeded: 4,
  TooOld: 11, // OUT_OF_RANGE: the requested revision was compacted
  Internal: 13,
};

/** Kubernetes `Status.reason` for each kind. */
export const STATUS_REASON: Readonly<Record<ErrorKind, string>> = {
  NotFound: 'NotFound',
  AlreadyExists: 'AlreadyExists',
  Conflict: 'Conflict',
  Invalid: 'Invalid',
  FailedPrecondition: 'BadRequest',
  Forbidden: 'Forbidden',
  Unauthenticated: 'Unauthorized',
  ResourceExhausted: 'TooManyRequests',
  Unavailable: 'ServiceUnavailable',
  NotImplemented: 'MethodNotAllowed',
  DeadlineExceeded: 'Timeout',
  TooOld: 'Expired',
  Internal: 'InternalError',
};

export interface KernelErrorOptions {
  /** Path of the offending field, e.g. `metadata.name` or `spec.containers[0].image`. */
  field?: string;
  /** Stable machine code, `KERN_ERR_<AREA>_<WHAT>`; defaults from the kind. */
  code?: string;
  cause?: unknown;
}

export class KernelError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly field?: string;
  /** Marks the object so that {@link isKernelError} works across sdk copies. */
  readonly isKernelError = true;

  constructor(kind: ErrorKind, message: string, options: KernelErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KernelError';
    this.kind = kind;
    this.code = options.code ?? defaultCode(kind);
    this.field = options.field;
  }

  toJSON(): { kind: ErrorKind; code: string; message: string; field?: string } {
    return { kind: this.kind, code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) };
  }
}

function defaultCode(kind: ErrorKind): string {
  return 'KERN_ERR_' + kind.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

export function isKernelError(e: unknown): e is KernelError {
  return typeof e === 'object' && e !== null && (e as { isKernelError?: unknown }).isKernelError === true;
}

export function isErrorKind(e: unknown, kind: ErrorKind): boolean {
  return isKernelError(e) && e.kind === kind;
}

export const isNotFound = (e: unknown): boolean => isErrorKind(e, 'NotFound');
export const isAlreadyExists = (e: unknown): boolean => isErrorKind(e, 'AlreadyExists');
export const isConflict = (e: unknown): boolean => isErrorKind(e, 'Conflict');
export const isInvalid = (e: unknown): boolean => isErrorKind(e, 'Invalid');
export const isTooOld = (e: unknown): boolean => isErrorKind(e, 'TooOld');
export const isUnavailable = (e: unknown): boolean => isErrorKind(e, 'Unavailable');

/** Shorthands that read well at the throw site. */
export const errors = {
  notFound: (what: string, o?: KernelErrorOptions) => new KernelError('NotFound', `${what} not found`, o),
  alreadyExists: (what: string, o?: KernelErrorOptions) => new KernelError('AlreadyExists', `${what} already exists`, o),
  conflict: (message: string, o?: KernelErrorOptions) => new KernelError('Conflict', message, o),
  invalid: (field: string, message: string, o?: KernelErrorOptions) =>
    new KernelError('Invalid', `${field}: ${message}`, { ...o, field }),
  forbidden: (message: string, o?: KernelErrorOptions) => new KernelError('Forbidden', message, o),
  unauthenticated: (message: string, o?: KernelErrorOptions) => new KernelError('Unauthenticated', message, o),
  unavailable: (message: string, o?: KernelErrorOptions) => new KernelError('Unavailable', message, o),
  tooOld: (message: string, o?: KernelErrorOptions) => new KernelError('TooOld', message, o),
  failedPrecondition: (message: string, o?: KernelErrorOptions) => new KernelError('FailedPrecondition', message, o),
  notImplemented: (message: string, o?: KernelErrorOptions) => new KernelError('NotImplemented', message, o),
  internal: (message: string, o?: KernelErrorOptions) => new KernelError('Internal', message, o),
};

/** Turns anything thrown into a KernelError (unknown errors become Internal). */
export function toKernelError(e: unknown): KernelError {
  if (isKernelError(e)) return e;
  if (e && typeof e === 'object' && typeof (e as { kind?: unknown }).kind === 'string'
      && ERROR_KINDS.includes((e as { kind: ErrorKind }).kind)) {
    const o = e as { kind: ErrorKind; message?: string; code?: string; field?: string };
    return new KernelError(o.kind, o.message ?? o.kind, { code: o.code, field: o.field });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new KernelError('Internal', message, { cause: e });
}
