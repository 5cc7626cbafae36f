/**
 * Estimated wait time (EWT) for a caller in a queue, and its rounding for announcements. Pure.
 *
 * Model. N agents are staffed for the queue, F of them free right now; the caller is at position p
 * (1-based; every entry ahead counts). The first F callers in line go to the free agents at once, so a
 * caller with p ≤ F waits (about) nothing. Otherwise all N agents are busy when this caller's turn comes,
 * and it needs k = p − F agents to finish a call. With handle times of mean AHT, N busy agents finish calls
 * at a rate of N / AHT (exactly so for exponential handle times, whose residual time is again AHT), so the
 * expected wait is
 *
 *     EWT = (p − F) · AHT̂ / N
 *
 * Unlike Asterisk's single moving average of past waits (which lags whenever staffing or volume changes),
 * this uses the caller's position and the agents on duty now; only AHT is learned from history.
 * AHT̂ must estimate the mean handle time, and handle times are right-skewed (roughly exponential or
 * lognormal): a symmetric trimmed mean or a median estimates something smaller (a 10 % trimmed mean is
 * about 16 % low for exponential times, the median of 3 or 4 samples 17 %), which told callers too short
 * a wait. So AHT̂ is the mean of the recent handle times after capping (winsorizing) only high outliers,
 * at a fence that follows the data's spread:
 *   - 5 samples or more: Q3 + 4·IQR (quartiles interpolated; the largest sample never enters them, so one
 *     absurd value cannot move the fence). An exponential sample loses less than 1 % of its mean above it
 *     (4 % at n = 5), a lognormal one of the same CV about 2.5 % (test/unit/estimate.test.ts measures
 *     both); Tukey's usual far-out fence, 3·IQR, cuts about 4 % of a lognormal's mean;
 *   - 3 or 4 samples: 6 × the median (the median of 3 or 4 ignores one outlier; an exponential loses
 *     2–4 % above it);
 *   - 1 or 2 samples: their mean (with two, nothing says which one is odd; the prior below tempers it).
 * Low values are kept: a short call is real agent time, and one value can pull a mean down by at most
 * 1/n of it, whereas a high one is unbounded. With the fence, one two-hour call among 49 two-minute
 * calls moves AHT̂ by nothing if those are equal and by about 10 % if they are exponential (the plain mean
 * by 120 %). AHT̂ is then shrunk towards the queue's configured `expectedHandleSeconds` with the weight
 * of one sample, so the first call does not decide it alone, yet a few observed calls already outweigh
 * the configuration (a weight of 3 samples kept a wrong default dominant for the first calls: the demo,
 * handling calls in 25 s against a 180 s default, told callers 218 s too much on average).
 * Callers ahead who will abandon make the real wait shorter. When the queue's caller patience is known
 * (mean θ, estimated from the recent abandons as for the Erlang A staffing gauge), the wait is that of the
 * M/M/N+M model for a caller who stays: with j callers still ahead, the line moves one step at rate
 * N/AHT (an agent frees) + j/θ (someone ahead gives up), so
 *
 *     EWT = Σ_{j=0}^{k−1} 1 / (N/AHT̂ + j/θ),   k = p − F
 *
 * which is (p − F)·AHT̂/N when nobody abandons (θ → ∞). Without a patience estimate the formula above is
 * used, on the safe side.
 * In the Erlang A run (test/sim/erlang-a.test.ts: 8 agents, exponential 120 s handle times and patience,
 * 12 % abandon) the told-minus-actual wait of answered callers is +1.7 s on average (mean absolute 6.7 s;
 * +4.0 s / 15.8 s for those told a wait). Without the patience term it was +4.2 s / 8.0 s (+10.1 s / 18.9 s),
 * and +3.8 s / 7.5 s even with the true AHT, so the abandonment ahead was the rest of the error.
 */

/** Weight (in samples) of the configured default AHT in the estimate. */
const PRIOR_SAMPLES = 1;

export interface EstimateInput {
  /** The caller's position, 1-based, counting every entry ahead (callbacks and callers being offered too). */
  position: number;
  /** Agents logged in for the queue and not on break (busy or free). */
  agentsStaffed: number;
  /** Agents free to take a call right now. */
  agentsAvailable: number;
  /** Recent handle times (talk + hold + wrap-up), seconds, any order. */
  recentHandleTimesSeconds: readonly number[];
  /** The AHT assumed before there is history. */
  defaultAhtSeconds: number;
  /** Mean caller patience (s) observed for the queue, when known: callers ahead who give up shorten the wait. */
  patienceSeconds?: number | null | undefined;
}

/** Quartile fence factor (Q3 + k·IQR) from 5 samples on. */
const IQR_FENCE = 4;
/** Median multiple used as the fence for 3 or 4 samples. */
const MEDIAN_FENCE = 6;

/** Quantile p of sorted values, linear interpolation between order statistics (R's type 7). */
function quantile(sorted: readonly number[], p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (h - lo);
}

/**
 * The centre of the handle-time samples before any shrinkage: their mean with values above the fence
 * (Q3 + 4·IQR from 5 samples, 6 × median for 3–4) replaced by the fence. NaN for no valid sample.
 */
export function cappedMeanHandleTimeSeconds(samples: readonly number[]): number {
  const xs = samples.filter((x) => Number.isFinite(x) && x > 0).sort((a, b) => a - b);
  const n = xs.length;
  if (n === 0) return Number.NaN;
  let fence = Number.POSITIVE_INFINITY;
  if (n >= 5) {
    const q1 = quantile(xs, 0.25);
    const q3 = quantile(xs, 0.75);
    fence = q3 + IQR_FENCE * (q3 - q1);
  } else if (n >= 3) {
    fence = MEDIAN_FENCE * quantile(xs, 0.5);
  }
  return xs.reduce((s, x) => s + Math.min(x, fence), 0) / n;
}

/** The robust handle-time estimate: the capped mean of the samples, shrunk towards the default. */
export function robustHandleTimeSeconds(samples: readonly number[], defaultAhtSeconds: number): number {
  const n = samples.filter((x) => Number.isFinite(x) && x > 0).length;
  if (n === 0) return defaultAhtSeconds;
  const centre = cappedMeanHandleTimeSeconds(samples);
  return (n * centre + PRIOR_SAMPLES * defaultAhtSeconds) / (n + PRIOR_SAMPLES);
}

/** Expected wait (s) for a caller at `position`; null when no agent is staffed (no estimate can be given). */
export function estimateWaitSeconds(input: EstimateInput): number | null {
  const staffed = Math.max(0, Math.floor(input.agentsStaffed));
  const free = Math.min(staffed, Math.max(0, Math.floor(input.agentsAvailable)));
  const position = Math.max(1, Math.floor(input.position));
  if (position <= free) return 0;
  if (staffed === 0) return null;
  const aht = robustHandleTimeSeconds(input.recentHandleTimesSeconds, input.defaultAhtSeconds);
  const k = position - free;
  const theta = input.patienceSeconds;
  if (!theta || !Number.isFinite(theta) || theta <= 0) return (k * aht) / staffed;
  const serve = staffed / aht;
  let wait = 0;
  for (let j = 0; j < k; j++) wait += 1 / (serve + j / theta);
  return wait;
}

/** What to tell the caller, language-neutral: nothing, "less than a minute", or a number of minutes. */
export type AnnouncedWait = { kind: 'unknown' } | { kind: 'under_a_minute' } | { kind: 'minutes'; minutes: number };

/**
 * Round an estimate for speech: under 60 s → "less than a minute"; up to 10 min → the nearest minute;
 * above → the nearest 5 minutes (a precision the estimate does not have would only be heard as a promise).
 */
export function announcedWait(seconds: number | null): AnnouncedWait {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return { kind: 'unknown' };
  if (seconds < 60) return { kind: 'under_a_minute' };
  const minutes = seconds / 60;
  if (minutes <= 10) return { kind: 'minutes', minutes: Math.max(1, Math.round(minutes)) };
  return { kind: 'minutes', minutes: Math.max(10, Math.round(minutes / 5) * 5) };
}

const PHRASES: Record<string, { unknown: string; under: string; minutes: (n: number) => string }> = {
  en: { unknown: 'not known yet', under: 'less than a minute', minutes: (n) => (n === 1 ? 'about 1 minute' : `about ${n} minutes`) },
  es: {
    unknown: 'todavía desconocido',
    under: 'menos de un minuto',
    minutes: (n) => (n === 1 ? 'aproximadamente 1 minuto' : `aproximadamente ${n} minutos`),
  },
};

/**
 * The rounded estimate as a phrase ("less than a minute", "about 4 minutes") in English or Spanish (other
 * languages get English; use `announcedWait` to phrase them yourself).
 */
export function roundForAnnouncement(seconds: number | null, language = 'en'): string {
  const p = PHRASES[language.slice(0, 2).toLowerCase()] ?? PHRASES.en!;
  const w = announcedWait(seconds);
  if (w.kind === 'unknown') return p.unknown;
  if (w.kind === 'under_a_minute') return p.under;
  return p.minutes(w.minutes);
}
