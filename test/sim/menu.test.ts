import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { OUR_NUMBER, PUBLIC_BASE, setup, twiml } from './helpers.js';

describe('menu call (virtual time)', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('runs Gather → Redirect → Say → Hangup with signed, complete webhooks', async () => {
    const clock = new VirtualClock();
    const { emu, srv, close } = await setup(clock, {
      '/twilio/voice': () =>
        twiml((r) => {
          const g = r.gather({ numDigits: 1, action: '/twilio/menu', timeout: 5 });
          g.say('Press 1 for sales, 2 for support.');
          r.say('We did not get that.');
        }),
      '/twilio/menu': (p) => twiml((r) => r.redirect(`/twilio/info?choice=${p.Digits}`)),
      '/twilio/info': () =>
        twiml((r) => {
          r.say('Support is open from nine to five.');
          r.hangup();
        }),
    });
    cleanup = close;
    const t0 = performance.now();
    const call = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER, behaviour: { gather: () => ({ digits: '2' }) } });
    const s = await emu.run(call.ended);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(s.heard).toEqual(['Press 1 for sales, 2 for support.', 'Support is open from nine to five.']);
    expect(s.documents).toEqual(['/twilio/voice', '/twilio/menu', '/twilio/info?choice=2']);
    expect(s.endedBy).toBe('server');
    expect(s.status).toBe('completed');
    expect(s.digitsSent).toEqual(['2']);
    const voice = srv.hitsTo('/twilio/voice');
    expect(voice).toHaveLength(1);
    expect(voice[0]!.params).toMatchObject({
      CallSid: call.sid,
      AccountSid: emu.accountSid,
      From: '+15551230001',
      To: OUR_NUMBER,
      Caller: '+15551230001',
      Called: OUR_NUMBER,
      CallStatus: 'ringing',
      Direction: 'inbound',
      ApiVersion: '2010-04-01',
      FromCountry: 'US',
      FromCity: '',
    });
    expect(call.sid).toMatch(/^CA[0-9a-f]{32}$/);
    const menu = srv.hitsTo('/twilio/menu')[0]!;
    expect(menu.params).toMatchObject({ Digits: '2', CallStatus: 'in-progress', FinishedOnKey: '' });
    expect(srv.hits.every((h) => h.signatureOk)).toBe(true);
    expect(srv.hits.every((h) => h.idempotencyToken)).toBe(true);
    expect(emu.errors).toEqual([]);
    const log = emu.log.webhooks.filter((w) => w.callSid === call.sid && w.kind !== 'status');
    expect(log.map((w) => w.url)).toEqual([
      `${PUBLIC_BASE}/twilio/voice`,
      `${PUBLIC_BASE}/twilio/menu`,
      `${PUBLIC_BASE}/twilio/info?choice=2`,
    ]);
    expect(log.every((w) => w.status === 200 && typeof w.latencyMs === 'number')).toBe(true);
    // Time: Say ~ 8 words = 3.2 s, then 1 s + 1 key, then the second Say.
    expect(s.durationMs).toBeGreaterThan(5000);
    expect(s.durationMs).toBeLessThan(10_000);
  });
});
