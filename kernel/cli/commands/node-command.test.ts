import { applyTaintChanges, parseTaintArg } from './node-command';

describe('parseTaintArg', () => {
  it.each([
    ['dedicated=gpu:NoSchedule', { add: { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' } }],
    ['maint:NoExecute', { add: { key: 'maint', effect: 'NoExecute' } }],
    ['example.com/zone=a:b:PreferNoSchedule', { add: { key: 'example.com/zone', value: 'a:b', effect: 'PreferNoSchedule' } }],
    ['dedicated:NoSchedule-', { remove: { key: 'dedicated', effect: 'NoSchedule' } }],
    ['dedicated-', { remove: { key: 'dedicated', effect: undefined } }],
  ])('%s', (arg, change) => {
    expect(parseTaintArg(arg)).toEqual(change);
  });

  it.each([
    ['=v:NoSchedule', /has no key/],
    ['k=v', /needs an effect/],
    ['k=v:NoRun', /the effect must be NoSchedule, PreferNoSchedule or NoExecute, got "NoRun"/],
  ])('refuses %s', (arg, message) => {
    expect(() => parseTaintArg(arg)).toThrow(message);
  });
});

describe('applyTaintChanges', () => {
  const now = new Date('2026-01-01T00:00:00Z');

  it('adds, replaces the value of the same key and effect, and stamps NoExecute taints', () => {
    const out = applyTaintChanges([{ key: 'a', value: '1', effect: 'NoSchedule' }], [
      parseTaintArg('a=2:NoSchedule'), parseTaintArg('b:NoExecute'),
    ], now);
    expect(out).toEqual([{ key: 'a', value: '2', effect: 'NoSchedule' }, { key: 'b', effect: 'NoExecute', timeAdded: '2026-01-01T00:00:00.000Z' }]);
  });

  it('removes by key and effect, or every effect of a key; refuses to remove what is not there', () => {
    const taints = [{ key: 'a', effect: 'NoSchedule' as const }, { key: 'a', effect: 'NoExecute' as const }, { key: 'b', effect: 'NoSchedule' as const }];
    expect(applyTaintChanges(taints, [parseTaintArg('a:NoExecute-')])).toEqual([taints[0], taints[2]]);
    expect(applyTaintChanges(taints, [parseTaintArg('a-')])).toEqual([taints[2]]);
    expect(() => applyTaintChanges(taints, [parseTaintArg('c-')])).toThrow(/has no taint c to remove/);
  });
});
