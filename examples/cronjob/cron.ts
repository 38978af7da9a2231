/**
 * Cron schedules (`minute hour day-of-month month day-of-week`), as the CronJob example reads
 * them: `*`, numbers, ranges `a-b`, steps `*\/n` and `a-b/n`, and lists `a,b`; day-of-week 0 or 7
 * is Sunday. When both day fields are restricted, a day matching either one runs, as in cron.
 */

/** The five fields of a schedule, as the v2 API spells them. */
export interface CronFields {
  minute: string;
  hour: string;
  dayOfMonth: string;
  month: string;
  dayOfWeek: string;
}

const bounds = {
  minute: [0, 59],
  hour: [0, 23],
  dayOfMonth: [1, 31],
  month: [1, 12],
  dayOfWeek: [0, 7],
} as const;

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

/** The values a field allows; throws for a malformed field. */
function values(field: keyof CronFields, text: string): Set<number> {
  const [low, high] = bounds[field];
  const allowed = new Set<number>();
  for (const part of text.split(",")) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!match) throw new Error(`${field} "${text}" is not a cron field`);
    const from = match[1] === "*" ? low : Number(match[2]);
    const to = match[1] === "*" ? high : match[3] !== undefined ? Number(match[3]) : from;
    const step = match[4] !== undefined ? Number(match[4]) : 1;
    if (from < low || to > high || from > to || step < 1) {
      throw new Error(`${field} "${text}" is out of range ${low}-${high}`);
    }
    for (let value = from; value <= to; value += step) {
      allowed.add(field === "dayOfWeek" && value === 7 ? 0 : value);
    }
  }
  return allowed;
}

/** A parsed schedule: when it runs next. */
export class CronSchedule {
  readonly #minutes: Set<number>;
  readonly #hours: Set<number>;
  readonly #days: Set<number>;
  readonly #months: Set<number>;
  readonly #weekdays: Set<number>;
  readonly #anyDay: boolean;
  readonly #anyWeekday: boolean;

  constructor(fields: CronFields) {
    this.#minutes = values("minute", fields.minute);
    this.#hours = values("hour", fields.hour);
    this.#days = values("dayOfMonth", fields.dayOfMonth);
    this.#months = values("month", fields.month);
    this.#weekdays = values("dayOfWeek", fields.dayOfWeek);
    this.#anyDay = fields.dayOfMonth === "*";
    this.#anyWeekday = fields.dayOfWeek === "*";
  }

  static parse(schedule: string): CronSchedule {
    return new CronSchedule(splitSchedule(schedule));
  }

  #dayMatches(date: Date): boolean {
    const day = this.#days.has(date.getUTCDate());
    const weekday = this.#weekdays.has(date.getUTCDay());
    if (this.#anyDay) return weekday;
    if (this.#anyWeekday) return day;
    return day || weekday;
  }

  /** The first time after `after` (UTC, whole minutes), or undefined within 5 years. */
  next(after: Date): Date | undefined {
    const date = new Date(after.getTime());
    date.setUTCSeconds(0, 0);
    date.setUTCMinutes(date.getUTCMinutes() + 1);
    const limit = after.getTime() + 5 * 366 * 86_400_000;
    while (date.getTime() <= limit) {
      if (!this.#months.has(date.getUTCMonth() + 1)) {
        date.setUTCMonth(date.getUTCMonth() + 1, 1);
        date.setUTCHours(0, 0);
      } else if (!this.#dayMatches(date)) {
        date.setUTCDate(date.getUTCDate() + 1);
        date.setUTCHours(0, 0);
      } else if (!this.#hours.has(date.getUTCHours())) {
        date.setUTCHours(date.getUTCHours() + 1, 0);
      } else if (!this.#minutes.has(date.getUTCMinutes())) {
        date.setUTCMinutes(date.getUTCMinutes() + 1);
      } else {
        return date;
      }
    }
    return undefined;
  }
}
