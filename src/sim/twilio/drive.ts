/** Drive a VirtualClock until a promise settles (a day of traffic in seconds). */
import { VirtualClock, defaultSettle, type Clock } from '../../clock.js';

export interface RunOptions {
  /** Called after every timer (default: a few event-loop turns). Pass the emulator's settle. */
  settle?: () => Promise<void>;
  /** Virtual time per advance step (default 1000 ms). Time may overshoot the moment `p` settles by up to this. */
  stepMs?: number;
  /** Give up after this much virtual time (default 24 h). */
  maxMs?: number;
}

export async function runUntil<T>(clock: Clock, p: Promise<T>, o: RunOptions = {}): Promise<T> {
  if (!(clock instanceof VirtualClock)) return p;
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  const settle = o.settle ?? defaultSettle;
  const step = o.stepMs ?? 1000;
  const max = o.maxMs ?? 24 * 3600 * 1000;
  const start = clock.now();
  await settle();
  while (!done) {
    if (clock.now() - start >= max) throw new Error(`runUntil: still waiting after ${max} ms of virtual time`);
    await clock.advance(step, settle);
  }
  return p;
}

/** Advance a VirtualClock by `ms` (settling after every timer); on a real clock, sleep. */
export async function advance(clock: Clock, ms: number, settle?: () => Promise<void>): Promise<void> {
  if (clock instanceof VirtualClock) await clock.advance(ms, settle);
  else await clock.sleep(ms);
}
