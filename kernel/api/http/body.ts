import { IncomingMessage } from 'node:http';
import { jsonSyntaxError, lineColumn } from '../../json-text';
import { tooDeepAt, tooDeepMessage } from '../../nesting';
import { YamlInputError, parseYamlDocuments } from '../../yaml-text';
import { badRequest, httpError } from './status';

/**
 * Request bodies: read with a size cap, decoded as JSON or YAML. Every
 * failure is a 4xx Status naming the problem; nothing here can change stored
 * data, and nothing here is a 500.
 */

/**
 * Reads the whole body; 413 once it passes `limit` bytes (before reading,
 * when Content-Length says so), with the error `tooLarge` makes.
 */
export function readBody(req: IncomingMessage, limit: number, tooLarge: (limit: number) => Error = bodyTooLarge): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      if (err) {
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', onError);
        req.off('aborted', onAborted);
        // Let the rest of the body drain so the reply can still be read on a
        // keep-alive connection.
        req.resume();
        reject(err);
      } else {
        // After 'end' the request emits no more data; a late 'error' finds
        // `done` set. Leaving the listeners saves four removals a request.
        resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
      }
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) finish(tooLarge(limit));
      else chunks.push(chunk);
    };
    const onEnd = () => finish();
    const onError = (err: Error) => finish(badRequest(`could not read the request body: ${err.message}`));
    const onAborted = () => finish(badRequest('the client aborted the request body'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

function bodyTooLarge(limit: number) {
  return httpError('ResourceExhausted', 413, 'RequestEntityTooLarge',
    `request body is larger than the limit of ${limit} bytes: send a smaller object (the kernel's api.bodyLimitBytes sets the limit)`,
    { code: 'KERN_ERR_API_BODY_TOO_LARGE', field: 'body' });
}

export type BodyFormat = 'json' | 'yaml';

/** JSON for `*json` content types, YAML for `*yaml`/`*yml`; otherwise sniffed from the first character. */
export function bodyFormat(contentType: string | undefined, text: string): BodyFormat {
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('json')) return 'json';
  if (ct.includes('yaml') || ct.includes('yml')) return 'yaml';
  const first = /\S/.exec(text)?.[0];
  return first === '{' || first === '[' ? 'json' : 'yaml';
}

/**
 * Decodes a body; `undefined` when it is empty (or only YAML comments).
 * Malformed input is a 400 naming the line and column.
 */
export function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  let text = raw.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') return undefined;
  if (bodyFormat(contentType, text) === 'yaml') return parseYaml(text); // checks the nesting itself
  const value = parseJson(text);
  const deep = tooDeepAt(value);
  if (deep !== undefined) throw tooDeep(`at ${deep}`);
  return value;
}

function tooDeep(where: string) {
  return badRequest(`the body ${tooDeepMessage(where)}`, { code: 'KERN_ERR_API_BODY_TOO_DEEP', field: 'body' });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const { offset, reason } = jsonSyntaxError(text, e as Error);
    const at = offset === undefined ? undefined : lineColumn(text, offset);
    const where = at ? ` at line ${at.line}, column ${at.col}` : '';
    throw badRequest(`malformed JSON body${where}: ${reason}`, { code: 'KERN_ERR_API_BODY_MALFORMED', field: 'body' });
  }
}

function parseYaml(text: string): unknown {
  let docs;
  try {
    docs = parseYamlDocuments(text);
  } catch (e) {
    if (!(e instanceof YamlInputError)) throw e;
    if (e.tooDeep) throw tooDeep(`line ${e.line}, column ${e.col}`);
    throw badRequest(`malformed YAML body at line ${e.line}, column ${e.col}: ${e.reason}`, { code: 'KERN_ERR_API_BODY_MALFORMED', field: 'body' });
  }
  if (docs.length > 1) {
    throw badRequest(`the YAML body holds ${docs.length} documents: send one object per request (kern apply -f splits files for you)`, { code: 'KERN_ERR_API_BODY_MALFORMED', field: 'body' });
  }
  return docs[0]?.value;
}

/** The body as a JSON object; 400 for anything else (arrays, scalars, nothing). */
export function requireObject(body: unknown, what = 'request body'): Record<string, unknown> {
  if (body === undefined) throw badRequest(`${what} is empty: send a JSON or YAML object`, { code: 'KERN_ERR_API_BODY_NOT_OBJECT', field: 'body' });
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const got = body === null ? 'null' : Array.isArray(body) ? 'a list' : `a ${typeof body}`;
    throw badRequest(`${what} must be an object (a mapping), got ${got}`, { code: 'KERN_ERR_API_BODY_NOT_OBJECT', field: 'body' });
  }
  return body as Record<string, unknown>;
}
