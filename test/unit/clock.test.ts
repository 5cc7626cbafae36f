import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';

describe('VirtualClock', () => {
  it('fires timers in (time, creation) order, skips cancelled ones, and counts the pending', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ delay: fc.integer({ min: 0, max: 50 }), cancel: fc.boolean() }), { maxLength: 60 }),
        async (specs) => {
          const clock = new VirtualClock(0);
          const fired: { i: number; at: number }[] = [];
          const cancels = specs.map((s, i) => clock.setTimer(s.delay, () => fired.push({ i, at: clock.now() })));
          specs.forEach((s, i) => s.cancel && cancels[i]!());
          expect(clock.pending()).toBe(specs.filter((s) => !s.cancel).length);
          await clock.advance(100, async () => {});
          const expected = specs
            .map((s, i) => ({ i, at: s.delay, cancel: s.cancel }))
            .filter((x) => !x.cancel)
            .sort((a, b) => a.at - b.at || a.i - b.i)
            .map(({ i, at }) => ({ i, at }));
          expect(fired).toEqual(expected);
          expect(clock.pending()).toBe(0);
          expect(clock.now()).toBe(100);
        },
      ),
    );
  });

  it('fires timers set by a timer, including at the same instant, and stops at the end of the advance', async () => {
    const clock = new VirtualClock(0);
    const log: string[] = [];
    clock.setTimer(10, () => {
      log.push(`a@${clock.now()}`);
      clock.setTimer(0, () => log.push(`b@${clock.now()}`));
      clock.setTimer(95, () => log.push(`c@${clock.now()}`));
    });
    await clock.advance(100, async () => {});
    expect(log).toEqual(['a@10', 'b@10']);
    expect(clock.pending()).toBe(1);
    await clock.advance(5, async () => {});
    expect(log).toEqual(['a@10', 'b@10', 'c@105']);
  });

  it('settles after every timer', async () => {
    const clock = new VirtualClock(0);
    const log: string[] = [];
    for (const at of [5, 5, 7]) clock.setTimer(at, () => log.push(`t${at}`));
    await clock.advance(10, async () => {
      log.push('settle');
    });
    expect(log).toEqual(['settle', 't5', 'settle', 't5', 'settle', 't7', 'settle']);
  });

  it('keeps a cancel after firing harmless', async () => {
    const clock = new VirtualClock(0);
    const cancel = clock.setTimer(1, () => {});
    clock.setTimer(2, () => {});
    await clock.advance(1, async () => {});
    cancel();
    expect(clock.pending()).toBe(1);
  });
});
