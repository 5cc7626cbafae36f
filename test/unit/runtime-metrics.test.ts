/**
 * The runtime and configuration series of src/metrics/runtime.ts on a real prom-client registry:
 * default process/Node metrics (event-loop lag included), build info, the configured targets, and the
 * call center's UTC offset across daylight-saving changes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/events.js';
import { createMetrics } from '../../src/metrics/index.js';
import { utcOffsetSeconds } from '../../src/metrics/runtime.js';
import { loadCenterConfigFile } from '../../src/config/callcenter.js';
import { sample } from '../helpers/app.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

describe('utcOffsetSeconds', () => {
  it('follows the zone and its daylight-saving rules', () => {
    expect(utcOffsetSeconds(Date.UTC(2026, 0, 15, 12), 'America/New_York')).toBe(-5 * 3600);
    expect(utcOffsetSeconds(Date.UTC(2026, 6, 15, 12), 'America/New_York')).toBe(-4 * 3600);
    // 2026-03-08 07:00 UTC is 03:00 EDT: the change happened at 02:00 local.
    expect(utcOffsetSeconds(Date.UTC(2026, 2, 8, 6, 59), 'America/New_York')).toBe(-5 * 3600);
    expect(utcOffsetSeconds(Date.UTC(2026, 2, 8, 7, 0), 'America/New_York')).toBe(-4 * 3600);
    expect(utcOffsetSeconds(Date.UTC(2026, 0, 15, 12), 'Asia/Kolkata')).toBe(5.5 * 3600);
    expect(utcOffsetSeconds(Date.UTC(2026, 0, 15, 12), 'UTC')).toBe(0);
  });
});

describe('runtime and configuration series', () => {
  it('are on the app registry with the configured values', async () => {
    const center = await loadCenterConfigFile('config/switchboard.example.yaml');
    const now = Date.UTC(2026, 6, 1, 12);
    const m = createMetrics({ center, bus: createEventBus(() => {}), now: () => now });
    const text = await m.registry.metrics();
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(sample(text, name), name).toBeGreaterThanOrEqual(0);
    }
    expect(sample(text, 'switchboard_build_info', { version: pkg.version, nodejs: process.versions.node })).toBe(1);
    for (const queue of Object.keys(center.queues)) {
      expect(sample(text, 'switchboard_service_level_target', { queue })).toBe(center.thresholds.serviceLevelTarget);
      expect(sample(text, 'switchboard_service_level_seconds', { queue })).toBe(
        center.queues[queue]!.serviceLevelSeconds ?? center.thresholds.serviceLevelSeconds,
      );
    }
    expect(sample(text, 'switchboard_short_abandon_seconds')).toBe(center.thresholds.shortAbandonSeconds);
    expect(sample(text, 'switchboard_repeat_window_seconds')).toBe(center.thresholds.repeatWindowSeconds);
    expect(sample(text, 'switchboard_capacity_window_seconds')).toBe(center.thresholds.capacityWindowSeconds);
    expect(sample(text, 'switchboard_center_utc_offset_seconds')).toBe(-4 * 3600); // July in New York
    // No today source registered (no web part): the series has no samples rather than zeros.
    expect(sample(text, 'switchboard_calls_today')).toBeUndefined();
  });
});
