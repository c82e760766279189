import { MAX_NESTING } from './nesting';
import { YamlInputError, parseYamlDocuments } from './yaml-text';

function errorOf(text: string): YamlInputError {
  try { parseYamlDocuments(text); } catch (e) { if (e instanceof YamlInputError) return e; throw e; }
  throw new Error('parsed');
}

describe('parseYamlDocuments', () => {
  it('gives each non-empty document as plain JSON with its first line', () => {
    expect(parseYamlDocuments('a: 1\n---\n---\n# only a comment\n---\nb: [1, {c: 2}]\n')).toEqual([
      { value: { a: 1 }, line: 1 },
      { value: { b: [1, { c: 2 }] }, line: 6 },
    ]);
  });

  it('names line and column of the first syntax error', () => {
    expect(errorOf('a: 1\na: 2\n')).toMatchObject({ line: 2, col: 1, reason: expect.stringMatching(/unique/), tooDeep: false });
  });

  it('refuses an anchor that contains itself', () => {
    expect(errorOf('kind: Pod\nmetadata: &m {name: x, self: *m}\n').reason).toMatch(/anchor refers to itself/);
  });

  // Each shape is a top-level map holding n levels more.
  it.each([
    ['flow lists', (n: number) => `x: ${'['.repeat(n)}${']'.repeat(n)}`, 1, 4 + (MAX_NESTING - 1)],
    ['flow maps', (n: number) => `x: ${'{a: '.repeat(n)}1${'}'.repeat(n)}`, 1, 4 + 4 * (MAX_NESTING - 1)],
    ['compact block lists', (n: number) => `x:\n${'- '.repeat(n)}1\n`, 2, 1 + 2 * (MAX_NESTING - 1)],
    ['indented block maps', (n: number) => Array.from({ length: n + 1 }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' 1\n', MAX_NESTING + 1, MAX_NESTING + 1],
  ])('takes %s up to the limit and refuses one level more, naming where it passes', (_what, yaml, line, col) => {
    expect(() => parseYamlDocuments(yaml(MAX_NESTING - 1))).not.toThrow();
    expect(errorOf(yaml(MAX_NESTING))).toMatchObject({ line, col, tooDeep: true, reason: `nests deeper than ${MAX_NESTING} levels` });
  });

  it.each([
    // yaml's parser recurses when a line closes many levels at once: these overflowed its stack.
    ['compact lists closed by the next key', `spec:\n${'- '.repeat(50_000)}1\nkind: Pod\n`, 2],
    ['indented maps closed by the next key', `a:\n${Array.from({ length: 20_000 }, (_, i) => `${' '.repeat(i + 1)}k:`).join('\n')} 1\nb: 2\n`, 500],
    ['20,000 flow lists', `x: ${'['.repeat(20_000)}${']'.repeat(20_000)}`, 1],
  ])('refuses %s before parsing them', (_what, text, line) => {
    expect(errorOf(text)).toMatchObject({ line, tooDeep: true, reason: expect.stringMatching(/too deep to read/) });
  });

  it.each([
    ['a quoted string of 1,100 brackets', `a: "${'['.repeat(1100)}"\n`],
    ['JSON text in a block scalar', `data:\n  config.json: |\n    ${'{"a": ['.repeat(600)}1${']}'.repeat(600)}\n`],
    ['unbalanced brackets in 1,100 block scalars', Array.from({ length: 1100 }, (_, i) => `---\nname: s${i}\nscript: |\n  if [ -z "$a" ; then\n`).join('')],
    ['a flow mapping of 1,100 keys on one line', `a: {${Array.from({ length: 1100 }, (_, i) => `k${i}: ${i}`).join(', ')}}\n`],
    ['a comment full of indicators', `a: 1 # ${'- : ? [ { '.repeat(300)}\n`],
  ])('takes %s, which only looks deep', (_what, text) => {
    expect(() => parseYamlDocuments(text)).not.toThrow();
  });

  it('refuses indicators separated by tabs before parsing them', () => {
    expect(errorOf(`${'-\t'.repeat(50_000)}x\nb\n`)).toMatchObject({ line: 1, tooDeep: true });
  });

  it('finds a repeated key among 20,000 in linear time (yaml itself took 3.7 s for as many)', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `k${i}: ${i}`);
    expect(parseYamlDocuments(keys.join('\n'))[0].value).toHaveProperty('k19999', 19999);
    expect(errorOf(`${keys.join('\n')}\nk7: again\n`)).toMatchObject({ line: 20_001, col: 1, reason: 'Map keys must be unique' });
  });

  it('refuses a document that aliases multiply past four times the text', () => {
    const big = 'x'.repeat(400_000);
    const text = `a: &big "${big}"\nb: [${Array.from({ length: 20 }, () => '*big').join(', ')}]\n`;
    expect(errorOf(text)).toMatchObject({ line: 1, reason: expect.stringMatching(/grows past \d+ characters through its aliases/) });
  });

  it('refuses values nested past the limit through aliases', () => {
    const err = errorOf(`a: &d ${'['.repeat(60)}1${']'.repeat(60)}\nb: ${'['.repeat(50)}*d${']'.repeat(50)}\n`);
    expect(err).toMatchObject({ line: 1, tooDeep: true, reason: expect.stringMatching(/through its aliases \(at b\[0\]\[0\]/) });
  });
  });
});
