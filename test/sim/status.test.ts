import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { OUR_NUMBER, PUBLIC_BASE, setup, twiml, type Hit } from './helpers.js';

const byCall = (hits: Hit[]): Map<string, Hit[]> => {
  const m = new Map<string, Hit[]>();
  for (const h of hits) m.set(h.params.CallSid!, [...(m.get(h.params.CallSid!) ?? []), h]);
  return m;
};

describe('status callbacks', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('inbound: ringing, answered, completed in order with SequenceNumber from 0, signed, RFC 2822 Timestamp', async () => {
    const clock = new VirtualClock();
    const { emu, srv, close } = await setup(clock, { '/twilio/voice': () => twiml((r) => r.say('Hello there, goodbye.')) });
    cleanup = close;
    const call = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER });
    const s = await emu.run(call.ended);
    const st = srv.hitsTo('/twilio/status');
    expect(st.map((h) => [h.params.CallStatus, h.params.SequenceNumber])).toEqual([
      ['ringing', '0'],
      ['in-progress', '1'],
      ['completed', '2'],
    ]);
    expect(st.every((h) => h.signatureOk && h.params.CallbackSource === 'call-progress-events')).toBe(true);
    expect(st[0]!.params.Timestamp).toMatch(/^Mon, 05 Jan 2026 09:00:00 \+0000$/);
    expect(st[2]!.params.CallDuration).toBe(String(Math.round(s.durationMs / 1000)));
    expect(emu.log.webhooks.filter((w) => w.kind === 'status')).toHaveLength(3);
  });

  it('shuffle delivers out of order, duplicate delivers twice; (CallSid, SequenceNumber) recovers the truth', async () => {
    const clock = new VirtualClock();
    const { emu, srv, close } = await setup(clock, { '/twilio/voice': () => twiml((r) => r.say('Hi.')) }, { statusShuffleMaxMs: 3000 });
    cleanup = close;
    emu.faults.statusCallbacks.shuffle = true;
    emu.faults.statusCallbacks.duplicate = 0.5;
    const calls = Array.from({ length: 30 }, (_, i) => emu.placeCall({ from: `+1555123${String(i).padStart(4, '0')}`, to: OUR_NUMBER }));
    await emu.run(Promise.all(calls.map((c) => c.ended)));
    const st = srv.hitsTo('/twilio/status');
    const grouped = byCall(st);
    let outOfOrder = 0;
    let duplicates = 0;
    for (const c of calls) {
      const hs = grouped.get(c.sid)!;
      const seqs = hs.map((h) => Number(h.params.SequenceNumber));
      if (seqs.some((v, i) => i > 0 && v < seqs[i - 1]!)) outOfOrder++;
      duplicates += seqs.length - new Set(seqs).size;
      const dedup = [...new Map(hs.map((h) => [h.params.SequenceNumber, h.params.CallStatus])).entries()].sort(
        (a, b) => Number(a[0]) - Number(b[0]),
      );
      expect(dedup).toEqual([
        ['0', 'ringing'],
        ['1', 'in-progress'],
        ['2', 'completed'],
      ]);
    }
    expect(outOfOrder).toBeGreaterThan(0);
    expect(duplicates).toBeGreaterThan(10);
    expect(st.every((h) => h.signatureOk)).toBe(true);
  });

  it('a status callback answered with an error is a warning, not a call failure', async () => {
    const clock = new VirtualClock();
    const { emu, close } = await setup(clock, {
      '/twilio/voice': () => twiml((r) => r.say('Hi.')),
      '/twilio/status': () => ({ status: 503, body: 'down' }),
    });
    cleanup = close;
    const s = await emu.run(emu.placeCall({ from: '+15551230001', to: OUR_NUMBER }).ended);
    expect(s.errors.map((e) => [e.code, e.level, e.kind])).toEqual([
      [11200, 'warning', 'status-callback'],
      [11200, 'warning', 'status-callback'],
      [11200, 'warning', 'status-callback'],
    ]);
    expect(s.heard).toEqual(['Hi.']);
  });

  it('calls.create to a simulated caller: answerCallback decides, StatusCallbackEvent filters', async () => {
    const clock = new VirtualClock();
    const { emu, srv, client, close } = await setup(clock, {
      '/twilio/voice': () => twiml((r) => r.say('Hi.')),
      '/twilio/callback': () => twiml((r) => r.say('This is your callback.')),
    });
    cleanup = close;
    await emu.run(emu.placeCall({ from: '+15551230001', to: OUR_NUMBER, behaviour: { answerCallback: true } }).ended);
    await emu.run(emu.placeCall({ from: '+15551230002', to: OUR_NUMBER, behaviour: { answerCallback: false } }).ended);
    const mk = (to: string) =>
      client.calls.create({
        to,
        from: OUR_NUMBER,
        url: `${PUBLIC_BASE}/twilio/callback`,
        timeout: 20,
        statusCallback: `${PUBLIC_BASE}/twilio/status`,
        statusCallbackEvent: ['answered', 'completed'],
      });
    const [yes, no] = await Promise.all([mk('+15551230001'), mk('+15551230002')]);
    const sy = await emu.run(emu.calls.get(yes.sid)!.ended);
    const sn = await emu.run(emu.calls.get(no.sid)!.ended);
    expect(sy.heard).toEqual(['This is your callback.']);
    expect(sn.status).toBe('no-answer');
    const st = byCall(srv.hitsTo('/twilio/status'));
    expect(st.get(yes.sid)!.map((h) => [h.params.CallStatus, h.params.SequenceNumber])).toEqual([
      ['in-progress', '0'],
      ['completed', '1'],
    ]);
    expect(st.get(no.sid)!.map((h) => h.params.CallStatus)).toEqual(['no-answer']);
    expect(srv.hitsTo('/twilio/callback')[0]!.params).toMatchObject({
      Direction: 'outbound-api',
      CallStatus: 'in-progress',
      To: '+15551230001',
    });
    const rest = emu.log.rest.find((r) => r.method === 'POST' && r.path.endsWith('/Calls.json'))!;
    expect(rest.form.StatusCallbackEvent).toEqual(['answered', 'completed']);
  });
});

describe('Record and speech', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('Record posts the recording to the action and the recording status callback; speech Gather posts SpeechResult', async () => {
    const clock = new VirtualClock();
    const { emu, srv, close } = await setup(clock, {
      '/twilio/voice': () =>
        twiml((r) => {
          r.gather({ input: ['speech'], action: '/twilio/said', speechTimeout: 'auto' }).say('How can we help?');
        }),
      '/twilio/said': () =>
        twiml((r) => {
          r.say('Leave a message after the beep.');
          r.record({ action: '/twilio/recorded', maxLength: 30, recordingStatusCallback: '/twilio/rec-status' });
        }),
      '/twilio/recorded': () => twiml((r) => r.hangup()),
      '/twilio/rec-status': () => ({ status: 200, body: '' }),
    });
    cleanup = close;
    const call = emu.placeCall({
      from: '+15551230001',
      to: OUR_NUMBER,
      behaviour: { gather: () => ({ speech: 'billing question', confidence: 0.82 }), record: { durationMs: 12_000 } },
    });
    const s = await emu.run(call.ended);
    expect(srv.hitsTo('/twilio/said')[0]!.params).toMatchObject({ SpeechResult: 'billing question', Confidence: '0.82' });
    const rec = srv.hitsTo('/twilio/recorded')[0]!.params;
    expect(rec).toMatchObject({ RecordingDuration: '12', Digits: '1' });
    expect(rec.RecordingSid).toMatch(/^RE[0-9a-f]{32}$/);
    expect(rec.RecordingUrl).toBe(`https://api.twilio.com/2010-04-01/Accounts/${emu.accountSid}/Recordings/${rec.RecordingSid}`);
    const rs = srv.hitsTo('/twilio/rec-status')[0]!.params;
    expect(rs).toMatchObject({ RecordingSid: rec.RecordingSid, RecordingStatus: 'completed', CallSid: call.sid });
    expect(s.recordings).toEqual([{ sid: rec.RecordingSid, url: rec.RecordingUrl, durationS: 12 }]);
    expect(s.speechSent).toEqual(['billing question']);
    expect(s.played).toContain('beep');
  });

  it('no Gather input falls through after the timeout; actionOnEmptyResult posts anyway; attempts are counted', async () => {
    const clock = new VirtualClock();
    const attempts: number[] = [];
    const { emu, srv, close } = await setup(clock, {
      '/twilio/voice': () =>
        twiml((r) => {
          r.gather({ timeout: 3 }).say('Enter your account number, then press pound.');
          r.redirect('/twilio/voice2');
        }),
      '/twilio/voice2': () =>
        twiml((r) => {
          r.gather({ timeout: 3, actionOnEmptyResult: true, action: '/twilio/empty' }).say('Last try.');
        }),
      '/twilio/empty': (p) => twiml((r) => r.say(`Got "${p.Digits}"`)),
    });
    cleanup = close;
    const call = emu.placeCall({
      from: '+15551230001',
      to: OUR_NUMBER,
      behaviour: {
        gather: (ctx) => {
          attempts.push(ctx.attempt);
          return ctx.path === '/twilio/voice2' ? { digits: '#' } : null;
        },
      },
    });
    const s = await emu.run(call.ended);
    expect(s.heard).toEqual(['Enter your account number, then press pound.', 'Last try.', 'Got ""']);
    expect(srv.hitsTo('/twilio/empty')[0]!.params).toMatchObject({ Digits: '' });
    expect(attempts).toEqual([1, 1]);
  });
});
