import { CronExpressionParser } from 'cron-parser';
import { errors } from '@kern/sdk';

/** More missed start times than this and only the latest runs (as in Kubernetes). */
export const MAX_MISSED_SCHEDULES = 100;

const MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

/** A parsed `spec.schedule` in a time zone. */
export interface CronSchedule {
  /** The first start time strictly after `after` (ms since the epoch). */
  next(after: number): number;
  /** The latest start time at or before `at`, or undefined when there is none. */
  latest(at: number): number | undefined;
}

/**
 * Parses standard five-field cron syntax (minute hour day-of-month month
 * day-of-week, with names, ranges, steps and `?`) or a macro (`@hourly`,
 * `@daily`/`@midnight`, `@weekly`, `@monthly`, `@yearly`/`@annually`),
 * evaluated in `timeZone` (IANA name; default UTC). Invalid names the field.
 */
export function parseSchedule(schedule: string, timeZone?: string): CronSchedule {
  const text = typeof schedule === 'string' ? schedule.trim() : '';
  if (!text) throw errors.invalid('spec.schedule', 'is required (five cron fields such as "*/5 * * * *", or @hourly)');
  if (/^(CRON_)?TZ=/.test(text)) throw errors.invalid('spec.schedule', 'must not set TZ= in the schedule: use spec.timeZone');
  if (text.startsWith('@') ? !MACROS.has(text) : text.split(/\s+/).length !== 5) {
    throw errors.invalid('spec.schedule', `"${text}" is not standard cron syntax: use five fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly`);
  }
  const tz = timeZone || 'UTC';
  checkTimeZone(tz);
  const expression = text === '@midnight' ? '@daily' : text;
  const parse = (currentDate: number) => CronExpressionParser.parse(expression, { currentDate: new Date(currentDate), tz, strict: false });
  try {
    parse(0).next();
  } catch (e) {
    throw errors.invalid('spec.schedule', `"${text}": ${(e as Error).message}`);
  }
  return {
    next: (after) => parse(after).next().getTime(),
    latest: (at) => {
      const e = parse(at + 1);
      return e.hasPrev() ? e.prev().getTime() : undefined;
    },
  };
}

/** Throws Invalid naming `spec.timeZone` unless `tz` is an IANA time zone this runtime knows. */
export function checkTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw errors.invalid('spec.timeZone', `"${tz}" is not a known IANA time zone (for example Europe/Berlin or America/New_York)`);
  }
}

/**
 * The start times in (`after`, `now`]: the latest one, and how many there
 * were, counting no further than {@link MAX_MISSED_SCHEDULES} + 1.
 */
export function missedSchedules(schedule: CronSchedule, after: number, now: number): { latest?: number; count: number } {
  let count = 0;
  let t = after;
  for (;;) {
    t = schedule.next(t);
    if (t > now) break;
    count++;
    if (count > MAX_MISSED_SCHEDULES) break;
  }
  if (count === 0) return { count };
  return { latest: schedule.latest(now), count };
}
