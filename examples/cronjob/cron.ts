/**
 * Cron schedules (`minute hour day-of-month month day-of-week`, in UTC) as the CronJob example
 * reads them, with the `cron-parser` package: the five fields the v2 API spells out, the latest
 * scheduled time that is due, and the next one.
 */
import { CronExpressionParser } from "cron-parser";

/** The five fields of a schedule, as the v2 API spells them. */
export interface CronFields {
  minute: string;
  hour: string;
  dayOfMonth: string;
  month: string;
  dayOfWeek: string;
}

/** The five fields of `"*\/5 * * * *"`; throws naming what is wrong. */
export function splitSchedule(schedule: string): CronFields {
  const parts = schedule.trim().split(/\s+/);
  if (parts.length !== 5) {
    throw new Error(
      `schedule "${schedule}" is not a cron expression: expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`,
    );
  }
  const [minute, hour, dayOfMonth, month, dayOfWeek] = parts as [
    string,
    string,
    string,
    string,
    string,
  ];
  return { minute, hour, dayOfMonth, month, dayOfWeek };
}

/**
 * The parsed schedule, iterating from `currentDate`. Five fields only, as Kubernetes reads them
 * (cron-parser would also take a sixth, for seconds). The seed makes `H` (a value picked per
 * CronJob) the same on every call. Throws naming what is wrong.
 */
export function parseSchedule(schedule: string, seed = "", currentDate = new Date()) {
  splitSchedule(schedule);
  try {
    return CronExpressionParser.parse(schedule.trim(), { currentDate, tz: "UTC", hashSeed: seed });
  } catch (error) {
    throw new Error(`schedule "${schedule}" is not a cron expression: ${(error as Error).message}`);
  }
}

/** The latest scheduled time after `since` and not after `now`, if any. */
export function lastDueTime(
  schedule: string,
  seed: string,
  since: Date,
  now: Date,
): Date | undefined {
  // prev() gives the latest time strictly before its start: start just after `now`.
  const latest = parseSchedule(schedule, seed, new Date(now.getTime() + 1))
    .prev()
    .toDate();
  return latest > since ? latest : undefined;
}

/** The first scheduled time after `now`. */
export function nextTime(schedule: string, seed: string, now: Date): Date {
  return parseSchedule(schedule, seed, now).next().toDate();
}
