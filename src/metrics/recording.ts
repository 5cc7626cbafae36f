/**
 * Call recording series (docs/metrics.md "Recording"), fed only by the recording domain events: recordings
 * started, how each ended (completed, absent, failed) and how many seconds were recorded, and the pauses
 * and resumes asked for by agents and supervisors.
 */
import { Counter, type Registry } from 'prom-client';
import type { DomainEvent, EventBus } from '../events.js';

const P = 'switchboard_';

/** Register the recording series on `registry` and subscribe them to the bus. `queueLabel` bounds the queue label. */
export function registerRecordingMetrics(o: { registry: Registry; bus: EventBus; queueLabel: (queue: string) => string }): void {
  const registers = [o.registry];
  const started = new Counter({
    name: P + 'recordings_started_total',
    help: 'Call recordings that started (the conference of a call in a queue that records).',
    labelNames: ['queue'],
    registers,
  });
  const ended = new Counter({
    name: P + 'recordings_total',
    help: 'Call recordings that ended, by outcome: completed, absent (too short or silent), failed.',
    labelNames: ['queue', 'outcome'],
    registers,
  });
  const seconds = new Counter({
    name: P + 'recorded_seconds_total',
    help: 'Seconds of audio in completed call recordings.',
    labelNames: ['queue'],
    registers,
  });
  const pauses = new Counter({
    name: P + 'recording_pauses_total',
    help: 'Recordings paused, by who asked: agent or supervisor.',
    labelNames: ['queue', 'by'],
    registers,
  });
  const resumes = new Counter({
    name: P + 'recording_resumes_total',
    help: 'Paused recordings resumed, by who asked: agent or supervisor.',
    labelNames: ['queue', 'by'],
    registers,
  });
  o.bus.onDomain((e: DomainEvent) => {
    switch (e.type) {
      case 'recording.started':
        started.inc({ queue: o.queueLabel(e.queue) });
        break;
      case 'recording.completed':
        ended.inc({ queue: o.queueLabel(e.queue), outcome: 'completed' });
        seconds.inc({ queue: o.queueLabel(e.queue) }, e.durationSeconds);
        break;
      case 'recording.failed':
        ended.inc({ queue: o.queueLabel(e.queue), outcome: e.status });
        break;
      case 'recording.paused':
        pauses.inc({ queue: o.queueLabel(e.queue), by: e.by });
        break;
      case 'recording.resumed':
        resumes.inc({ queue: o.queueLabel(e.queue), by: e.by });
        break;
      default:
        break;
    }
  });
}
