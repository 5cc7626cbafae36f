import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { DEFAULT_HOLD_MUSIC } from '../../src/sim/twilio/index.js';
import { OUR_NUMBER, PUBLIC_BASE, setup, twiml } from './helpers.js';

const enqueueDoc = () =>
  twiml((r) => {
    r.say('Please hold.');
    r.enqueue({ waitUrl: '/twilio/wait', action: '/twilio/queue-action' }, 'support');
    r.say('Back from the queue.');
  });
const waitDoc = (p: Record<string, string>) =>
  twiml((r) => {
    r.say(`You are number ${p.QueuePosition} in line.`);
    r.play('https://cdn.example.com/hold.mp3');
  });

describe('queues (virtual time)', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('loops on the waitUrl with position parameters; patience → QueueResult=hangup with QueueTime', async () => {
    const clock = new VirtualClock();
    const { emu, srv, close } = await setup(clock, {
      '/twilio/voice': enqueueDoc,
      '/twilio/wait': waitDoc,
      '/twilio/queue-action': () => twiml((r) => r.say('ignored')),
    });
    cleanup = close;
    const v0 = clock.now();
    const a = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER, behaviour: { patienceMs: 600_000 } });
    const b = emu.placeCall({ from: '+15551230002', to: OUR_NUMBER, behaviour: { patienceMs: 30_000 } });
    const sb = await emu.run(b.ended);
    const sa = await emu.run(a.ended);
    // The 10-minute wait passed on the virtual clock (the test's time limit bounds the real time).
    expect(clock.now() - v0).toBeGreaterThanOrEqual(600_000);
    const waits = srv.hitsTo('/twilio/wait').filter((h) => h.params.CallSid === a.sid);
    // Say ~1.6 s + Play 8 s per loop ⇒ about 60 loops in 600 s.
    expect(waits.length).toBeGreaterThan(50);
    expect(waits[0]!.params).toMatchObject({
      QueuePosition: '1',
      CurrentQueueSize: '1',
      MaxQueueSize: '1000',
      QueueTime: '0',
      AvgQueueTime: '0',
      CallStatus: 'in-progress',
    });
    expect(waits[0]!.params.QueueSid).toMatch(/^QU[0-9a-f]{32}$/);
    const bWaits = srv.hitsTo('/twilio/wait').filter((h) => h.params.CallSid === b.sid);
    expect(bWaits[0]!.params).toMatchObject({ QueuePosition: '2', CurrentQueueSize: '2' });
    // b left after 30 s: a's later requests show a queue of one.
    expect(waits.at(-1)!.params).toMatchObject({ QueuePosition: '1', CurrentQueueSize: '1' });
    expect(Number(waits.at(-1)!.params.QueueTime)).toBeGreaterThan(580);
    const actions = srv.hitsTo('/twilio/queue-action');
    const actA = actions.find((h) => h.params.CallSid === a.sid)!;
    expect(actA.params).toMatchObject({ QueueResult: 'hangup', QueueSid: waits[0]!.params.QueueSid, CallStatus: 'completed' });
    expect(Number(actA.params.QueueTime)).toBe(600);
    expect(sa.queueResults).toEqual(['hangup']);
    expect(sa.endedBy).toBe('caller');
    expect(sa.heard).not.toContain('Back from the queue.');
    expect(sa.heard.filter((t) => t === 'You are number 1 in line.').length).toBe(waits.length);
    expect(sb.queueWaits[0]).toMatchObject({ queue: 'support', result: 'hangup', waitMs: 30_000 });
    expect(srv.hits.every((h) => h.signatureOk)).toBe(true);
    expect(emu.queues.get('support')!.size).toBe(0);
    expect(emu.errors).toEqual([]);
  });

  it('REST dequeue moves the caller: QueueResult=redirected is posted and the new TwiML runs', async () => {
    const clock = new VirtualClock();
    const { emu, srv, client, close } = await setup(clock, {
      '/twilio/voice': enqueueDoc,
      '/twilio/wait': waitDoc,
      '/twilio/queue-action': () => twiml((r) => r.say('ignored')),
      '/twilio/connect': () =>
        twiml((r) => {
          r.say('Connecting you now.');
          r.hangup();
        }),
    });
    cleanup = close;
    const call = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER });
    await clock.advance(20_000, () => emu.settle());
    expect(call.activity).toBe('queue');
    const q = emu.queues.get('support')!;
    const members = await client.queues(q.sid).members.list();
    expect(members.map((m) => m.callSid)).toEqual([call.sid]);
    expect(members[0]!.position).toBe(1);
    const m = await client
      .queues(q.sid)
      .members('Front')
      .update({ url: `${PUBLIC_BASE}/twilio/connect`, method: 'POST' });
    expect(m.callSid).toBe(call.sid);
    const s = await emu.run(call.ended);
    const act = srv.hitsTo('/twilio/queue-action');
    expect(act).toHaveLength(1);
    expect(act[0]!.params).toMatchObject({ QueueResult: 'redirected', QueueSid: q.sid, QueueTime: '19' }); // enqueued after the 1 s Say
    expect(srv.hitsTo('/twilio/connect')).toHaveLength(1);
    expect(s.heard.at(-1)).toBe('Connecting you now.');
    expect(s.heard).not.toContain('ignored');
    expect(s.queueResults).toEqual(['redirected']);
    const rest = emu.log.rest.find((r) => r.method === 'POST' && r.path.endsWith('/Members/Front.json'))!;
    expect(rest.form).toEqual({ Url: `${PUBLIC_BASE}/twilio/connect`, Method: 'POST' });
    expect(rest.authOk).toBe(true);
    expect(q.size).toBe(0);
  });

  it('<Leave> in the wait document posts QueueResult=leave at once and continues with its TwiML', async () => {
    const clock = new VirtualClock();
    const { emu, srv, close } = await setup(clock, {
      '/twilio/voice': enqueueDoc,
      '/twilio/wait': (p) => (Number(p.QueueTime) >= 30 ? twiml((r) => r.leave()) : twiml((r) => r.pause({ length: 10 }))),
      '/twilio/queue-action': (p) => twiml((r) => r.say(`Result ${p.QueueResult}`)),
    });
    cleanup = close;
    const call = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER });
    const s = await emu.run(call.ended);
    expect(srv.hitsTo('/twilio/queue-action')[0]!.params).toMatchObject({ QueueResult: 'leave', QueueTime: '30' });
    expect(s.heard).toEqual(['Please hold.', 'Result leave']);
    expect(s.queueResults).toEqual(['leave']);
  });

  it('default waitUrl plays hold music without requests; queue-full is reported without QueueSid', async () => {
    const clock = new VirtualClock();
    const { emu, srv, close } = await setup(clock, {
      '/twilio/voice': () => twiml((r) => r.enqueue({ action: '/twilio/queue-action' }, 'tiny')),
      '/twilio/queue-action': (p) => twiml((r) => r.say(`Result ${p.QueueResult}`)),
    });
    cleanup = close;
    const q = emu.queueRegistry.create('tiny', 1);
    const a = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER, behaviour: { patienceMs: 60_000 } });
    await clock.advance(1000, () => emu.settle());
    const b = emu.placeCall({ from: '+15551230002', to: OUR_NUMBER });
    const sb = await emu.run(b.ended);
    expect(sb.heard).toEqual(['Result queue-full']);
    const full = srv.hitsTo('/twilio/queue-action').find((h) => h.params.CallSid === b.sid)!;
    expect(full.params.QueueResult).toBe('queue-full');
    expect(full.params.QueueSid).toBeUndefined();
    expect(q.size).toBe(1);
    const sa = await emu.run(a.ended);
    expect(sa.played).toEqual([DEFAULT_HOLD_MUSIC]);
    expect(sa.queueResults).toEqual(['hangup']);
  });

  it('a forbidden verb in a waitUrl document is error 12100 and the fallback URL is requested', async () => {
    const clock = new VirtualClock();
    const bad = '<?xml version="1.0" encoding="UTF-8"?><Response><Say>hold</Say><Dial>+15550000000</Dial></Response>';
    const { emu, srv, close } = await setup(clock, {
      '/twilio/voice': enqueueDoc,
      '/twilio/wait': () => bad,
      '/twilio/queue-action': () => twiml((r) => r.say('ignored')),
      '/twilio/fallback': () =>
        twiml((r) => {
          r.say('Sorry, something went wrong.');
          r.hangup();
        }),
    });
    cleanup = close;
    const call = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER });
    const s = await emu.run(call.ended);
    const err = emu.errors.find((e) => e.code === 12100)!;
    expect(err).toMatchObject({ callSid: call.sid, level: 'error', url: `${PUBLIC_BASE}/twilio/wait`, document: bad });
    expect(err.message).toMatch(/<Dial> is not allowed in a waitUrl document/);
    const fb = srv.hitsTo('/twilio/fallback');
    expect(fb).toHaveLength(1);
    expect(fb[0]!.params).toMatchObject({ ErrorCode: '12100', ErrorUrl: `${PUBLIC_BASE}/twilio/wait`, QueuePosition: '1' });
    expect(s.heard).toEqual(['Please hold.', 'Sorry, something went wrong.']);
    expect(s.queueResults).toEqual(['hangup']);
    expect(s.errors.map((e) => e.code)).toEqual([12100]);
  });
});
