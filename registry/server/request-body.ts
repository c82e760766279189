import { IncomingMessage } from 'node:http';
import { readBody } from '../../kernel/api/http/body';
import { httpError } from '../../kernel/api/http/status';
import { REGISTRY_ERROR_CODES, badRequest } from './registry-status';

/** The small JSON bodies of yank and deprecate: a few fields of text. */
export const JSON_BODY_LIMIT_BYTES = 64 * 1024;

/** The longest yank reason or deprecation message kept. */
export const MAX_NOTE_LENGTH = 2000;

/** Reads a JSON object body; an empty body is `{}`. 400 for anything else, 413 past the limit. */
export async function readJsonObject(req: IncomingMessage, limit = JSON_BODY_LIMIT_BYTES): Promise<Record<string, unknown>> {
  const text = (await readBody(req, limit, bodyTooLarge)).toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw badRequest('body', `request body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('body', 'request body must be a JSON object, e.g. {"reason": "..."}');
  }
  return value as Record<string, unknown>;
}

function bodyTooLarge(limit: number) {
  return httpError('ResourceExhausted', 413, 'RequestEntityTooLarge', `request body is larger than ${limit} bytes: send a short JSON object`, {
    code: REGISTRY_ERROR_CODES.tooLarge, field: 'body',
  });
}

/** A text field of the body: undefined when absent, 400 when not a string or too long. */
export function optionalText(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badRequest(field, `${field} must be a string, got ${Array.isArray(v) ? 'a list' : typeof v}`);
  if (v.length > MAX_NOTE_LENGTH) throw badRequest(field, `${field} is ${v.length} characters long; keep it under ${MAX_NOTE_LENGTH}`);
  return v;
}
