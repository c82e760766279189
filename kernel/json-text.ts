/**
 * JSON text as users hand it in: where a syntax error is (V8 says it for
 * some errors and not for others), and a .json file of several values one
 * after another, as kubectl reads it.
 */

/** A JSON syntax error: where it is in the text (when known) and what is wrong, without V8's echo of the text. */
export class JsonSyntaxError extends Error {
  constructor(readonly offset: number | undefined, readonly reason: string) {
    super(reason);
  }
}

/** Where JSON.parse's `error` on `text` is, and its message made readable. */
export function jsonSyntaxError(text: string, error: Error): JsonSyntaxError {
  const message = error.message;
  const m = /at position (\d+)/.exec(message);
  const offset = m ? Number(m[1]) : /end of JSON input/.test(message) ? text.length : jsonErrorOffset(text);
  const reason = message.replace(/\s*\(line \d+ column \d+\)/, '').replace(/, (\.\.\.)?".*"(\.\.\.)? is not valid JSON$/s, '');
  return new JsonSyntaxError(offset, reason);
}

/**
 * Where JSON text first goes wrong, for the V8 messages that give no
 * position ("Unexpected token 'x', ... is not valid JSON"). Only runs on
 * bodies JSON.parse already refused.
 */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i])) i++; };
  const fail = (): never => { throw i; };
  const literal = (word: string) => { if (text.startsWith(word, i)) i += word.length; else fail(); };
  const string = () => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') { if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail(); i += 4; }
        else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0] === '' || m[0] === '-') fail();
    i += (m as RegExpExecArray)[0].length;
  };
  const value = (depth: number): void => {
    if (depth > 1000) fail();
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++; ws();
      if (text[i] === '}') { i++; return; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string(); ws();
        if (text[i] !== ':') fail();
        i++; value(depth + 1); ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return; }
        fail();
      }
    }
    if (ch === '[') {
      i++; ws();
      if (text[i] === ']') { i++; return; }
      for (;;) {
        value(depth + 1); ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return; }
        fail();
      }
    }
    if (ch === '"') return string();
    if (ch === 't') return literal('true');
    if (ch === 'f') return literal('false');
    if (ch === 'n') return literal('null');
    return number();
  };
  try {
    value(0); ws();
    return i < text.length ? i : undefined;
  } catch (at) {
    return typeof at === 'number' ? Math.min(at, text.length) : undefined;
  }
}

/** 1-based line and column of `offset` in `text`. */
export function lineColumn(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) { line++; lineStart = i + 1; }
  }
  return { line, col: offset - lineStart + 1 };
}

/** A value of a JSON stream and the (1-based) line it starts on. */
export interface JsonValueAt { value: unknown; line: number }

/**
 * The JSON values in `text` one after another (whitespace between them, or
 * none); an empty text holds none. Throws JsonSyntaxError with the offset
 * in the whole text.
 */
export function parseJsonStream(text: string): JsonValueAt[] {
  const values: JsonValueAt[] = [];
  let at = 0;
  let line = 1;
  for (;;) {
    for (; at < text.length && ' \t\n\r'.includes(text[at]); at++) if (text[at] === '\n') line++;
    if (at >= text.length) return values;
    const rest = at === 0 ? text : text.slice(at);
    let end: number;
    try {
      values.push({ value: JSON.parse(rest), line });
      return values;
    } catch (e) {
      const next = /^Unexpected non-whitespace character after JSON at position (\d+)/.exec((e as Error).message);
      if (!next) {
        const err = jsonSyntaxError(rest, e as Error);
        throw new JsonSyntaxError(err.offset === undefined ? undefined : err.offset + at, err.reason);
      }
      end = Number(next[1]);
    }
    values.push({ value: JSON.parse(rest.slice(0, end)), line });
    for (let i = 0; i < end; i++) if (rest.charCodeAt(i) === 10) line++;
    at += end;
  }
}
