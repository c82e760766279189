import { errors } from '@kern/sdk';

/** Where a paged list stopped: the last key returned. */
export interface ListPosition {
  namespace: string;
  name: string;
}

/** Encodes `position` as the opaque `continue` token of a list reply. */
export function encodeContinue(position: ListPosition): string {
  return Buffer.from(JSON.stringify({ v: 1, ns: position.namespace, n: position.name })).toString('base64url');
}

/** Decodes a token made by {@link encodeContinue}; Invalid naming `continue` otherwise. */
export function decodeContinue(token: string): ListPosition {
  const bad = () => errors.invalid('continue', 'is not a token from a previous list reply of this store: list again without it');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const p = parsed as { v?: unknown; ns?: unknown; n?: unknown };
  if (!p || p.v !== 1 || typeof p.ns !== 'string' || typeof p.n !== 'string') throw bad();
  return { namespace: p.ns, name: p.n };
}
