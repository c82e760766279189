import { copyAsJson, shallowCopy } from './json-copy';

const roundTrip = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

describe('copyAsJson', () => {
  const date = new Date('2026-11-27T00:00:00.000Z');
  it.each<[string, unknown]>([
    ['a pod', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { app: 'x' }, generation: 2 },
      spec: { containers: [{ name: 'c', image: 'i', command: ['sleep', '1'], resources: { requests: { cpu: '100m' } } }], nodeName: 'n' },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    }],
    ['undefined, functions and symbols left out of objects', { a: undefined, b: () => 1, c: Symbol('s'), d: 1 }],
    ['and null in arrays', [undefined, () => 1, Symbol('s'), 1]],
    ['numbers JSON cannot hold', { nan: NaN, inf: Infinity, ninf: -Infinity, negZero: -0, big: 1e300 }],
    ['toJSON (a Date)', { when: date, nested: [date] }],
    ['boxed primitives', { s: new String('x'), n: new Number(3), b: new Boolean(false) }],
    ['key order, integer keys first', { b: 1, 2: 'two', a: 2, 1: 'one' }],
    ['nulls and empties', { n: null, o: {}, a: [], s: '' }],
    ['a Map and a Set (no own enumerable keys)', { m: new Map([[1, 2]]), s: new Set([1]) }],
    ['a top-level string', 'text'],
    ['a top-level null', null],
  ])('%s', (_name, value) => {
    const copied = copyAsJson(value);
    expect(copied).toEqual(roundTrip(value));
    expect(JSON.stringify(copied)).toBe(JSON.stringify(value));
  });

  it('keeps "__proto__" as an own property, as JSON.parse does', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    const copied = copyAsJson(value);
    expect(Object.getPrototypeOf(copied)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(copied)).toEqual(['__proto__', 'a']);
    expect(JSON.stringify(copied)).toBe(JSON.stringify(value));
  });

  it('shares nothing with its input', () => {
    const value = { spec: { list: [{ a: 1 }] } };
    const copied = copyAsJson(value);
    copied.spec.list[0].a = 2;
    expect(value.spec.list[0].a).toBe(1);
  });

  it('leaves out inherited properties, as JSON.stringify does', () => {
    const value = Object.create({ inherited: 1 }) as Record<string, unknown>;
    value.own = 2;
    expect(copyAsJson(value)).toEqual({ own: 2 });
  });
});

describe('copyAsJson with toJSON of its own', () => {
  it('uses a plain object\'s own toJSON, as JSON.stringify does', () => {
    const value = { a: 1, nested: { b: 2, toJSON: () => ({ replaced: true }) } };
    expect(copyAsJson(value)).toEqual(JSON.parse(JSON.stringify(value)));
  });

  it('asks toJSON once: what it returns is not asked again', () => {
    const value = { a: { toJSON: () => new Date(0) }, b: { toJSON: () => ({ toJSON: () => 'never' }) } };
    expect(copyAsJson(value)).toEqual(JSON.parse(JSON.stringify(value)));
  });

  it('uses the toJSON of a class instance', () => {
    class Money { constructor(readonly cents: number) {} toJSON() { return `${this.cents / 100} EUR`; } }
    const value = { price: new Money(250), list: [new Money(100)] };
    expect(copyAsJson(value)).toEqual(JSON.parse(JSON.stringify(value)));
  });

  it('copies a class instance without toJSON as its own enumerable fields', () => {
    class Point { constructor(readonly x: number, readonly y: number) {} get norm() { return Math.hypot(this.x, this.y); } }
    const value = { p: new Point(3, 4), none: Object.create(null) as object };
    expect(copyAsJson(value)).toEqual(JSON.parse(JSON.stringify(value)));
  });
});

describe('shallowCopy', () => {
  it('copies own keys into a fresh object that shares the values', () => {
    const nested = { a: 1 };
    const source = { x: 'y', nested };
    const copy = shallowCopy(source);
    expect(copy).toEqual(source);
    expect(copy).not.toBe(source);
    expect(copy.nested).toBe(nested);
    expect(Object.keys(copy)).toEqual(['x', 'nested']);
  });

  it('keeps a parsed "__proto__" key a key, not the copy\'s prototype', () => {
    const parsed = JSON.parse('{"name":"x","__proto__":{"namespace":"other"}}') as Record<string, unknown>;
    const copy = shallowCopy(parsed);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(['name', '__proto__']);
    expect((copy as { namespace?: string }).namespace).toBeUndefined();
  });
});
