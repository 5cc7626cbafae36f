/**
 * A caller from the IVR waits in the queue, hears position and estimate, an agent signed in over the real
 * WebSocket is offered the call and accepts; the bridge goes through the REST stand-in (participant into
 * the call's conference, then the member dequeued), the call ends, wrap-up with a disposition, survey.
 * Everything is checked in Redis, in the REST requests that reached the emulator and on /metrics.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sample } from '../helpers/app.js';
import { makeStack, NUMBER, type Stack } from '../helpers/stack.js';
import { supportCaller } from '../helpers/callers.js';

let s: Stack | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe('queue and agents end to end', () => {
  it('caller waits, hears position and estimate, agent accepts, REST bridge, wrap-up, survey', async () => {
    s = await makeStack();
    const stack = s;
    stack.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 2000 });
    const alice = await stack.agent('alice-demo-token');

    const call = stack.emu.placeCall({ from: '+15551230001', to: NUMBER, behaviour: supportCaller({ csat: '5', nps: '9#' }) });
    // Nobody available yet: the caller waits and hears where they stand.
    await stack.emu.run(stack.clock.sleep(40_000));
    expect(call.heard.some((h) => /You are number 1 in line/.test(h))).toBe(true);
    const waiting = await stack.app.sb.queues.snapshot('support');
    expect(waiting.waiting).toBe(1);

    alice.send({ type: 'set_state', state: 'available' });
    const offer = await stack.until(alice.next('offer'));
    expect(offer).toMatchObject({ queue: 'support', callSid: call.sid, callback: false });
    expect((offer.ivrPath as string[]).slice(0, 3)).toEqual(['language', 'hours', 'main-menu']);
    alice.send({ type: 'accept', offerId: offer.offerId });
    await stack.until(alice.next('call', (m) => m.status === 'connected'));

    // The REST requests Twilio's API received: the agent dialed into the call's conference, then the
    // caller taken out of the Twilio queue.
    const rest = stack.emu.log.rest.map((r) => ({ method: r.method, path: r.path, form: r.form }));
    const participant = rest.find((r) => /\/Conferences\/sb-CA[0-9a-f]{32}\/Participants\.json$/.test(r.path));
    expect(participant?.method).toBe('POST');
    expect(participant?.form).toMatchObject({
      To: 'client:alice',
      Label: 'agent',
      EndConferenceOnExit: 'true',
      StartConferenceOnEnter: 'true',
    });
    expect(String(participant?.form.StatusCallback)).toContain('/twilio/agent/status?offer=');
    // The agent's leg creates the conference, so it asks for the conference's status callback (Twilio keeps
    // only the creating participant's).
    expect(String(participant?.form.ConferenceStatusCallback)).toBe('https://switchboard.example.com/twilio/conference/status');
    expect(participant?.form.ConferenceStatusCallbackEvent).toEqual(['start', 'end', 'join', 'leave', 'hold']);
    const dequeue = rest.find((r) => /\/Queues\/QU[0-9a-f]{32}\/Members\/CA[0-9a-f]{32}\.json$/.test(r.path));
    expect(dequeue?.form).toMatchObject({ Method: 'POST' });
    expect(String(dequeue?.form.Url)).toContain('/twilio/queue/connect?queue=support');
    expect(rest.every((r) => r.path.startsWith('/2010-04-01/Accounts/AC'))).toBe(true);

    const agentRec = await stack.app.sb.agents.get('alice');
    expect(agentRec?.state).toBe('on_call');

    // Talk, hold for 45 s (the caller hears hold music over a REST participant update), resume, talk.
    await stack.emu.run(stack.clock.sleep(60_000));
    alice.send({ type: 'hold', callSid: call.sid, on: true, ref: 'h1' });
    await stack.reply(alice.next('ack', (m) => m.ref === 'h1'));
    const holdReq = stack.emu.log.rest.find((r) => /\/Conferences\/CF[0-9a-f]{32}\/Participants\/CA[0-9a-f]{32}\.json$/.test(r.path));
    expect(holdReq?.form).toMatchObject({ Hold: 'true', HoldMethod: 'POST' });
    await stack.emu.run(stack.clock.sleep(45_000));
    alice.send({ type: 'hold', callSid: call.sid, on: false, ref: 'h2' });
    await stack.reply(alice.next('ack', (m) => m.ref === 'h2'));
    await stack.emu.run(stack.clock.sleep(75_000));
    alice.send({ type: 'hangup', callSid: call.sid });
    const wrap = await stack.until(alice.next('wrap_up'));
    expect(wrap.callSid).toBe(call.sid);
    await stack.emu.run(stack.clock.sleep(20_000));
    alice.send({ type: 'wrap_up', callSid: call.sid, disposition: 'resolved', code: 'password_reset' });
    await stack.reply(alice.next('ack', (m) => m.for === 'wrap_up'));
    const summary = await stack.emu.run(call.ended);
    expect(summary.heard.some((h) => /how satisfied/.test(h))).toBe(true);
    expect((await stack.app.sb.agents.get('alice'))?.state).toBe('available');

    const m = await stack.metrics();
    expect(sample(m, 'switchboard_calls_offered_total', { queue: 'support' })).toBe(1);
    expect(sample(m, 'switchboard_calls_answered_total', { queue: 'support' })).toBe(1);
    expect(sample(m, 'switchboard_calls_handled_total', { queue: 'support' })).toBe(1);
    expect(sample(m, 'switchboard_dispositions_total', { queue: 'support', disposition: 'resolved' })).toBe(1);
    expect(sample(m, 'switchboard_queue_wait_seconds_count', { queue: 'support', outcome: 'answered' })).toBe(1);
    expect(sample(m, 'switchboard_calls_answered_within_sl_total', { queue: 'support' })).toBe(0); // waited over 20 s
    expect(sample(m, 'switchboard_survey_responses_total', { survey: 'csat', score: '5' })).toBe(1);
    // Agent commands travel over a real socket while virtual time moves in 1 s steps, so a command can
    // land one step late under load: held 45 s and wrapped up 20 s, give or take a step.
    expect(sample(m, 'switchboard_hold_seconds_sum', { queue: 'support' })).toBeGreaterThanOrEqual(44);
    expect(sample(m, 'switchboard_hold_seconds_sum', { queue: 'support' })).toBeLessThanOrEqual(47);
    expect(sample(m, 'switchboard_hold_seconds_count', { queue: 'support' })).toBe(1);
    expect(sample(m, 'switchboard_wrapup_seconds_sum', { queue: 'support' })).toBeGreaterThanOrEqual(20);
    expect(sample(m, 'switchboard_wrapup_seconds_sum', { queue: 'support' })).toBeLessThanOrEqual(22);
    expect(sample(m, 'switchboard_survey_responses_total', { survey: 'nps', score: '9' })).toBe(1);
    expect(sample(m, 'switchboard_offers_total', { queue: 'support', result: 'accepted' })).toBe(1);
    const tally = await stack.app.sb.queues.tally('support');
    expect(tally).toMatchObject({ offered: 1, answered: 1, inQueue: 0 });
    expect(stack.emu.errors).toEqual([]);
    alice.close();
  });

  it('a caller who hangs up on the agent is offered no survey: the Dial action with CallStatus=completed gets an empty answer', async () => {
    s = await makeStack();
    const stack = s;
    stack.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
    const alice = await stack.agent('alice-demo-token');
    alice.send({ type: 'set_state', state: 'available' });
    await stack.until(alice.next('state', (m) => m.state === 'available'));
    const call = stack.emu.placeCall({ from: '+15551230011', to: NUMBER, behaviour: supportCaller({ csat: '5', nps: '9#' }) });
    const offer = await stack.until(alice.next('offer'));
    alice.send({ type: 'accept', offerId: offer.offerId });
    await stack.until(alice.next('call', (m) => m.status === 'connected'));
    await stack.emu.run(stack.clock.sleep(30_000));
    call.hangup('caller');
    await stack.until(alice.next('wrap_up'));
    const summary = await stack.emu.run(call.ended);
    await stack.emu.settle();
    expect(summary.heard.some((h) => /how satisfied/.test(h))).toBe(false);
    // Twilio still requested the Dial action (answer ignored); ours is an empty Response.
    const actions = stack.emu.log.webhooks.filter((w) => w.kind === 'action' && w.path.startsWith('/twilio/call/after'));
    expect(actions).toHaveLength(1);
    expect(actions[0]!.params).toMatchObject({ CallSid: call.sid, CallStatus: 'completed', DialCallStatus: 'answered' });
    expect(actions[0]!.status).toBe(200);
    expect(actions[0]!.body).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?><Response\/>$/);
    // Nothing counted, nothing stored: no survey in the call's state in Redis.
    const m = await stack.metrics();
    expect(sample(m, 'switchboard_surveys_offered_total', { survey: 'csat' }) ?? 0).toBe(0);
    expect(sample(m, 'switchboard_calls_answered_total', { queue: 'support' })).toBe(1);
    const state = await stack.app.sb.calls.get(call.sid);
    expect(state?.phase).toBe('ended');
    expect(state?.survey).toBeUndefined();
    expect(stack.emu.errors).toEqual([]);
  });

  it('abandon with Twilio QueueTime, and a short abandon', async () => {
    s = await makeStack();
    const stack = s;
    const long = stack.emu.placeCall({
      from: '+15551230002',
      to: NUMBER,
      behaviour: supportCaller({ patienceMs: 70_000, csat: '5', nps: '9#' }),
    });
    const quick = stack.emu.placeCall({
      from: '+15551230003',
      to: NUMBER,
      behaviour: supportCaller({ patienceMs: 2_000, csat: '5', nps: '9#' }),
    });
    await stack.emu.run(Promise.all([long.ended, quick.ended]));
    const m = await stack.metrics();
    expect(sample(m, 'switchboard_calls_offered_total', { queue: 'support' })).toBe(2);
    expect(sample(m, 'switchboard_calls_abandoned_total', { queue: 'support' })).toBe(2);
    expect(sample(m, 'switchboard_calls_short_abandoned_total', { queue: 'support' })).toBe(1);
    expect(sample(m, 'switchboard_calls_abandoned_after_total', { queue: 'support', after: '60' })).toBe(1);
    expect(sample(m, 'switchboard_queue_wait_seconds_bucket', { queue: 'support', outcome: 'abandoned', le: '60' })).toBe(1);
    expect(sample(m, 'switchboard_queue_wait_seconds_bucket', { queue: 'support', outcome: 'abandoned', le: '90' })).toBe(2);
  });

  it('offer timeout moves the caller to the next agent and the missed agent out of available', async () => {
    s = await makeStack();
    const stack = s;
    stack.emu.registerEndpoint('client:bob', { answer: true, answerDelayMs: 1000 });
    const alice = await stack.agent('alice-demo-token');
    const bob = await stack.agent('bob-demo-token');
    alice.send({ type: 'set_state', state: 'available' });
    await stack.until(alice.next('ack'));
    await stack.emu.run(stack.clock.sleep(5_000));
    bob.send({ type: 'set_state', state: 'available' });
    await stack.until(bob.next('ack'));
    const call = stack.emu.placeCall({ from: '+15551230004', to: NUMBER, behaviour: supportCaller({ csat: '5', nps: '9#' }) });
    // Alice has been idle longest: she gets the offer first and lets it time out.
    const first = await stack.until(alice.next('offer'));
    expect(first.callSid).toBe(call.sid);
    const cancelled = await stack.until(alice.next('offer_cancelled'));
    expect(cancelled.reason).toBe('timeout');
    const second = await stack.until(bob.next('offer'));
    expect(second.callSid).toBe(call.sid);
    expect((await stack.app.sb.agents.get('alice'))?.state).toBe('break');
    bob.send({ type: 'accept', offerId: second.offerId });
    await stack.until(bob.next('call', (m) => m.status === 'connected'));
    const m = await stack.metrics();
    expect(sample(m, 'switchboard_offers_total', { queue: 'support', result: 'timeout' })).toBe(1);
    expect(sample(m, 'switchboard_calls_answered_total', { queue: 'support' })).toBe(1);
  });

  it('callback keeps the place and the caller is called back with calls.create', async () => {
    s = await makeStack();
    const stack = s;
    stack.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
    const cb = stack.emu.placeCall({
      from: '+15551230005',
      to: NUMBER,
      behaviour: { ...supportCaller({ keys: '1', csat: '5', nps: '9#' }), answerCallback: true },
    });
    const behind = stack.emu.placeCall({ from: '+15551230006', to: NUMBER, behaviour: supportCaller({ csat: '5', nps: '9#' }) });
    await stack.emu.run(cb.ended);
    const pos = await stack.app.sb.queues.position('support', behind.sid);
    expect(pos?.position).toBe(2); // the callback still holds first place
    const alice = await stack.agent('alice-demo-token');
    alice.send({ type: 'set_state', state: 'available' });
    const offer = await stack.until(alice.next('offer'));
    expect(offer).toMatchObject({ callSid: cb.sid, callback: true });
    alice.send({ type: 'accept', offerId: offer.offerId });
    await stack.until(alice.next('call', (m) => m.status === 'connected'));
    const create = stack.emu.log.rest.find((r) => r.method === 'POST' && /\/Calls\.json$/.test(r.path));
    expect(create?.form).toMatchObject({ To: '+15551230005', From: NUMBER });
    const m = await stack.metrics();
    expect(sample(m, 'switchboard_callbacks_requested_total', { queue: 'support' })).toBe(1);
    expect(sample(m, 'switchboard_calls_abandoned_total', { queue: 'support' })).toBe(0);
    expect(sample(m, 'switchboard_callback_attempts_total', { queue: 'support', result: 'connected' })).toBe(1);
  });

  it('overflow on max wait goes to voicemail', async () => {
    s = await makeStack();
    const stack = s;
    const call = stack.emu.placeCall({
      from: '+15551230007',
      to: NUMBER,
      behaviour: { ...supportCaller({ csat: '5', nps: '9#' }), record: { durationMs: 10_000 } },
    });
    const summary = await stack.emu.run(call.ended);
    expect(summary.heard.some((h) => /leave a message/i.test(h))).toBe(true);
    const m = await stack.metrics();
    expect(sample(m, 'switchboard_calls_overflow_total', { queue: 'support', target: 'voicemail' })).toBe(1);
    const w = sample(m, 'switchboard_queue_wait_seconds_sum', { queue: 'support', outcome: 'overflow' }) ?? 0;
    expect(w).toBeGreaterThanOrEqual(900);
    expect(sample(m, 'switchboard_voicemails_total', { queue: 'support' })).toBe(1);
  });
});
