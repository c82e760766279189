import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandManifestPaths, parseManifests, readManifests } from './manifest-reader';

const pod = (name: string) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  containers:\n  - name: c\n    image: busybox\n`;

describe('parseManifests', () => {
  it.each([
    ['one document', pod('a'), ['a']],
    ['several documents, empty ones skipped', `${pod('a')}---\n---\n# just a comment\n---\n${pod('b')}`, ['a', 'b']],
    ['a List expands to its items', 'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: x}}\n- {apiVersion: v1, kind: Pod, metadata: {name: y}}\n', ['x', 'y']],
    ['a PodList expands too', 'apiVersion: v1\nkind: PodList\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: z}}\n', ['z']],
    ['JSON', '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "j"}}', ['j']],
    ['tab-indented JSON', '{\n\t"apiVersion": "v1",\n\t"kind": "Pod",\n\t"metadata": {"name": "t"}\n}\n', ['t']],
    ['an empty file', '\n# nothing\n', []],
    ['JSON objects one after another', '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}\n{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b"}}{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "c"}}\n', ['a', 'b', 'c']],
  ])('%s', (_, text, names) => {
    expect(parseManifests(text, 'f.yaml').map((m) => m.object.metadata.name)).toEqual(names);
  });

  it('reads a .json file of JSON objects one after another, as kubectl does, each with its line', () => {
    const text = '{"apiVersion": "v1", "kind": "Pod",\n "metadata": {"name": "a"}}\n\n{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b"}}\n';
    expect(parseManifests(text, 'pods.json').map((m) => [m.object.metadata.name, m.source])).toEqual([['a', 'pods.json:1'], ['b', 'pods.json:4']]);
    expect(parseManifests('  \n', 'empty.json')).toEqual([]);
  });

  it('records the file and line of each document', () => {
    const found = parseManifests(`${pod('a')}---\n${pod('b')}`, 'pods.yaml');
    expect(found.map((m) => m.source)).toEqual(['pods.yaml:1', 'pods.yaml:10']);
  });

  it.each([
    ['a nested mapping on one line', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n   labels: x\n', /^bad\.yaml:4:9: Nested mappings/],
    ['a tab as indentation', 'apiVersion: v1\nkind: Pod\nmetadata:\n\tname: a\n', /^bad\.yaml:4:1: /],
    ['a duplicate key', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n', /^bad\.yaml:5:\d+: .*unique/i],
    ['an unclosed flow mapping', 'apiVersion: v1\nkind: Pod\nmetadata: {name: a\n', /^bad\.yaml:\d+:\d+: /],
    ['broken JSON', '{"apiVersion": "v1", "kind": }', /^bad\.json:1:30: not valid JSON: Unexpected token '}'$/],
    ['JSON cut short', '{\n"a": 1', /^bad\.json:2:\d+: not valid JSON: /],
    ['a broken second JSON object', '{"apiVersion": "v1"}\n{"apiVersion": }', /^bad\.json:2:16: not valid JSON: Unexpected token '}'$/],
    ['JSON nested 3,000 levels deep', `{"kind": "Pod",\n "spec": ${'{"a": '.repeat(3000)}1${'}'.repeat(3001)}`, /^bad\.json:1: nests deeper than 100 levels \(at spec\.a\.a\.a\.a\.a…\)/],
    ['YAML nested 5,000 levels deep', `apiVersion: v1\nkind: Pod\nspec: ${'['.repeat(5000)}${']'.repeat(5000)}\n`, /^bad\.yaml:3:\d+: is indented or nested too deep to read/],
  ])('names file and line for %s', (_, text, message) => {
    const file = String(message).includes('json') ? 'bad.json' : 'bad.yaml';
    expect(() => parseManifests(text, file)).toThrow(message);
  });

  it.each([
    ['kind', 'apiVersion: v1\nmetadata: {name: a}\n', 'f.yaml:1: kind is required'],
    ['apiVersion', 'kind: Pod\nmetadata: {name: a}\n', 'f.yaml:1: apiVersion is required'],
    ['an object', '---\n- 1\n', 'expected an object'],
  ])('requires %s', (_, text, message) => {
    expect(() => parseManifests(text, 'f.yaml')).toThrow(message);
  });
});

describe('readManifests', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kern-manifests-'));
    writeFileSync(join(dir, 'b.yaml'), pod('b'));
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a' } }));
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'c.yml'), pod('c'));
    mkdirSync(join(dir, 'empty'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a directory in name order, skipping other files', async () => {
    const { objects, errors } = await readManifests([dir]);
    expect(errors).toEqual([]);
    expect(objects.map((o) => o.object.metadata.name)).toEqual(['a', 'b']);
  });

  it('goes into subdirectories with recursive', () => {
    expect(expandManifestPaths([dir], true).map((p) => p.slice(dir.length + 1))).toEqual(['a.json', 'b.yaml', 'sub/c.yml']);
  });

  it('reads stdin for -', async () => {
    const { objects } = await readManifests(['-'], { stdin: async () => pod('s') });
    expect(objects).toEqual([expect.objectContaining({ source: '<stdin>:1' })]);
  });

  it('collects the errors of every bad file', async () => {
    const bad = join(dir, 'sub', 'bad.yaml');
    writeFileSync(bad, 'kind: [\n');
    const { objects, errors } = await readManifests([join(dir, 'b.yaml'), bad]);
    expect(objects).toHaveLength(1);
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/bad\.yaml:\d+:\d+: /)]);
    rmSync(bad);
  });

  it.each([
    ['a missing file', ['/no/such/file.yaml'], 'no such file or directory'],
    ['a directory without manifests', ['EMPTY'], 'no .yaml, .yml or .json files'],
    ['no path at all', [], 'no manifest given'],
  ])('fails clearly for %s', async (_, paths, message) => {
    await expect(readManifests(paths.map((p) => (p === 'EMPTY' ? join(dir, 'empty') : p)))).rejects.toThrow(message);
  });
});
