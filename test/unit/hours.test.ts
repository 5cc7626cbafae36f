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
});
