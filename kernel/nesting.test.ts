import { MAX_NESTING, tooDeepAt } from './nesting';

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
