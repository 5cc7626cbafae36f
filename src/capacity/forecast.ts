/**
 * Week-ahead forecasts of calls per interval from whole weeks of history (pure functions, no I/O).
 *
 * History is a series of counts, one per interval, `slotsPerWeek` intervals a week, oldest first; `null`
 * where there is no data (Prometheus had no samples: an outage of the app or of Prometheus). Methods:
 *
 * - `seasonal_trend`: a weekly profile times a weekly level with a robust linear trend. Days that do not
 *   look like their week (a holiday, a partial outage, a one-off spike) are found against a median profile
 *   and left out of both the level and the profile, so one bad day moves nothing.
 * - `holt_winters`: Holt-Winters with an additive trend and a multiplicative weekly season (period
 *   `slotsPerWeek`), smoothing constants chosen on the history by the error of one-week-ahead forecasts;
 *   missing intervals and anomalous days are skipped (the state carries over them).
 * - `seasonal_naive`: last week again (anomalous or missing intervals taken from `seasonal_trend`): the
 *   baseline a planner would otherwise use, so the backtest shows what the models add.
 *
 * docs/forecast.md defines the methods, the backtest measures and why the plan picks by backtest.
 */

export type ForecastMethod = 'seasonal_trend' | 'holt_winters' | 'seasonal_naive';
export const FORECAST_METHODS: readonly ForecastMethod[] = ['seasonal_trend', 'holt_winters', 'seasonal_naive'];

/** A day whose volume differs from its week's typical day by more than this fraction is anomalous... */
export const ANOMALY_FRACTION = 0.25;
/** ...and by more than this many Poisson standard deviations of its expected count (so quiet days are not). */
export const ANOMALY_SIGMAS = 5;

export interface History {
  /** Counts per interval, oldest first; length = weeks × slotsPerWeek. */
  values: readonly (number | null)[];
  slotsPerWeek: number;
}

const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function checkHistory(h: History): { weeks: number; slotsPerDay: number } {
  const S = h.slotsPerWeek;
  if (!Number.isInteger(S) || S < 7 || S % 7 !== 0) throw new RangeError(`slotsPerWeek must be a positive multiple of 7 (got ${S})`);
  if (h.values.length === 0 || h.values.length % S !== 0)
    throw new RangeError(`history must be whole weeks of ${S} intervals (got ${h.values.length})`);
  return { weeks: h.values.length / S, slotsPerDay: S / 7 };
}

/** Per interval: is it usable (has data and lies on a normal day)? Also the median profile used to judge. */
export function screenDays(h: History): { usable: boolean[]; anomalousDays: { week: number; day: number; ratio: number }[] } {
  const { weeks, slotsPerDay } = checkHistory(h);
  const S = h.slotsPerWeek;
  const p0: number[] = [];
  for (let s = 0; s < S; s++) {
    const xs: number[] = [];
    for (let w = 0; w < weeks; w++) {
      const v = h.values[w * S + s];
      if (v !== null && v !== undefined) xs.push(v);
    }
    p0.push(xs.length ? median(xs) : 0);
  }
  const usable = h.values.map((v) => v !== null);
  const anomalousDays: { week: number; day: number; ratio: number }[] = [];
  for (let w = 0; w < weeks; w++) {
    const ratios: { day: number; ratio: number; expected: number }[] = [];
    for (let d = 0; d < 7; d++) {
      let y = 0;
      let e = 0;
      for (let k = 0; k < slotsPerDay; k++) {
        const i = w * S + d * slotsPerDay + k;
        const v = h.values[i];
        if (v === null || v === undefined) continue;
        y += v;
        e += p0[d * slotsPerDay + k]!;
      }
      if (e > 0) ratios.push({ day: d, ratio: y / e, expected: e });
    }
    const m = median(ratios.map((r) => r.ratio));
    for (const r of ratios) {
      const expected = m * r.expected;
      const off = Math.abs(r.ratio * r.expected - expected);
      if (off > ANOMALY_FRACTION * expected && off > ANOMALY_SIGMAS * Math.sqrt(Math.max(expected, 1))) {
        anomalousDays.push({ week: w, day: r.day, ratio: r.ratio / m });
        for (let k = 0; k < slotsPerDay; k++) usable[w * S + r.day * slotsPerDay + k] = false;
      }
    }
  }
  return { usable, anomalousDays };
}

/** Theil–Sen line through (x, y): the median of pairwise slopes and the median intercept. */
export function theilSen(xs: readonly number[], ys: readonly number[]): { intercept: number; slope: number } {
  if (xs.length === 0) return { intercept: Number.NaN, slope: 0 };
  const slopes: number[] = [];
  for (let i = 0; i < xs.length; i++)
    for (let j = i + 1; j < xs.length; j++) if (xs[j] !== xs[i]) slopes.push((ys[j]! - ys[i]!) / (xs[j]! - xs[i]!));
  const slope = slopes.length ? median(slopes) : 0;
  return { slope, intercept: median(xs.map((x, i) => ys[i]! - slope * x)) };
}

/** The seasonal-trend forecast of the week after the history (slotsPerWeek values, calls per interval). */
export function seasonalTrend(h: History, usable = screenDays(h).usable): number[] {
  const { weeks } = checkHistory(h);
  const S = h.slotsPerWeek;
  // Median profile as the yardstick of each week's level (robust to one odd week per slot).
  const p0: number[] = [];
  for (let s = 0; s < S; s++) {
    const xs: number[] = [];
    for (let w = 0; w < weeks; w++) if (usable[w * S + s]) xs.push(h.values[w * S + s]!);
    p0.push(xs.length ? median(xs) : 0);
  }
  // Weekly level: calls on usable intervals ÷ what the profile expects there.
  const wx: number[] = [];
  const wl: number[] = [];
  for (let w = 0; w < weeks; w++) {
    let y = 0;
    let e = 0;
    for (let s = 0; s < S; s++) {
      if (!usable[w * S + s]) continue;
      y += h.values[w * S + s]!;
      e += p0[s]!;
    }
    if (e > 0) {
      wx.push(w);
      wl.push(y / e);
    }
  }
  if (wx.length === 0) return new Array<number>(S).fill(0);
  const line = theilSen(wx, wl);
  const fitted = (w: number) => Math.max(0, line.intercept + line.slope * w);
  // Profile: a ratio of sums over usable weeks (unbiased for Poisson counts, unlike a median of few).
  const out: number[] = [];
  const next = fitted(weeks);
  for (let s = 0; s < S; s++) {
    let y = 0;
    let l = 0;
    for (let w = 0; w < weeks; w++) {
      if (!usable[w * S + s]) continue;
      y += h.values[w * S + s]!;
      l += fitted(w);
    }
    out.push(l > 0 ? (next * y) / l : next * p0[s]!);
  }
  return out;
}

export interface HoltWintersParams {
  alpha: number;
  beta: number;
  gamma: number;
}

const HW_GRID = {
  alpha: [0.02, 0.05, 0.1, 0.2, 0.4],
  beta: [0, 0.01, 0.05],
  gamma: [0.05, 0.1, 0.2, 0.4],
};
/** Season indices below this are "closed": the level is not updated from them (y/s would explode). */
const SEASON_FLOOR = 1e-3;

interface HwRun {
  forecast: number[];
  /** Σ |y − ŷ| of the one-week-ahead forecasts over usable intervals from the second week on. */
  weekAheadAbsError: number;
}

function holtWintersRun(h: History, usable: readonly boolean[], p: HoltWintersParams): HwRun {
  const { weeks } = checkHistory(h);
  const S = h.slotsPerWeek;
  // Start: each week's level is its usable calls ÷ what the slot profile (mean over usable weeks) expects
  // there, so missing hours or a holiday do not read as a level change; level = the first week's, trend
  // from the first two, season = mean ratio to the week's level (classical decomposition of the history).
  const profile: number[] = [];
  for (let s = 0; s < S; s++) {
    let y = 0;
    let n = 0;
    for (let w = 0; w < weeks; w++)
      if (usable[w * S + s]) {
        y += h.values[w * S + s]!;
        n++;
      }
    profile.push(n ? y / n : 0);
  }
  const profileMean = profile.reduce((a, x) => a + x, 0) / S;
  const weekMean = (w: number): number => {
    let y = 0;
    let e = 0;
    for (let s = 0; s < S; s++)
      if (usable[w * S + s]) {
        y += h.values[w * S + s]!;
        e += profile[s]!;
      }
    return e > 0 ? (y / e) * profileMean : Number.NaN;
  };
  const means = Array.from({ length: weeks }, (_, w) => weekMean(w));
  let level = means.find((m) => Number.isFinite(m)) ?? 0;
  let trend = weeks >= 2 && Number.isFinite(means[0]!) && Number.isFinite(means[1]!) ? (means[1]! - means[0]!) / S : 0;
  const season: number[] = [];
  for (let s = 0; s < S; s++) {
    let r = 0;
    let n = 0;
    for (let w = 0; w < weeks; w++) {
      if (!usable[w * S + s] || !(means[w]! > 0)) continue;
      r += h.values[w * S + s]! / means[w]!;
      n++;
    }
    season.push(n ? r / n : 1);
  }
  // ŷ(t | t − S) needs the level and trend as they were one week before t.
  const levels = new Float64Array(h.values.length);
  const trends = new Float64Array(h.values.length);
  let err = 0;
  for (let t = 0; t < h.values.length; t++) {
    const s = t % S;
    if (t >= S && usable[t]) {
      const prior = (levels[t - S]! + S * trends[t - S]!) * season[s]!;
      err += Math.abs(h.values[t]! - Math.max(0, prior));
    }
    const predictedLevel = level + trend;
    if (usable[t]) {
      const y = h.values[t]!;
      const si = season[s]!;
      // The level moves by α·s·(y/s − level): y/s of a quiet slot (s ≪ 1) is mostly Poisson noise (its
      // variance is level/s), so each slot's weight is proportional to its season, capped at 1.
      let newLevel = predictedLevel;
      if (si > SEASON_FLOOR) newLevel = predictedLevel + Math.min(1, p.alpha * si) * (y / si - predictedLevel);
      trend = p.beta * (newLevel - level) + (1 - p.beta) * trend;
      level = newLevel;
      if (level > 0) season[s] = p.gamma * (y / level) + (1 - p.gamma) * si;
    } else {
      level = predictedLevel;
    }
    levels[t] = level;
    trends[t] = trend;
  }
  const forecast: number[] = [];
  const start = h.values.length % S;
  for (let k = 1; k <= S; k++) forecast.push(Math.max(0, (level + k * trend) * season[(start + k - 1) % S]!));
  return { forecast, weekAheadAbsError: err };
}

/** Holt-Winters with the grid point whose one-week-ahead forecasts over the history erred least. */
export function holtWinters(h: History, usable = screenDays(h).usable): { forecast: number[]; params: HoltWintersParams } {
  let best: { run: HwRun; params: HoltWintersParams } | undefined;
  for (const alpha of HW_GRID.alpha)
    for (const beta of HW_GRID.beta)
      for (const gamma of HW_GRID.gamma) {
        const params = { alpha, beta, gamma };
        const run = holtWintersRun(h, usable, params);
        if (!best || run.weekAheadAbsError < best.run.weekAheadAbsError) best = { run, params };
      }
  return { forecast: best!.run.forecast, params: best!.params };
}

/** Last week again; intervals that were missing or on an anomalous day come from seasonalTrend. */
export function seasonalNaive(h: History, usable = screenDays(h).usable): number[] {
  const { weeks } = checkHistory(h);
  const S = h.slotsPerWeek;
  const fallback = seasonalTrend(h, usable);
  return fallback.map((f, s) => (usable[(weeks - 1) * S + s] ? h.values[(weeks - 1) * S + s]! : f));
}

export function forecastWeek(method: ForecastMethod, h: History, usable = screenDays(h).usable): number[] {
  switch (method) {
    case 'seasonal_trend':
      return seasonalTrend(h, usable);
    case 'holt_winters':
      return holtWinters(h, usable).forecast;
    case 'seasonal_naive':
      return seasonalNaive(h, usable);
  }
}

export interface Accuracy {
  /** Weighted absolute percentage error: Σ|forecast − actual| ÷ Σ actual. */
  wape: number;
  /** Σ(forecast − actual) ÷ Σ actual: positive means over-forecast. */
  bias: number;
  /** Intervals compared (the usable intervals of the actual week). */
  intervals: number;
}

/** WAPE and bias of `forecast` against `actual` over the intervals where `use` holds. */
export function accuracy(forecast: readonly number[], actual: readonly (number | null)[], use: readonly boolean[]): Accuracy {
  let abs = 0;
  let signed = 0;
  let total = 0;
  let n = 0;
  for (let i = 0; i < forecast.length; i++) {
    const a = actual[i];
    if (!use[i] || a === null || a === undefined) continue;
    abs += Math.abs(forecast[i]! - a);
    signed += forecast[i]! - a;
    total += a;
    n++;
  }
  return total > 0 ? { wape: abs / total, bias: signed / total, intervals: n } : { wape: Number.NaN, bias: Number.NaN, intervals: n };
}

export interface Backtest {
  /** Weeks the backtest forecast was made from (the history minus its last week). */
  weeks: number;
  /** Accuracy of each method on the last week of the history. */
  methods: Record<ForecastMethod, Accuracy>;
  /** The method with the lowest WAPE (seasonal_trend on a tie or when nothing could be scored). */
  chosen: ForecastMethod;
}

/**
 * The last week of the history forecast from the weeks before it, by every method, scored on its usable
 * intervals (anomalous days and missing intervals are not what a plan is for, so they are not scored).
 */
export function backtest(h: History): Backtest {
  const { weeks } = checkHistory(h);
  if (weeks < 2) throw new RangeError('a backtest needs at least two weeks of history');
  const S = h.slotsPerWeek;
  const { usable } = screenDays(h);
  const train: History = { values: h.values.slice(0, (weeks - 1) * S), slotsPerWeek: S };
  const trainUsable = usable.slice(0, (weeks - 1) * S);
  const actual = h.values.slice((weeks - 1) * S);
  const use = usable.slice((weeks - 1) * S);
  const methods = {} as Record<ForecastMethod, Accuracy>;
  for (const m of FORECAST_METHODS) methods[m] = accuracy(forecastWeek(m, train, trainUsable), actual, use);
  let chosen: ForecastMethod = 'seasonal_trend';
  for (const m of FORECAST_METHODS) if (methods[m].wape < methods[chosen].wape) chosen = m;
  return { weeks: weeks - 1, methods, chosen };
}
