import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { OUR_NUMBER, PUBLIC_BASE, setup, twiml } from './helpers.js';

describe('real time (systemClock, short durations)', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('menu → queue → agent dequeues with <Dial><Queue> → bridged → caller continues; an impatient caller abandons', async () => {
    let agentCalled = false;
    const { emu, srv, client, close } = await setup(
      systemClock,
      {
        '/twilio/voice': () =>
          twiml((r) => {
            r.gather({ numDigits: 1, action: '/twilio/menu', timeout: 1 }).say('Press 2 for support.');
          }),
        '/twilio/menu': () => twiml((r) => r.enqueue({ waitUrl: '/twilio/wait', action: '/twilio/queue-action' }, 'support')),
        '/twilio/wait': (p) =>
          twiml((r) => {
            r.say(`Position ${p.QueuePosition}`);
            r.play('https://cdn.example.com/hold.mp3');
          }),
        '/twilio/queue-action': (p) =>
          twiml((r) => {
            r.say(`Result ${p.QueueResult}`);
            r.hangup();
          }),
        '/twilio/agent': () => twiml((r) => r.dial().queue('support')),
      },
      { wordsPerMinute: 60_000, minSayMs: 20, playDurationMs: () => 50 },
    );
    cleanup = close;
    emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 50, talkMs: 300 });
    const t0 = performance.now();
    const patient = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER, behaviour: { gather: () => ({ digits: '2', delayMs: 10 }) } });
    const impatient = emu.placeCall({
      from: '+15551230002',
      to: OUR_NUMBER,
      behaviour: { gather: () => ({ digits: '2', delayMs: 200 }), patienceMs: 150 },
    });
    emu.events.on('webhook', (e: { path: string; params: Record<string, string> }) => {
      if (e.path === '/twilio/wait' && e.params.CallSid === patient.sid && Number(e.params.QueueTime) >= 0 && !agentCalled) {
        agentCalled = true;
        setTimeout(() => {
          void client.calls.create({ to: 'client:alice', from: OUR_NUMBER, url: `${PUBLIC_BASE}/twilio/agent` });
        }, 400);
      }
    });
    const [sp, si] = await Promise.all([patient.ended, impatient.ended]);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(si.queueResults).toEqual(['hangup']);
    expect(si.endedBy).toBe('caller');
    expect(sp.queueResults).toEqual(['bridged']);
    expect(sp.heard.at(-1)).toBe('Result bridged');
    expect(sp.heard[0]).toBe('Press 2 for support.');
    expect(srv.hitsTo('/twilio/wait').filter((h) => h.params.CallSid === patient.sid).length).toBeGreaterThan(3);
    const agent = [...emu.calls.values()].find((c) => c.to === 'client:alice')!;
    const sa = await agent.ended;
    expect(sa.dialResults[0]).toMatchObject({ kind: 'queue', status: 'completed', dialCallSid: patient.sid, bridged: true });
    expect(sa.durationMs).toBeGreaterThanOrEqual(290);
    expect(srv.hits.every((h) => h.signatureOk)).toBe(true);
    expect(emu.errors).toEqual([]);
  });
});
