/**
 * How deep input may nest: objects and lists inside one another, the
 * outermost object being level 1. Kubernetes manifests stay far below it
 * (a CRD's schema reaches a few dozen). Far deeper input would run the
 * YAML composer, the store's copies and the CLI's printers out of stack: at
 * about 2,000 levels of YAML the process aborted (V8 ran out of memory
 * compiling a regular expression while the stack was exhausted). YAML text
 * is checked before it is composed (yaml-text.ts).
 */
export const MAX_NESTING = 100;

/**
 * Where `value` first nests deeper than `limit` levels, as a path like
 * `data.a[0].b` (the first segments, then `…`); undefined when it does not.
 * The walk stops at the limit, so it cannot run out of stack itself.
 */
export function tooDeepAt(value: unknown, limit = MAX_NESTING): string | undefined {
  const path = deeperThan(value, 1, limit);
  return path && formatPath(path.reverse());
}

/** The path (innermost first) to the first object or list below level `limit`. */
function deeperThan(value: unknown, depth: number, limit: number): (string | number)[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth > limit) return [];
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const path = deeperThan(value[i], depth + 1, limit);
      if (path) { path.push(i); return path; }
    }
    return undefined;
  }
  for (const key in value) {
    const path = deeperThan((value as Record<string, unknown>)[key], depth + 1, limit);
    if (path) { path.push(key); return path; }
  }
  return undefined;
}

const SHOWN_SEGMENTS = 6;

function formatPath(segments: (string | number)[]): string {
  let out = '';
  for (const s of segments.slice(0, SHOWN_SEGMENTS)) out += typeof s === 'number' ? `[${s}]` : out === '' ? s : `.${s}`;
  if (out === '') out = '(top level)';
  return segments.length > SHOWN_SEGMENTS ? `${out}…` : out;
}

/** What to say of input nested past the limit; `where` says where (`at spec.a…`, `line 3, column 7`). */
export function tooDeepMessage(where: string): string {
  return `nests deeper than ${MAX_NESTING} levels (${where}): objects and lists may nest at most ${MAX_NESTING} levels, so flatten that part`;
}
