import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { OUR_NUMBER, PUBLIC_BASE, setup, twiml } from './helpers.js';

describe('dial (virtual time)', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('dials a registered client, bridges, and posts the Dial action with its parameters', async () => {
    const clock = new VirtualClock();
    const { emu, srv, close } = await setup(clock, {
      '/twilio/voice': () =>
        twiml((r) => {
          const d = r.dial({ action: '/twilio/dial-action', timeout: 20 });
          d.client('alice');
          r.say('never runs');
        }),
      '/twilio/dial-action': (p) =>
        twiml((r) => {
          r.say(`Dial ${p.DialCallStatus}`);
          r.hangup();
        }),
    });
    cleanup = close;
    emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 3000, talkMs: 60_000 });
    const call = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER });
    const s = await emu.run(call.ended);
    const act = srv.hitsTo('/twilio/dial-action')[0]!;
    const leg = [...emu.calls.values()].find((c) => c.parentCallSid === call.sid)!;
    expect(leg).toBeDefined();
    expect(leg.direction).toBe('outbound-dial');
    expect(leg.to).toBe('client:alice');
    expect(act.params).toMatchObject({
      DialCallStatus: 'completed',
      DialCallSid: leg.sid,
      DialCallDuration: '60',
      DialBridged: 'true',
      CallSid: call.sid,
    });
    expect(s.heard).toEqual(['Dial completed']);
    expect(s.dialResults).toEqual([{ kind: 'endpoint', status: 'completed', dialCallSid: leg.sid, durationS: 60, bridged: true }]);
    const ls = await leg.ended;
    expect(ls.endedBy).toBe('caller');
    expect(ls.durationMs).toBe(60_000);
    expect(s.durationMs).toBeGreaterThanOrEqual(63_000);
  });

  it('reports no-answer after the Dial timeout and continues with the next verb when there is no action', async () => {
    const clock = new VirtualClock();
    const { emu, close } = await setup(clock, {
      '/twilio/voice': () =>
        twiml((r) => {
          r.dial({ timeout: 5 }).client('bob');
          r.say('Nobody answered.');
        }),
    });
    cleanup = close;
    emu.registerEndpoint('client:bob', { answer: false });
    const call = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER });
    const s = await emu.run(call.ended);
    expect(s.heard).toEqual(['Nobody answered.']);
    expect(s.dialResults[0]).toMatchObject({ status: 'no-answer', bridged: false });
    const leg = [...emu.calls.values()].find((c) => c.parentCallSid === call.sid)!;
    expect((await leg.ended).status).toBe('no-answer');
    expect(s.durationMs).toBeGreaterThanOrEqual(5000);
  });

  it('the caller hanging up while the agent talks: leg ended by twilio, action still requested', async () => {
    const clock = new VirtualClock();
    const { emu, srv, close } = await setup(clock, {
      '/twilio/voice': () => twiml((r) => r.dial({ action: '/twilio/dial-action' }).number('+15559990000')),
      '/twilio/dial-action': () => twiml((r) => r.say('ignored')),
    });
    cleanup = close;
    emu.registerEndpoint('+15559990000', { answer: true, answerDelayMs: 1000 });
    const call = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER, behaviour: { talkMs: 10_000 } });
    const s = await emu.run(call.ended);
    expect(s.endedBy).toBe('caller');
    const leg = [...emu.calls.values()].find((c) => c.parentCallSid === call.sid)!;
    expect((await leg.ended).endedBy).toBe('twilio');
    expect(srv.hitsTo('/twilio/dial-action')[0]!.params).toMatchObject({
      DialCallStatus: 'completed',
      DialCallDuration: '10',
      CallStatus: 'completed',
    });
    expect(s.heard).toEqual([]);
  });

  it('an agent called with calls.create dequeues the caller with <Dial><Queue url>', async () => {
    const clock = new VirtualClock();
    const { emu, srv, client, close } = await setup(clock, {
      '/twilio/voice': () =>
        twiml((r) => {
          r.enqueue({ waitUrl: '/twilio/wait', action: '/twilio/queue-action' }, 'support');
        }),
      '/twilio/wait': () => twiml((r) => r.play({ loop: 0 }, 'https://cdn.example.com/hold.mp3')),
      '/twilio/queue-action': (p) =>
        twiml((r) => {
          r.say(`Queue result ${p.QueueResult}`);
          r.hangup();
        }),
      '/twilio/agent': () =>
        twiml((r) => {
          r.dial({ action: '/twilio/agent-done' }).queue({ url: '/twilio/whisper' }, 'support');
        }),
      '/twilio/whisper': () => twiml((r) => r.say('You are being connected to an agent.')),
      '/twilio/agent-done': () => twiml((r) => r.hangup()),
    });
    cleanup = close;
    emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 2000, talkMs: 120_000 });
    const caller = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER });
    await clock.advance(60_000, () => emu.settle());
    const created = await client.calls.create({
      to: 'client:alice',
      from: OUR_NUMBER,
      url: `${PUBLIC_BASE}/twilio/agent`,
      statusCallback: `${PUBLIC_BASE}/twilio/status`,
      statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
    });
    expect(created.status).toBe('queued');
    expect(created.direction).toBe('outbound-api');
    const agent = emu.calls.get(created.sid)!;
    const sa = await emu.run(agent.ended);
    const sc = await emu.run(caller.ended);
    const whisper = srv.hitsTo('/twilio/whisper')[0]!;
    expect(whisper.params).toMatchObject({ CallSid: caller.sid, DequeingCallSid: agent.sid });
    expect(Number(whisper.params.QueueTime)).toBeGreaterThanOrEqual(61);
    expect(sc.heard).toEqual(['You are being connected to an agent.', 'Queue result bridged']);
    expect(srv.hitsTo('/twilio/queue-action')[0]!.params).toMatchObject({ QueueResult: 'bridged' });
    const done = srv.hitsTo('/twilio/agent-done')[0]!;
    expect(done.params).toMatchObject({
      DialCallStatus: 'completed',
      DialCallSid: caller.sid,
      DialBridged: 'true',
      DialCallDuration: '120',
    });
    expect(sa.endedBy).toBe('caller'); // the agent's talkMs ended the bridge; its Dial action was a notification
    expect(done.params.CallStatus).toBe('completed');
    const agentStatus = srv.hitsTo('/twilio/status').filter((h) => h.params.CallSid === agent.sid);
    expect(agentStatus.map((h) => [h.params.CallStatus, h.params.SequenceNumber])).toEqual([
      ['initiated', '0'],
      ['ringing', '1'],
      ['in-progress', '2'],
      ['completed', '3'],
    ]);
    expect(agentStatus[0]!.params.Direction).toBe('outbound-api');
    expect(agentStatus[3]!.params.CallDuration).toBe(String(Math.round(sa.durationMs / 1000)));
    expect(srv.hits.every((h) => h.signatureOk)).toBe(true);
  });

  it('runs the called party whisper (<Client url>): accept bridges, decline → no-answer', async () => {
    const clock = new VirtualClock();
    const { emu, srv, close } = await setup(clock, {
      '/twilio/voice': () =>
        twiml((r) => {
          r.dial({ action: '/twilio/dial-action', timeout: 30 }).client({ url: '/twilio/whisper' }, 'alice');
        }),
      '/twilio/whisper': () =>
        twiml((r) => {
          r.gather({ numDigits: 1, action: '/twilio/whisper-answer', timeout: 5 }).say('Press 1 to accept.');
          r.hangup();
        }),
      '/twilio/whisper-answer': (p) => (p.Digits === '1' ? twiml(() => undefined) : twiml((r) => r.hangup())),
      '/twilio/dial-action': (p) => twiml((r) => r.say(`Dial ${p.DialCallStatus} ${p.DialBridged}`)),
    });
    cleanup = close;
    let accept = true;
    emu.registerEndpoint('client:alice', {
      answer: true,
      answerDelayMs: 1000,
      talkMs: 5000,
      gather: () => ({ digits: accept ? '1' : '2' }),
    });
    const s1 = await emu.run(emu.placeCall({ from: '+15551230001', to: OUR_NUMBER }).ended);
    accept = false;
    const s2 = await emu.run(emu.placeCall({ from: '+15551230002', to: OUR_NUMBER }).ended);
    expect(s1.heard).toEqual(['Dial completed true']);
    expect(s2.heard).toEqual(['Dial no-answer false']);
    const w = srv.hitsTo('/twilio/whisper')[0]!;
    expect(w.params).toMatchObject({ Direction: 'outbound-dial', To: 'client:alice', From: '+15551230001' });
    expect(w.params.ParentCallSid).toBe(s1.callSid);
    const leg2 = [...emu.calls.values()].find((c) => c.parentCallSid === s2.callSid)!;
    expect((await leg2.ended).heard).toEqual(['Press 1 to accept.']);
  });

  it('REST calls update with Twiml on an enqueued caller: QueueResult=redirected notification, new TwiML runs', async () => {
    const clock = new VirtualClock();
    const { emu, srv, client, close } = await setup(clock, {
      '/twilio/voice': () => twiml((r) => r.enqueue({ action: '/twilio/queue-action' }, 'sales')),
      '/twilio/queue-action': () => twiml((r) => r.say('ignored')),
    });
    cleanup = close;
    const call = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER });
    await clock.advance(45_000, () => emu.settle());
    await client.calls(call.sid).update({ twiml: '<Response><Say>Transferred.</Say></Response>' });
    const s = await emu.run(call.ended);
    expect(s.heard).toEqual(['Transferred.']);
    expect(s.queueWaits).toEqual([{ queue: 'sales', result: 'redirected', waitMs: 45_000 }]);
    expect(srv.hitsTo('/twilio/queue-action')[0]!.params).toMatchObject({ QueueResult: 'redirected', QueueTime: '45' });
    expect(emu.queues.get('sales')!.size).toBe(0);
  });

  it('two agents dial one queue: one bridges at once, the other waits for the next caller (or times out)', async () => {
    const clock = new VirtualClock();
    const { emu, srv, client, close } = await setup(clock, {
      '/twilio/voice': () => twiml((r) => r.enqueue({}, 'support')),
      '/twilio/agent': () => twiml((r) => r.dial({ action: '/twilio/agent-done', timeout: 60 }).queue('support')),
      '/twilio/agent-done': () => twiml((r) => r.hangup()),
    });
    cleanup = close;
    emu.registerEndpoint('client:a1', { answer: true, answerDelayMs: 1000, talkMs: 30_000 });
    emu.registerEndpoint('client:a2', { answer: true, answerDelayMs: 1000, talkMs: 30_000 });
    emu.registerEndpoint('client:a3', { answer: true, answerDelayMs: 1000 });
    const c1 = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER });
    await clock.advance(5000, () => emu.settle());
    const mk = (to: string) => client.calls.create({ to, from: OUR_NUMBER, url: `${PUBLIC_BASE}/twilio/agent` });
    const [a1, a2] = await Promise.all([mk('client:a1'), mk('client:a2')]);
    await clock.advance(20_000, () => emu.settle());
    const c2 = emu.placeCall({ from: '+15551230002', to: OUR_NUMBER });
    await emu.run(Promise.all([c1.ended, c2.ended, emu.calls.get(a1.sid)!.ended, emu.calls.get(a2.sid)!.ended]));
    const done = srv.hitsTo('/twilio/agent-done').map((h) => h.params);
    expect(done.map((p) => p.DialCallSid).sort()).toEqual([c1.sid, c2.sid].sort());
    expect(done.every((p) => p.DialCallStatus === 'completed' && p.DialBridged === 'true')).toBe(true);
    const a3 = await mk('client:a3');
    const s3 = await emu.run(emu.calls.get(a3.sid)!.ended);
    expect(s3.dialResults).toEqual([{ kind: 'queue', status: 'no-answer', bridged: false }]);
    expect(s3.durationMs).toBeGreaterThanOrEqual(60_000);
  });

  it('the caller hangs up while the Dial rings: legs canceled, action notified with DialCallStatus=canceled', async () => {
    const clock = new VirtualClock();
    const { emu, srv, close } = await setup(clock, {
      '/twilio/voice': () =>
        twiml((r) => {
          const d = r.dial({ action: '/twilio/dial-action', timeout: 30 });
          d.client('alice');
          d.client('bob');
        }),
      '/twilio/dial-action': () => twiml((r) => r.say('ignored')),
    });
    cleanup = close;
    emu.registerEndpoint('client:alice', { answer: false });
    emu.registerEndpoint('client:bob', { answer: 'busy' });
    const call = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER, behaviour: { hangupAfterMs: 10_000 } });
    const s = await emu.run(call.ended);
    const legs = [...emu.calls.values()].filter((c) => c.parentCallSid === call.sid);
    const statuses = await Promise.all(legs.map(async (l) => [l.to, (await l.ended).status]));
    expect(Object.fromEntries(statuses)).toEqual({ 'client:alice': 'canceled', 'client:bob': 'busy' });
    expect(srv.hitsTo('/twilio/dial-action')[0]!.params).toMatchObject({ DialCallStatus: 'canceled', CallStatus: 'completed' });
    expect(s.dialResults[0]).toMatchObject({ status: 'canceled', bridged: false });
  });
});
