import { MAX_MISSED_SCHEDULES, missedSchedules, parseSchedule } from './cron-schedule';

const t = (iso: string) => new Date(iso).getTime();
const iso = (ms: number) => new Date(ms).toISOString();

describe('parseSchedule', () => {
  it.each([
    ['*/15 * * * *', undefined, '2024-03-10T06:59:30Z', '2024-03-10T07:00:00.000Z'],
    ['0 9 * * mon-fri', 'Europe/Berlin', '2024-03-09T12:00:00Z', '2024-03-11T08:00:00.000Z'],
    // America/New_York springs forward on 2024-03-10: 09:00 EDT is 13:00 UTC.
    ['0 9 * * *', 'America/New_York', '2024-03-10T00:00:00Z', '2024-03-10T13:00:00.000Z'],
    ['0 9 * * *', 'America/New_York', '2024-03-09T00:00:00Z', '2024-03-09T14:00:00.000Z'],
    ['@hourly', undefined, '2024-03-10T06:59:30Z', '2024-03-10T07:00:00.000Z'],
    ['@midnight', 'UTC', '2024-03-10T06:59:30Z', '2024-03-11T00:00:00.000Z'],
  ])('%s in %s after %s is %s', (schedule, tz, after, expected) => {
    expect(iso(parseSchedule(schedule, tz).next(t(after)))).toBe(expected);
  });

  it.each([
    ['', 'spec.schedule'],
    ['* * * *', 'spec.schedule'],
    ['0 * * * * *', 'spec.schedule'],
    ['61 * * * *', 'spec.schedule'],
    ['TZ=UTC * * * * *', 'spec.schedule'],
    ['@every 5m', 'spec.schedule'],
  ])('refuses %j naming %s', (schedule, field) => {
    expect(() => parseSchedule(schedule)).toThrow(expect.objectContaining({ kind: 'Invalid', field }));
  });

  it('refuses an unknown time zone naming spec.timeZone', () => {
    expect(() => parseSchedule('* * * * *', 'Mars/Olympus')).toThrow(expect.objectContaining({ kind: 'Invalid', field: 'spec.timeZone' }));
  });

  it('finds the latest start time at or before a moment', () => {
    const s = parseSchedule('*/5 * * * *');
    expect(iso(s.latest(t('2024-03-10T07:00:00Z'))!)).toBe('2024-03-10T07:00:00.000Z');
    expect(iso(s.latest(t('2024-03-10T07:04:59Z'))!)).toBe('2024-03-10T07:00:00.000Z');
  });
});

describe('missedSchedules', () => {
  const s = parseSchedule('* * * * *');
  it.each([
    ['none yet', '2024-03-10T07:00:00Z', '2024-03-10T07:00:59Z', 0, undefined],
    ['one', '2024-03-10T07:00:00Z', '2024-03-10T07:01:00Z', 1, '2024-03-10T07:01:00.000Z'],
    ['three', '2024-03-10T07:00:00Z', '2024-03-10T07:03:30Z', 3, '2024-03-10T07:03:00.000Z'],
    ['too many (counting stops)', '2024-03-10T07:00:00Z', '2024-03-10T12:00:00Z', MAX_MISSED_SCHEDULES + 1, '2024-03-10T12:00:00.000Z'],
  ])('%s', (_name, after, now, count, latest) => {
    const r = missedSchedules(s, t(after), t(now));
    expect(r.count).toBe(count);
    expect(r.latest === undefined ? undefined : iso(r.latest)).toBe(latest);
  });
});
