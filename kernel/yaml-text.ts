import { CST, Composer, LineCounter, Parser } from 'yaml';
import { lineColumn } from './json-text';
import { MAX_NESTING, tooDeepAt } from './nesting';

/**
 * YAML text as users hand it in (request bodies, manifests): its documents
 * as plain JSON values, or one error saying where and why. Nesting is
 * bounded before yaml's recursive parts run (see MAX_NESTING).
 */

/** YAML text Kern cannot take: a syntax error, nesting past the limit, or a value JSON cannot hold; `line` and `col` are 1-based. */
export class YamlInputError extends Error {
  constructor(readonly line: number, readonly col: number, readonly reason: string, readonly tooDeep = false) {
    super(`line ${line}, column ${col}: ${reason}`);
  }
}

/** One non-empty document: its value (plain JSON) and the line it starts on. */
export interface YamlDocument { value: unknown; line: number }

/**
 * A bound that the text's nesting cannot pass before yaml's parser runs:
 * the parser recurses, two frames a level, when a line closes many levels at
 * once, and here it ran out of stack near 2,500 levels.
 */
const PARSER_BOUND = 1000;

/** The documents of `text` (empty ones skipped); throws YamlInputError for the first problem. */
export function parseYamlDocuments(text: string, limit = MAX_NESTING): YamlDocument[] {
  const lines = new LineCounter();
  const fail = (offset: number, reason: string, tooDeep = false): never => {
    const { line, col } = lines.linePos(offset);
    throw new YamlInputError(line, col, reason, tooDeep);
  };
  const far = beyondNestingBound(text, PARSER_BOUND);
  if (far !== undefined) {
    const { line, col } = lineColumn(text, far); // before the parser has counted lines
    throw new YamlInputError(line, col, `is indented or nested too deep to read: objects and lists may nest at most ${limit} levels`, true);
  }
  const tokens = Array.from(new Parser(lines.addNewLine).parse(text));
  const deep = cstDeeperThan(tokens, limit);
  if (deep !== undefined) fail(deep, `nests deeper than ${limit} levels`, true);

  const out: YamlDocument[] = [];
  for (const doc of new Composer().compose(tokens)) {
    const error = doc.errors[0];
    if (error) fail(error.pos[0], error.message.split('\n')[0]);
    const start = doc.contents?.range?.[0] ?? doc.range[0];
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
      if (value === null || value === undefined) continue; // an empty document (`---` alone)
      // Through JSON: values are JSON from here on, and an anchor that
      // contains itself fails here rather than in the store.
      value = JSON.parse(JSON.stringify(value));
    } catch (e) {
      if (e instanceof RangeError) fail(start, `nests deeper than ${limit} levels through its aliases`, true);
      fail(start, e instanceof TypeError && /circular/i.test(e.message) ? 'an anchor refers to itself (a cycle cannot be stored as JSON)' : (e as Error).message);
    }
    const aliased = tooDeepAt(value, limit);
    if (aliased !== undefined) fail(start, `nests deeper than ${limit} levels through its aliases (at ${aliased})`, true);
    out.push({ value, line: lines.linePos(start).line });
  }
  return out;
}

/**
 * Where the text could first nest deeper than `bound`, by a cheap count
 * that never undercounts: each column of indentation can open two levels
 * (a mapping and a sequence under it), each `- `, `? `, `: `, `[` and `{`
 * on the line one more, and flow brackets stay open across lines.
 */
function beyondNestingBound(text: string, bound: number): number | undefined {
  let flow = 0;
  let i = 0;
  while (i < text.length) {
    let indent = 0;
    while (text.charCodeAt(i) === 32) { indent++; i++; }
    let depth = 2 * (indent + 1) + flow;
    for (; i < text.length && text.charCodeAt(i) !== 10; i++) {
      const c = text.charCodeAt(i);
      if (c === 91 || c === 123) { flow++; depth++; } // [ {
      else if (c === 93 || c === 125) { if (flow > 0) flow--; } // ] }
      else if ((c === 45 || c === 63 || c === 58) && (i + 1 === text.length || text.charCodeAt(i + 1) === 32 || text.charCodeAt(i + 1) === 10)) depth++; // - ? :
      if (depth > bound) return i;
    }
    i++;
  }
  return undefined;
}

/** The offset of the first collection below level `limit` in yaml's parse tree (a walk with its own stack, in text order). */
function cstDeeperThan(tokens: CST.Token[], limit: number): number | undefined {
  const stack: [CST.Token, number][] = tokens.map((t): [CST.Token, number] => [t, 0]).reverse();
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    switch (token.type) {
      case 'document':
        if (token.value) stack.push([token.value, depth]);
        break;
      case 'block-map':
      case 'block-seq':
      case 'flow-collection':
        if (depth + 1 > limit) return token.offset;
        for (let i = token.items.length - 1; i >= 0; i--) {
          const item = token.items[i];
          if (item.value) stack.push([item.value, depth + 1]);
          if (item.key) stack.push([item.key, depth + 1]);
        }
        break;
      default:
        break;
    }
  }
  return undefined;
}
