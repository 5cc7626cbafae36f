import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { CallerPopulation, startTraffic } from '../../src/sim/twilio/index.js';
import { OUR_NUMBER, setup, twiml } from './helpers.js';

describe('caller population', () => {
  it('draws Poisson arrivals, repeat callers and weighted menu answers, reproducibly', () => {
    const mk = () =>
      new CallerPopulation({
        seed: 3,
        ratePerHour: 360,
        numbers: { poolSize: 100_000, repeatProbability: 0.2 },
        gather: [
          {
            path: '/menu',
            choices: [
              { weight: 3, digits: '1' },
              { weight: 1, digits: '2' },
            ],
          },
        ],
      });
    const pop = mk();
    let t = 0;
    let n = 0;
    while (t < 100 * 3_600_000) {
      t += pop.nextInterarrivalMs(t);
      n++;
    }
    expect(n / 100).toBeGreaterThan(340);
    expect(n / 100).toBeLessThan(380);
    const callers = Array.from({ length: 2000 }, () => pop.nextCaller());
    const repeats = callers.filter((c) => c.repeat).length / callers.length;
    expect(repeats).toBeGreaterThan(0.17);
    expect(repeats).toBeLessThan(0.23);
    const ctx = {
      callSid: 'CA',
      docUrl: 'https://x/menu',
      path: '/menu',
      heard: [],
      allHeard: [],
      attempt: 1,
      input: ['dtmf' as const],
      finishOnKey: '#',
      timeoutS: 5,
      context: 'top' as const,
    };
    const ones = callers.filter((c) => {
      const a = c.behaviour.gather!(ctx);
      return a && a !== 'hangup' && a.digits === '1';
    }).length;
    expect(ones / callers.length).toBeGreaterThan(0.7);
    expect(ones / callers.length).toBeLessThan(0.8);
    expect(callers[0]!.behaviour.gather!({ ...ctx, path: '/other' })).toBeNull();
    const again = mk();
    again.nextInterarrivalMs(0);
    expect(again.nextCaller().from).toBe(mk().nextCaller().from);
  });

  it('time-varying rates by thinning', () => {
    const pop = new CallerPopulation({ seed: 1, ratePerHour: (t) => (t % 7_200_000 < 3_600_000 ? 600 : 0), maxRatePerHour: 600 });
    let t = 0;
    const perHour = [0, 0];
    while (t < 200 * 3_600_000) {
      t += pop.nextInterarrivalMs(t);
      perHour[Math.floor(t / 3_600_000) % 2]!++;
    }
    expect(perHour[1]).toBe(0);
    expect(perHour[0]! / 100).toBeGreaterThan(560);
    expect(perHour[0]! / 100).toBeLessThan(640);
  });
});

describe('load in virtual time', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('hundreds of simultaneous callers abandon with exponential patience; mean wait ≈ mean patience', async () => {
    const clock = new VirtualClock();
    const { emu, srv, close } = await setup(
      clock,
      {
        '/twilio/voice': () =>
          twiml((r) => {
            r.gather({ numDigits: 1, action: '/twilio/menu', timeout: 3 }).say('Press 1 for support.');
            r.redirect('/twilio/voice');
          }),
        '/twilio/menu': () => twiml((r) => r.enqueue({ waitUrl: '/twilio/wait', action: '/twilio/queue-action' }, 'support')),
        '/twilio/wait': (p) =>
          twiml((r) => {
            r.say(`Position ${p.QueuePosition}.`);
            r.play('https://cdn.example.com/hold.mp3');
          }),
        '/twilio/queue-action': () => twiml((r) => r.hangup()),
      },
      { playDurationMs: () => 60_000, maxLogEntries: 100_000 },
    );
    cleanup = close;
    const pop = new CallerPopulation({
      seed: 11,
      ratePerHour: 3600,
      meanPatienceMs: 120_000,
      gather: [{ path: '/twilio/voice', choices: [{ weight: 1, digits: '1' }] }],
    });
    const v0 = clock.now();
    const traffic = startTraffic(emu, pop, { to: OUR_NUMBER, maxCalls: 400 });
    const summaries = await emu.run(traffic.done(), { stepMs: 5000 });
    const virtualMs = clock.now() - v0;
    expect(summaries).toHaveLength(400);
    expect(summaries.every((s) => s.queueResults[0] === 'hangup' && s.endedBy === 'caller')).toBe(true);
    const meanWait = summaries.reduce((a, s) => a + s.queueWaits[0]!.waitMs, 0) / summaries.length;
    expect(meanWait).toBeGreaterThan(100_000);
    expect(meanWait).toBeLessThan(140_000);
    // Max simultaneous waiting ≈ λ·E[patience] = 1/s × 120 s.
    const peak = Math.max(...srv.hitsTo('/twilio/wait').map((h) => Number(h.params.CurrentQueueSize)));
    expect(peak).toBeGreaterThan(90);
    expect(srv.hits.every((h) => h.signatureOk)).toBe(true);
    expect(emu.errors).toEqual([]);
    // Roughly 7 virtual minutes of traffic (400 arrivals at 1/s, then their patience) ran on the virtual
    // clock; the test's own time limit bounds the real time, which no assertion here depends on.
    expect(virtualMs).toBeGreaterThan(400_000);
  }, 60_000);
});
