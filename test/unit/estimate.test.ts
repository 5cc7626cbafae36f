import { describe, expect, it } from 'vitest';
import { announcedWait, estimateWaitSeconds, robustHandleTimeSeconds, roundForAnnouncement } from '../../src/queue/estimate.js';

const many = (n: number, x: number): number[] => Array.from({ length: n }, () => x);

describe('robustHandleTimeSeconds', () => {
  it('falls back to the default without history', () => {
    expect(robustHandleTimeSeconds([], 300)).toBe(300);
    expect(robustHandleTimeSeconds([Number.NaN, -5, 0], 300)).toBe(300);
  });

  it('shrinks a few samples towards the default (weight of 1 sample), using their median', () => {
    // median of [100, 200, 10000] is 200: (3·200 + 1·300) / 4
    expect(robustHandleTimeSeconds([10_000, 100, 200], 300)).toBe(225);
    expect(robustHandleTimeSeconds([60], 180)).toBe(120);
  });

  it('ignores outliers through the trimmed mean', () => {
    const xs = [...many(18, 200), 5, 7200];
    const plainMean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const robust = robustHandleTimeSeconds(xs, 200);
    expect(plainMean).toBeGreaterThan(500);
    expect(robust).toBeCloseTo(200, 6);
  });

  it('converges to the history with many samples', () => {
    expect(robustHandleTimeSeconds(many(200, 120), 600)).toBeCloseTo((200 * 120 + 600) / 201, 9);
  });
});

describe('estimateWaitSeconds', () => {
  const base = { recentHandleTimesSeconds: many(200, 300), defaultAhtSeconds: 300 };
  const aht = robustHandleTimeSeconds(base.recentHandleTimesSeconds, 300);

  it('is 0 when a free agent is there for this caller', () => {
    expect(estimateWaitSeconds({ ...base, position: 1, agentsStaffed: 5, agentsAvailable: 1 })).toBe(0);
    expect(estimateWaitSeconds({ ...base, position: 3, agentsStaffed: 5, agentsAvailable: 3 })).toBe(0);
  });

  it('is (position − free) · AHT / N otherwise', () => {
    expect(estimateWaitSeconds({ ...base, position: 1, agentsStaffed: 1, agentsAvailable: 0 })).toBeCloseTo(aht, 9);
    expect(estimateWaitSeconds({ ...base, position: 10, agentsStaffed: 5, agentsAvailable: 0 })).toBeCloseTo((10 * aht) / 5, 9);
    expect(estimateWaitSeconds({ ...base, position: 10, agentsStaffed: 5, agentsAvailable: 2 })).toBeCloseTo((8 * aht) / 5, 9);
  });

  it('grows with position and shrinks with staffing', () => {
    const at = (position: number, agentsStaffed: number): number =>
      estimateWaitSeconds({ ...base, position, agentsStaffed, agentsAvailable: 0 }) ?? Number.NaN;
    expect(at(2, 4)).toBeLessThan(at(3, 4));
    expect(at(6, 8)).toBeLessThan(at(6, 4));
    expect(at(6, 8) * 2).toBeCloseTo(at(6, 4), 9);
  });

  it('uses the default AHT before there is history', () => {
    expect(estimateWaitSeconds({ position: 4, agentsStaffed: 2, agentsAvailable: 0, recentHandleTimesSeconds: [], defaultAhtSeconds: 240 })).toBe(480);
  });

  it('gives no estimate when nobody is staffed, and clamps odd inputs', () => {
    expect(estimateWaitSeconds({ ...base, position: 1, agentsStaffed: 0, agentsAvailable: 0 })).toBeNull();
    // More available than staffed is capped at staffed; position below 1 is treated as 1.
    expect(estimateWaitSeconds({ ...base, position: 0, agentsStaffed: 1, agentsAvailable: 3 })).toBe(0);
    expect(estimateWaitSeconds({ ...base, position: 3, agentsStaffed: 1, agentsAvailable: 3 })).toBeCloseTo(2 * aht, 9);
  });
});

describe('announcedWait', () => {
  it('says less than a minute under 60 s', () => {
    expect(announcedWait(0)).toEqual({ kind: 'under_a_minute' });
    expect(announcedWait(59.9)).toEqual({ kind: 'under_a_minute' });
  });

  it('rounds to the nearest minute up to 10 minutes, then to 5 minutes', () => {
    expect(announcedWait(60)).toEqual({ kind: 'minutes', minutes: 1 });
    expect(announcedWait(89)).toEqual({ kind: 'minutes', minutes: 1 });
    expect(announcedWait(90)).toEqual({ kind: 'minutes', minutes: 2 });
    expect(announcedWait(600)).toEqual({ kind: 'minutes', minutes: 10 });
    expect(announcedWait(12 * 60)).toEqual({ kind: 'minutes', minutes: 10 });
    expect(announcedWait(13 * 60)).toEqual({ kind: 'minutes', minutes: 15 });
    expect(announcedWait(47 * 60)).toEqual({ kind: 'minutes', minutes: 45 });
  });

  it('has nothing to say without an estimate', () => {
    expect(announcedWait(null)).toEqual({ kind: 'unknown' });
    expect(announcedWait(Number.POSITIVE_INFINITY)).toEqual({ kind: 'unknown' });
  });
});

describe('roundForAnnouncement', () => {
  it('phrases the rounded estimate in English by default', () => {
    expect(roundForAnnouncement(30)).toBe('less than a minute');
    expect(roundForAnnouncement(70)).toBe('about 1 minute');
    expect(roundForAnnouncement(250)).toBe('about 4 minutes');
    expect(roundForAnnouncement(null)).toBe('not known yet');
  });

  it('phrases it in Spanish, and falls back to English for other languages', () => {
    expect(roundForAnnouncement(30, 'es')).toBe('menos de un minuto');
    expect(roundForAnnouncement(250, 'es-MX')).toBe('aproximadamente 4 minutos');
    expect(roundForAnnouncement(250, 'fr')).toBe('about 4 minutes');
  });
});
