import { LineCounter } from 'yaml';
import { MAX_NESTING, YamlTooDeep, parseYamlDocuments, tooDeepAt } from './nesting';

/** `levels` objects inside one another, as {a: {a: ... 1}}. */
function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

describe('tooDeepAt', () => {
  it('passes objects up to the limit', () => {
    expect(tooDeepAt({ kind: 'ConfigMap', data: { a: 'b' }, list: [[1], [2]] })).toBeUndefined();
    expect(tooDeepAt(nested(MAX_NESTING))).toBeUndefined();
    expect(tooDeepAt('text')).toBeUndefined();
  });

  it('names the path to the first level past the limit, shortened', () => {
    expect(tooDeepAt(nested(MAX_NESTING + 1))).toBe('a.a.a.a.a.a…');
    expect(tooDeepAt({ spec: { list: [0, { x: [[]] }] } }, 4)).toBe('spec.list[1].x');
    expect(tooDeepAt([[[]]], 2)).toBe('[0][0]');
    expect(tooDeepAt({}, 0)).toBe('(top level)');
  });

  it('walks 100,000 levels without running out of stack', () => {
    expect(tooDeepAt(nested(100_000))).toBe('a.a.a.a.a.a…');
  });
});

describe('parseYamlDocuments', () => {
  it('parses documents as parseAllDocuments does', () => {
    const docs = parseYamlDocuments('a: 1\n---\nb: [1, {c: 2}]\n');
    expect(docs.map((d) => d.toJS())).toEqual([{ a: 1 }, { b: [1, { c: 2 }] }]);
  });

  it('keeps syntax errors on their document, with positions from the line counter', () => {
    const lines = new LineCounter();
    const [doc] = parseYamlDocuments('a: 1\na: 2\n', lines);
    expect(doc.errors[0].message).toMatch(/unique/);
    expect(lines.linePos(doc.errors[0].pos[0])).toEqual({ line: 2, col: 1 });
  });

  // Each shape is a top-level map holding n levels more.
  it.each([
    ['flow lists', (n: number) => `x: ${'['.repeat(n)}${']'.repeat(n)}`],
    ['flow maps', (n: number) => `x: ${'{a: '.repeat(n)}1${'}'.repeat(n)}`],
    ['compact block lists', (n: number) => `x:\n${'- '.repeat(n)}1\n`],
    ['indented block maps', (n: number) => Array.from({ length: n + 1 }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ` 1\n`],
  ])('takes %s up to the limit and refuses one level more, where it starts', (_what, yaml) => {
    expect(() => parseYamlDocuments(yaml(MAX_NESTING - 1))).not.toThrow();
    let err: unknown;
    try { parseYamlDocuments(yaml(MAX_NESTING)); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(YamlTooDeep);
    expect((err as YamlTooDeep).line).toBeGreaterThan(0);
  });

  it('says where the limit is crossed', () => {
    expect(() => parseYamlDocuments(`a: 1\nb: ${'['.repeat(MAX_NESTING)}${']'.repeat(MAX_NESTING)}\n`)).toThrow(/at line 2, column 103$/);
  });

  it('refuses 20,000 levels quickly, without composing them', () => {
    const started = Date.now();
    expect(() => parseYamlDocuments(`x: ${'['.repeat(20_000)}${']'.repeat(20_000)}`)).toThrow(YamlTooDeep);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
