/** Business hours and holidays, evaluated in each schedule's own time zone. */
import type { Hours, Weekday } from '../config/callcenter.js';

const DAYS: Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const fmtCache = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = fmtCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    fmtCache.set(tz, f);
  }
  return f;
}

type LocalTime = { date: string; weekday: Weekday; minutes: number };

/**
 * The last answer per time zone, by UTC minute: every time zone in use today is offset from UTC by whole
 * minutes, so the local date, weekday and minute change only when the UTC minute does. Saves an
 * `Intl.DateTimeFormat.formatToParts` (the costliest step of an incoming call's IVR step) on all but the
 * first call of each minute.
 */
const lastByZone = new Map<string, { minute: number; t: LocalTime }>();

/** Local date, weekday and minutes after midnight of an instant in a time zone. */
export function localTime(nowMs: number, tz: string): LocalTime {
  const minute = Math.floor(nowMs / 60_000);
  const last = lastByZone.get(tz);
  if (last?.minute === minute) return last.t;
  const t = computeLocalTime(nowMs, tz);
  lastByZone.set(tz, { minute, t });
  return t;
}

function computeLocalTime(nowMs: number, tz: string): LocalTime {
  const parts = Object.fromEntries(
    formatter(tz)
      .formatToParts(new Date(nowMs))
      .map((p) => [p.type, p.value]),
  );
  const weekday = DAYS[['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday ?? '')] ?? 'mon';
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    weekday,
    minutes: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

const toMinutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** 'open', 'closed' or 'holiday' for an instant. Ranges are [start, end): 09:00–17:00 is closed at 17:00. */
export function hoursStatus(hours: Hours, nowMs: number): 'open' | 'closed' | 'holiday' {
  const t = localTime(nowMs, hours.timezone);
  if (hours.holidays.includes(t.date)) return 'holiday';
  const ranges = hours.weekly[t.weekday] ?? [];
  return ranges.some(([a, b]) => t.minutes >= toMinutes(a) && t.minutes < toMinutes(b)) ? 'open' : 'closed';
}
