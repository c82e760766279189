import { columnWidths, formatRow, formatTable } from './table-printer';

describe('formatTable', () => {
  it('aligns columns with three spaces and no trailing blanks', () => {
    expect(formatTable(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'], [
      ['web', '0/1', 'Pending', '0', '5s'],
      ['a-much-longer-name', '1/1', 'Running', '12', '3m20s'],
    ])).toEqual([
      'NAME                 READY   STATUS    RESTARTS   AGE',
      'web                  0/1     Pending   0          5s',
      'a-much-longer-name   1/1     Running   12         3m20s',
    ]);
  });

  it('keeps narrow columns at least six wide, as kubectl does', () => {
    expect(formatTable(['ID', 'X'], [['a', 'b']])).toEqual(['ID    X', 'a     b']);
  });

  it('prints just the header for no rows', () => {
    expect(formatTable(['NAME', 'AGE'], [])).toEqual(['NAME   AGE']);
  });
});

describe('formatRow', () => {
  it('lines a later row up under earlier widths, with at least one space when it overflows', () => {
    const widths = columnWidths(['NAME', 'AGE'], [['web', '5s']]);
    expect(formatRow(['db', '1s'], widths)).toBe('db     1s');
    expect(formatRow(['a-longer-name', '1s'], widths)).toBe('a-longer-name 1s');
  });
});
