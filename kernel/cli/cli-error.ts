import { ERROR_KINDS, ErrorKind, HTTP_STATUS, KernelError, STATUS_REASON, isKernelError } from '@kern/sdk';

/** Stable codes for failures the CLI finds itself, before any server answers. */
export const CLI_ERROR_CODES = {
  unreachable: 'KERN_ERR_CLI_UNREACHABLE',
  badReply: 'KERN_ERR_CLI_BAD_REPLY',
  manifest: 'KERN_ERR_CLI_MANIFEST',
  usage: 'KERN_ERR_CLI_USAGE',
} as const;

/** A Kubernetes `Status` body, with Kern's own code riding along. */
export interface StatusBody {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { causes?: { field?: string; message?: string }[] };
  kernCode?: string;
  field?: string;
}

const KIND_BY_REASON = new Map<string, ErrorKind>(ERROR_KINDS.map((k) => [STATUS_REASON[k], k]));

function kindFromHttp(status: number): ErrorKind {
  const exact = ERROR_KINDS.find((k) => HTTP_STATUS[k] === status);
  if (exact) return exact;
  if (status === 400) return 'Invalid';
  return status >= 500 ? 'Internal' : 'FailedPrecondition';
}

/**
 * Turns an error reply into a KernelError, so the CLI tests replies with the
 * same `is*` predicates as the kernel. The field comes from `field` or, as
 * Kubernetes sends it, the first `details.causes[].field`.
 */
export function statusToError(httpStatus: number, body: unknown, fallbackText = ''): KernelError {
  const s = (body && typeof body === 'object' ? body : {}) as StatusBody;
  const isStatus = s.kind === 'Status' || typeof s.message === 'string';
  const kind = (s.reason && KIND_BY_REASON.get(s.reason)) || kindFromHttp(s.code ?? httpStatus);
  const field = s.field || s.details?.causes?.find((c) => c.field)?.field || undefined;
  const text = fallbackText.trim().split('\n')[0].slice(0, 200);
  const message = isStatus && s.message
    ? s.message
    : `server replied ${httpStatus}${text ? `: ${text}` : ''}`;
  return new KernelError(kind, message, { field, code: s.kernCode });
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE']);

/** True for socket errors that mean nothing is serving at the address. */
export function isConnectionError(e: unknown): boolean {
  const { code, syscall } = (e ?? {}) as { code?: unknown; syscall?: unknown };
  // ENOENT on connect: the Unix socket of a kernel that just stopped is gone.
  if (code === 'ENOENT') return syscall === 'connect';
  return typeof code === 'string' && UNREACHABLE.has(code);
}

export function unreachable(server: string, cause: unknown): KernelError {
  return new KernelError('Unavailable', `cannot reach Kern at ${server}: is \`kern up\` running?`, {
    code: CLI_ERROR_CODES.unreachable,
    cause,
  });
}

export function isUnreachable(e: unknown): boolean {
  return isKernelError(e) && e.code === CLI_ERROR_CODES.unreachable;
}

/** A usage mistake (bad flag combination, missing argument). */
export function usageError(message: string): KernelError {
  return new KernelError('Invalid', message, { code: CLI_ERROR_CODES.usage });
}

/**
 * The lines the CLI prints for a failure: `error: <message>`, then
 * `  field: <path>` when the error names one, then the stack with --debug.
 */
export function formatError(e: unknown, options: { debug?: boolean; prefix?: string } = {}): string[] {
  const message = e instanceof Error || isKernelError(e) ? (e as Error).message : String(e);
  const lines = [`error: ${options.prefix ? `${options.prefix}: ` : ''}${message}`];
  const field = isKernelError(e) ? e.field : undefined;
  if (field) lines.push(`  field: ${field}`);
  if (options.debug) {
    let cur: unknown = e;
    for (let depth = 0; cur instanceof Error && depth < 5; depth++) {
      lines.push(...(depth === 0 ? [] : ['caused by:']), ...(cur.stack ?? String(cur)).split('\n'));
      cur = (cur as { cause?: unknown }).cause;
    }
  }
  return lines;
}
