/**
 * The forecast methods on histories whose answer is known exactly (no noise), the day screening, the
 * backtest's choice when one method is clearly better, and the plan CLI's argument errors.
 */
import { describe, expect, it } from 'vitest';
import { accuracy, backtest, forecastWeek, holtWinters, screenDays, seasonalTrend, theilSen } from '../../src/capacity/forecast.js';
import { parsePlanArgs } from '../../src/capacity/plan-cli.js';
import { rng } from '../helpers/history.js';

const S = 7 * 24; // hourly slots
const shape = (s: number) => {
  const day = Math.floor(s / 24);
  const hour = s % 24;
  return (day >= 5 ? 0.3 : 1) * (hour >= 8 && hour < 18 ? 10 : 1);
};
/** Weeks of exact values: level × (1 + trend·week) × shape. */
const exact = (weeks: number, trend: number) =>
  Array.from({ length: weeks * S }, (_, i) => 10 * (1 + trend * Math.floor(i / S)) * shape(i % S));

describe('forecast methods', () => {
  it('Theil–Sen ignores one outlier', () => {
    expect(theilSen([0, 1, 2, 3, 4], [1, 3, 5, 100, 9])).toEqual({ slope: 2, intercept: 1 });
  });

  it('seasonal_trend extrapolates a weekly pattern with a linear trend exactly', () => {
    const values = exact(6, 0.05);
    const f = seasonalTrend({ values, slotsPerWeek: S });
    const next = exact(7, 0.05).slice(6 * S);
    f.forEach((x, s) => expect(x).toBeCloseTo(next[s]!, 6));
  });

  it('screens out a holiday and an outage, and the forecast does not see them', () => {
    const values: (number | null)[] = exact(6, 0);
    for (let k = 0; k < 24; k++) values[3 * S + 2 * 24 + k] = values[3 * S + 2 * 24 + k]! * 0.1; // week 4, Wednesday
    for (let k = 10; k < 14; k++) values[S + k] = null; // week 2, Monday 10:00–14:00
    const { anomalousDays, usable } = screenDays({ values, slotsPerWeek: S });
    expect(anomalousDays.map((d) => [d.week, d.day])).toEqual([[3, 2]]);
    expect(usable.filter((u) => !u).length).toBe(24 + 4);
    for (const m of ['seasonal_trend', 'holt_winters'] as const) {
      const f = forecastWeek(m, { values, slotsPerWeek: S });
      f.forEach((x, s) => expect(Math.abs(x / (10 * shape(s)) - 1), `${m} slot ${s}`).toBeLessThan(1e-9));
    }
  });

  it('Holt-Winters forecasts a stable noiseless pattern exactly', () => {
    const { forecast } = holtWinters({ values: exact(4, 0), slotsPerWeek: S });
    forecast.forEach((x, s) => expect(x).toBeCloseTo(10 * shape(s), 6));
  });

  it('the backtest picks the method that forecasts the last week best, and scores only usable intervals', () => {
    // Peaks that move an hour later every week: only "last week again" keeps up.
    const u = rng(7);
    const values: number[] = [];
    for (let w = 0; w < 6; w++)
      for (let s = 0; s < S; s++) {
        const hour = s % 24;
        const peak = 8 + w;
        const mean = hour >= peak && hour < peak + 3 ? 200 : 5;
        values.push(Math.round(mean + Math.sqrt(mean) * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u())));
      }
    const b = backtest({ values, slotsPerWeek: S });
    expect(b.weeks).toBe(5);
    expect(b.chosen).toBe('seasonal_naive');
    expect(b.methods.seasonal_naive.wape).toBeLessThan(b.methods.seasonal_trend.wape);
    expect(accuracy([2, 2, 9], [1, 3, null], [true, true, true])).toEqual({ wape: 0.5, bias: 0, intervals: 2 });
  });
});

describe('plan CLI arguments', () => {
  const now = Date.UTC(2026, 11, 7, 10, 12);
  const err = (args: string[]) => {
    const r = parsePlanArgs(args, now);
    return r.kind === 'error' ? r.error : r.kind;
  };
  it('names the argument that is wrong', () => {
    expect(err(['--queue', 'q'])).toMatch(/missing --prometheus/);
    expect(err(['--prometheus', 'http://p:9090'])).toMatch(/missing --queue/);
    expect(err(['--prometheus', 'http://p', '--queue', 'q', '--weeks', '1'])).toMatch(/--weeks must be an integer from 2/);
    expect(err(['--prometheus', 'http://p', '--queue', 'q', '--interval-minutes', '7'])).toMatch(/--interval-minutes must be/);
    expect(err(['--prometheus', 'http://p', '--queue', 'q', '--shrinkage', '1'])).toMatch(/--shrinkage must be a fraction in \[0, 1\)/);
    expect(err(['--prometheus', 'http://p', '--queue', 'q', '--start', 'monday'])).toMatch(/--start must be an ISO 8601/);
    expect(err(['--prometheus', 'http://p', '--queue', 'q', '--json', '--csv'])).toMatch(/exclude each other/);
    expect(err(['--prometheus', 'http://p', '--queue', 'q', '--bogus', '1'])).toMatch(/unknown argument: --bogus/);
  });
  it('defaults to 8 weeks of 30-minute intervals, 80/20, 30 % shrinkage, from now', () => {
    const r = parsePlanArgs(['--', '--prometheus=http://p:9090', '--queue', 'support'], now);
    expect(r).toEqual({
      kind: 'run',
      prometheus: 'http://p:9090',
      format: 'table',
      options: { queue: 'support', weeks: 8, intervalMinutes: 30, targetSeconds: 20, targetServiceLevel: 0.8, shrinkage: 0.3, start: now },
    });
  });
});
