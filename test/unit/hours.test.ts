import { describe, expect, it } from 'vitest';
import { hoursStatus, localTime } from '../../src/ivr/hours.js';

const hours = {
  timezone: 'America/New_York',
  weekly: { mon: [['08:00', '20:00']] as [string, string][], sat: [['10:00', '16:00']] as [string, string][] },
  holidays: ['2026-12-28'],
};

describe('business hours', () => {
  it('evaluates in the schedule time zone, [start, end)', () => {
    expect(localTime(Date.UTC(2026, 0, 5, 13, 0), 'America/New_York')).toEqual({ date: '2026-01-05', weekday: 'mon', minutes: 8 * 60 });
    expect(hoursStatus(hours, Date.UTC(2026, 0, 5, 13, 0))).toBe('open'); // 08:00 NY
    expect(hoursStatus(hours, Date.UTC(2026, 0, 5, 12, 59))).toBe('closed'); // 07:59 NY
    expect(hoursStatus(hours, Date.UTC(2026, 0, 6, 1, 0))).toBe('closed'); // 20:00 NY, end excluded
    expect(hoursStatus(hours, Date.UTC(2026, 0, 6, 0, 59))).toBe('open'); // 19:59 NY
  });
  it('handles daylight saving time', () => {
    // 6 July 2026 is a Monday; New York is UTC-4 in summer.
    expect(hoursStatus(hours, Date.UTC(2026, 6, 6, 12, 0))).toBe('open');
    expect(hoursStatus(hours, Date.UTC(2026, 6, 6, 11, 59))).toBe('closed');
  });
  it('holidays win over the weekly schedule', () => {
    expect(hoursStatus(hours, Date.UTC(2026, 11, 28, 15, 0))).toBe('holiday'); // Monday 28 Dec 10:00 NY
  });
  it("gives the time zone's own local time at every instant, the same minute asked again included (cached per UTC minute)", () => {
    const fresh = (ms: number, tz: string) => {
      const p = Object.fromEntries(
        new Intl.DateTimeFormat('en-US', {
          timeZone: tz,
          year: 'numeric',
          month: '2-digit',
          day: '2-digit',
          weekday: 'short',
          hour: '2-digit',
          minute: '2-digit',
          hourCycle: 'h23',
        })
          .formatToParts(new Date(ms))
          .map((x) => [x.type, x.value]),
      );
      return {
        date: `${p.year}-${p.month}-${p.day}`,
        weekday: String(p.weekday).toLowerCase(),
        minutes: Number(p.hour) * 60 + Number(p.minute),
      };
    };
    // Around a daylight-saving change in New York (8 March 2026, 02:00 local) and a half-hour zone, each
    // minute asked at its start, in its middle and just before its end, zones interleaved.
    const zones = ['America/New_York', 'Asia/Kolkata', 'Australia/Adelaide', 'UTC'];
    for (let m = 0; m < 240; m++) {
      const start = Date.UTC(2026, 2, 8, 5, 0) + m * 60_000;
      for (const at of [start, start + 30_000, start + 59_999])
        for (const tz of zones) expect(localTime(at, tz), `${new Date(at).toISOString()} ${tz}`).toEqual(fresh(at, tz));
    }
  });
});
