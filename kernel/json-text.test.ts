import { JsonSyntaxError, jsonSyntaxError, lineColumn, parseJsonStream } from './json-text';

function syntaxErrorOf(text: string): JsonSyntaxError {
  try { JSON.parse(text); } catch (e) { return jsonSyntaxError(text, e as Error); }
  throw new Error(`${text} parsed`);
}

describe('jsonSyntaxError', () => {
  it.each([
    ['a position V8 gives', '{"a": 1,}', 8],
    ['text cut short', '{"a": ', 6],
    ['a token V8 names without a position', '{"a": }', 6],
  ])('finds %s', (_what, text, offset) => {
    expect(syntaxErrorOf(text).offset).toBe(offset);
  });

  it("drops V8's echo of the text", () => {
    expect(syntaxErrorOf('{"a": }').reason).toBe("Unexpected token '}'");
  });
});

describe('parseJsonStream', () => {
  it('reads values one after another, with or without whitespace, each with its line', () => {
    expect(parseJsonStream('{"a":1}\n {"b":2}[3]\n\n{"c":\n3}')).toEqual([{ value: { a: 1 }, line: 1 }, { value: { b: 2 }, line: 2 }, { value: [3], line: 2 }, { value: { c: 3 }, line: 4 }]);
    expect(parseJsonStream(' \n')).toEqual([]);
  });

  it('places an error in a later value in the whole text', () => {
    let err: unknown;
    try { parseJsonStream('{"a":1}\n{"b": }'); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(JsonSyntaxError);
    expect(lineColumn('{"a":1}\n{"b": }', (err as JsonSyntaxError).offset!)).toEqual({ line: 2, col: 7 });
  });
});
