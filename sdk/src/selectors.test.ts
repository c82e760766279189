import { parseLabelSelector, sameLabels, selectedEventType } from './selectors';

describe('selectedEventType', () => {
  const web = parseLabelSelector('tier=web');
  it.each([
    ['an update within the selection', 'MODIFIED', { tier: 'web' }, { tier: 'web', v: '2' }, 'MODIFIED'],
    ['an update into it', 'MODIFIED', { tier: 'web' }, { tier: 'db' }, 'ADDED'],
    ['an update out of it', 'MODIFIED', { tier: 'db' }, { tier: 'web' }, 'DELETED'],
    ['an update outside it', 'MODIFIED', { tier: 'db' }, { tier: 'x' }, undefined],
    ['an update with the labels unknown', 'MODIFIED', { tier: 'web' }, undefined, 'MODIFIED'],
    ['a delete whose last update moved it out', 'DELETED', { tier: 'db' }, { tier: 'web' }, 'DELETED'],
    ['a delete whose last update moved it in', 'DELETED', { tier: 'web' }, { tier: 'db' }, 'DELETED'],
    ['a delete never selected', 'DELETED', { tier: 'db' }, undefined, undefined],
    ['a create', 'ADDED', { tier: 'web' }, undefined, 'ADDED'],
  ] as const)('gives %s', (_what, type, labels, previous, expected) => {
    expect(selectedEventType(web, type, labels, previous)).toBe(expected);
  });
});

describe('sameLabels', () => {
  it('compares pairs, missing maps as empty', () => {
    expect(sameLabels({ a: '1', b: '2' }, { b: '2', a: '1' })).toBe(true);
    expect(sameLabels(undefined, {})).toBe(true);
    expect(sameLabels({ a: '1' }, { a: '2' })).toBe(false);
    expect(sameLabels({ a: '1' }, { b: '1' })).toBe(false);
    expect(sameLabels({ a: '1' }, undefined)).toBe(false);
  });
});
