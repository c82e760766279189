import * as grpc from '@grpc/grpc-js';
import { ERROR_KINDS, ErrorKind, GRPC_STATUS, KernelError, toKernelError } from '../errors';

/** What a failed driver call carries in its status message (the details). */
export interface WireErrorDetails {
  kind: ErrorKind;
  message: string;
  field?: string;
  code?: string;
}

const KIND_BY_GRPC_CODE = new Map<number, ErrorKind>(ERROR_KINDS.map((kind) => [GRPC_STATUS[kind], kind]));

/** The status a driver ends a failed call with: the code from the kind, the error as JSON in the details. */
export function toDriverStatus(e: unknown): Partial<grpc.StatusObject> {
  const err = toKernelError(e);
  const details: WireErrorDetails = { kind: err.kind, message: err.message, ...(err.field ? { field: err.field } : {}), code: err.code };
  return { code: GRPC_STATUS[err.kind] ?? grpc.status.INTERNAL, details: JSON.stringify(details) };
}

/**
 * The KernelError a failed call stands for. Understands the driver
 * protocol's details (`{kind, message, field, code}`) and the Kernel API's
 * Status object (`{kind: "Status", message, kernCode, field}`); a status
 * without either is taken by its code. `unreachable` makes the error for a
 * call that never got an answer (UNAVAILABLE from the transport).
 */
export function fromGrpcError(e: unknown, unreachable: (cause: unknown) => KernelError): KernelError {
  const status = e as Partial<grpc.ServiceError>;
  const details = typeof status.details === 'string' ? status.details : '';
  const byCode = status.code !== undefined ? KIND_BY_GRPC_CODE.get(status.code) : undefined;
  const parsed = parseDetails(details);
  if (parsed?.kind === 'Status') {
    return new KernelError(byCode ?? 'Internal', parsed.message ?? details, { code: parsed.kernCode, field: parsed.field, cause: e });
  }
  if (parsed && (ERROR_KINDS as readonly string[]).includes(parsed.kind ?? '')) {
    return new KernelError(parsed.kind as ErrorKind, parsed.message ?? parsed.kind!, { code: parsed.code, field: parsed.field, cause: e });
  }
  if (status.code === grpc.status.UNAVAILABLE) return unreachable(e);
  return new KernelError(byCode ?? 'Internal', details || (e as Error)?.message || String(e), { cause: e });
}

function parseDetails(details: string): { kind?: string; message?: string; field?: string; code?: string; kernCode?: string } | undefined {
  if (!details.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(details) as unknown;
    return typeof value === 'object' && value !== null ? value as Record<string, string> : undefined;
  } catch {
    return undefined;
  }
}
