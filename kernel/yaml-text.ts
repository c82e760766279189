import { CST, Composer, Document, Lexer, LineCounter, Parser, isScalar, visit } from 'yaml';
import { MAX_NESTING, tooDeepAt } from './nesting';

/**
 * YAML text as users hand it in (request bodies, manifests, the config
 * file): its documents as plain JSON values, or one error saying where and
 * why. What could exhaust the stack or the memory is bounded before yaml's
 * recursive or quadratic parts run: nesting (see MAX_NESTING), repeated keys,
 * and growth through aliases.
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

/** How many characters a document may grow to through its aliases: four times the text, and at least 1 MiB. */
const expansionBudget = (text: string) => Math.max(1 << 20, 4 * text.length);

/** The documents of `text` (empty ones skipped); throws YamlInputError for the first problem. */
export function parseYamlDocuments(text: string, limit = MAX_NESTING): YamlDocument[] {
  const lines = new LineCounter();
  const fail = (offset: number, reason: string, tooDeep = false): never => {
    const { line, col } = lines.linePos(offset);
    throw new YamlInputError(line, col, reason, tooDeep);
  };
  let docs: Document.Parsed[];
  try {
    // One lexing pass: each token is counted before the parser gets it, and
    // the parser only recurses when it closes levels the count saw open.
    const parser = new Parser(lines.addNewLine);
    lines.addNewLine(0); // as Parser.parse does before its first token
    const tooDeepToParse = nestingBound(PARSER_BOUND);
    const tokens: CST.Token[] = [];
    for (const lexeme of new Lexer().lex(text)) {
      if (tooDeepToParse(lexeme)) fail(parser.offset, `is indented or nested too deep to read: objects and lists may nest at most ${limit} levels`, true);
      for (const token of parser.next(lexeme)) tokens.push(token);
    }
    for (const token of parser.end()) tokens.push(token);
    const deep = cstDeeperThan(tokens, limit);
    if (deep !== undefined) fail(deep, `nests deeper than ${limit} levels`, true);
    // yaml's own check of repeated keys compares each key with every earlier one.
    docs = Array.from(new Composer({ uniqueKeys: false }).compose(tokens));
  } catch (e) {
    // A backstop: the bounds above should keep yaml's recursion shallow.
    if (e instanceof RangeError) throw new YamlInputError(1, 1, 'is nested too deep to read', true);
    throw e;
  }

  const out: YamlDocument[] = [];
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) fail(error.pos[0], error.message.split('\n')[0]);
    if (doc.contents === null) continue; // nothing but comments, or `---` alone
    const repeated = repeatedKeyAt(doc);
    if (repeated !== undefined) fail(repeated, 'Map keys must be unique');
    const start = doc.contents.range[0];
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      fail(start, (e as Error).message);
    }
    if (value === null || value === undefined) continue; // `---` alone, or an explicit null
    const grown = expansionProblem(value, limit, expansionBudget(text));
    if (grown !== undefined) fail(start, grown.reason, grown.tooDeep);
    // Through JSON: values are JSON from here on.
    out.push({ value: JSON.parse(JSON.stringify(value)), line: lines.linePos(start).line });
  }
  return out;
}

/**
 * A count over yaml's lexer tokens, fed one at a time, that never
 * undercounts how deep the text nests: each column of indentation can open
 * two levels (a mapping and a sequence under it), each `-`, `?` and `:`
 * indicator outside brackets one more, and each open bracket one more, also
 * across lines. True once it passes `bound`.
 */
function nestingBound(bound: number): (token: string) => boolean {
  let flow = 0;
  let indent = 0;
  let indicators = 0;
  let lineStart = true;
  return (token) => {
    const type = CST.tokenType(token);
    switch (type) {
      case 'newline': lineStart = true; indent = 0; indicators = 0; break;
      case 'space': if (lineStart) indent = token.length; break;
      case 'doc-start': case 'doc-end': flow = 0; break;
      case 'flow-map-start': case 'flow-seq-start': flow++; break;
      case 'flow-map-end': case 'flow-seq-end': if (flow > 0) flow--; break;
      case 'seq-item-ind': case 'explicit-key-ind': case 'map-value-ind': if (flow === 0) indicators++; break;
      default: break;
    }
    if (type !== 'newline' && type !== 'space') lineStart = false;
    return 2 * (indent + 1) + indicators + flow > bound;
  };
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

/** Where a mapping first repeats a scalar key (a set per mapping: linear in the keys). */
function repeatedKeyAt(doc: Document.Parsed): number | undefined {
  let at: number | undefined;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const { key } of map.items) {
        if (!isScalar(key)) continue;
        if (seen.has(key.value)) {
          at = key.range?.[0] ?? 0;
          return visit.BREAK;
        }
        seen.add(key.value);
      }
      return undefined;
    },
  });
  return at;
}

/**
 * What is wrong with a document's value once aliases are expanded: an
 * anchor inside itself, nesting past `limit`, or more than `budget`
 * characters in all (a few aliases of a large value multiply it).
 */
function expansionProblem(value: unknown, limit: number, budget: number): { reason: string; tooDeep: boolean } | undefined {
  let size = 0;
  const ancestors = new Set<object>();
  const walk = (v: unknown, depth: number): { reason: string; tooDeep: boolean } | undefined => {
    size += typeof v === 'string' ? v.length : 4;
    if (size > budget) return { reason: `grows past ${budget} characters through its aliases`, tooDeep: false };
    if (typeof v !== 'object' || v === null) return undefined;
    if (ancestors.has(v)) return { reason: 'an anchor refers to itself (a cycle cannot be stored as JSON)', tooDeep: false };
    if (depth > limit) return { reason: `nests deeper than ${limit} levels through its aliases (at ${tooDeepAt(value, limit)})`, tooDeep: true };
    ancestors.add(v);
    for (const key of Object.keys(v)) {
      size += key.length;
      const problem = walk((v as Record<string, unknown>)[key], depth + 1);
      if (problem) return problem;
    }
    ancestors.delete(v);
    return undefined;
  };
  return walk(value, 1);
}
