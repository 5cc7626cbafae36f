/**
 * Hold, transfer and supervisor monitoring on the call's own conference, end to end: callers from the
 * Twilio emulator, agents over the real WebSocket, the supervisor over HTTP, Redis and /metrics checked,
 * and every REST request that reached the emulator checked for Twilio's paths and form fields.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Call } from '../../src/sim/twilio/index.js';
import { sample } from '../helpers/app.js';
import { makeStack, NUMBER, type Stack, type TestAgent } from '../helpers/stack.js';
import { SUPERVISOR_TOKEN } from '../helpers/app.js';
import { loggerOptions } from '../../src/app.js';
import { supportCaller } from '../helpers/callers.js';

let s: Stack | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const CF_PARTICIPANTS = /^\/2010-04-01\/Accounts\/AC[0-9a-f]{32}\/Conferences\/CF[0-9a-f]{32}\/Participants\.json$/;
const CF_PARTICIPANT = /^\/2010-04-01\/Accounts\/AC[0-9a-f]{32}\/Conferences\/CF[0-9a-f]{32}\/Participants\/CA[0-9a-f]{32}\.json$/;
const CALL = /^\/2010-04-01\/Accounts\/AC[0-9a-f]{32}\/Calls\/CA[0-9a-f]{32}\.json$/;

/**
 * Every flow here (hold, transfers, monitoring) runs with no conference status callback delivered: the
 * ConferenceSid they need comes from the Participants create answer of the agent's leg.
 */
async function stackWithoutConferenceCallbacks(o?: Parameters<typeof makeStack>[0]): Promise<Stack> {
  const stack = await makeStack(o);
  stack.emu.faults.statusCallbacks.dropConference = true;
  return stack;
}

interface Connected {
  call: Call;
  alice: TestAgent;
  aliceLeg: string;
}

/** One caller connected to Alice through the support queue. */
async function connectToAlice(stack: Stack): Promise<Connected> {
  stack.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
  const alice = await stack.agent('alice-demo-token');
  alice.send({ type: 'set_state', state: 'available' });
  await stack.until(alice.next('state', (m) => m.state === 'available'));
  const call = stack.emu.placeCall({ from: '+15551230009', to: NUMBER, behaviour: supportCaller({ csat: '4', nps: '8#' }) });
  const offer = await stack.until(alice.next('offer'));
  alice.send({ type: 'accept', offerId: offer.offerId });
  await stack.until(alice.next('call', (m) => m.status === 'connected'));
  await stack.emu.run(stack.clock.sleep(5_000));
  const conf = stack.emu.conference(`sb-${call.sid}`);
  const aliceLeg = [...(conf?.participants.values() ?? [])].find((p) => p.label === 'agent')?.callSid;
  if (!conf || !aliceLeg) throw new Error('no conference with the agent');
  expect(conf.canHear(call.sid, aliceLeg)).toBe(true);
  // The agent's leg created the conference and asked for its status callback (the events would be sent),
  // but none reached the server.
  expect(conf.events.find((e) => e.event === 'conference-start')?.sent).toBe(true);
  expect(stack.emu.log.webhooks.filter((w) => w.kind === 'conference-status')).toEqual([]);
  return { call, alice, aliceLeg };
}

async function ready(stack: Stack, token: string, contact: string): Promise<TestAgent> {
  stack.emu.registerEndpoint(contact, { answer: true, answerDelayMs: 1000 });
  const a = await stack.agent(token);
  a.send({ type: 'set_state', state: 'available' });
  await stack.until(a.next('state', (m) => m.state === 'available'));
  return a;
}

const restSince = (stack: Stack, from: number) =>
  stack.emu.log.rest.slice(from).map((r) => ({ method: r.method, path: r.path, form: r.form, status: r.status }));

/** offered = answered once for the support queue, nothing counted in the others. */
async function expectOneContact(stack: Stack, m: string): Promise<void> {
  expect(sample(m, 'switchboard_calls_offered_total', { queue: 'support' })).toBe(1);
  expect(sample(m, 'switchboard_calls_answered_total', { queue: 'support' })).toBe(1);
  expect(sample(m, 'switchboard_calls_abandoned_total', { queue: 'support' })).toBe(0);
  expect(sample(m, 'switchboard_calls_offered_total', { queue: 'billing' })).toBe(0);
  expect(sample(m, 'switchboard_calls_answered_total', { queue: 'billing' })).toBe(0);
  expect(await stack.app.sb.queues.tally('support')).toMatchObject({ offered: 1, answered: 1, inQueue: 0 });
}

describe('transfers and monitoring on the call conference', () => {
  it('warm transfer to a named agent: consult while the caller holds, then complete', async () => {
    s = await stackWithoutConferenceCallbacks();
    const stack = s;
    const { call, alice, aliceLeg } = await connectToAlice(stack);
    const bob = await ready(stack, 'bob-demo-token', 'client:bob');
    const mark = stack.emu.log.rest.length;

    alice.send({ type: 'transfer', callSid: call.sid, to: { kind: 'agent', agentId: 'bob' }, warm: true, ref: 't1' });
    await stack.until(alice.next('ack', (m) => m.ref === 't1'));
    const offer = await stack.until(bob.next('offer'));
    expect(offer).toMatchObject({ callSid: call.sid, queue: 'support', transferFrom: 'alice' });
    bob.send({ type: 'accept', offerId: offer.offerId });
    await stack.until(alice.next('transfer', (m) => m.status === 'consulting'));
    const conf = stack.emu.conference(`sb-${call.sid}`)!;
    const bobLeg = [...conf.participants.values()].find((p) => p.call.to === 'client:bob')!.callSid;
    // Consulting: Alice and Bob talk, the caller hears hold music and neither agent.
    expect(conf.canHear(aliceLeg, bobLeg)).toBe(true);
    expect(conf.canHear(bobLeg, aliceLeg)).toBe(true);
    expect(conf.canHear(call.sid, aliceLeg)).toBe(false);
    expect(conf.canHear(call.sid, bobLeg)).toBe(false);
    expect(conf.participants.get(call.sid)?.hold).toBe(true);
    await stack.emu.run(stack.clock.sleep(30_000));

    alice.send({ type: 'transfer_complete', callSid: call.sid, ref: 't2' });
    await stack.until(alice.next('ack', (m) => m.ref === 't2'));
    await stack.until(alice.next('wrap_up'));
    await stack.emu.run(stack.clock.sleep(5_000));
    expect(conf.status).toBe('in-progress');
    expect(conf.canHear(call.sid, bobLeg)).toBe(true);
    expect(conf.canHear(bobLeg, call.sid)).toBe(true);
    expect(conf.participants.has(aliceLeg)).toBe(false);
    expect(await stack.app.sb.agents.get('bob')).toMatchObject({ state: 'on_call', callSid: call.sid });
    // Bob's clients were told: on the call (state) and the call connected once his phone answered.
    expect(bob.messages.some((m) => m.type === 'state' && m.state === 'on_call')).toBe(true);
    expect(bob.messages.filter((m) => m.type === 'call' && m.callSid === call.sid).map((m) => m.status)).toEqual([
      'connecting',
      'connected',
    ]);

    // The REST requests: hold the caller, keep the room when Alice leaves, dial Bob in, hand over, remove Alice.
    const rest = restSince(stack, mark);
    const holdCaller = rest.find((r) => CF_PARTICIPANT.test(r.path) && r.path.endsWith(`/${call.sid}.json`) && r.form.Hold === 'true');
    expect(holdCaller?.form).toMatchObject({ Hold: 'true', HoldMethod: 'POST' });
    expect(String(holdCaller?.form.HoldUrl)).toMatch(/^https:\/\/switchboard\.example\.com\/twilio\/hold$/);
    expect(rest.find((r) => r.path.endsWith(`/${aliceLeg}.json`) && r.method === 'POST')?.form).toEqual({ EndConferenceOnExit: 'false' });
    const dialBob = rest.find((r) => CF_PARTICIPANTS.test(r.path) && r.method === 'POST');
    expect(dialBob?.form).toMatchObject({
      To: 'client:bob',
      From: NUMBER,
      Label: 'agent',
      StartConferenceOnEnter: 'true',
      EndConferenceOnExit: 'false',
    });
    expect(String(dialBob?.form.StatusCallback)).toContain(`/twilio/agent/status?offer=${String(offer.offerId)}`);
    expect(rest.find((r) => r.path.endsWith(`/${bobLeg}.json`) && r.method === 'POST')?.form).toEqual({ EndConferenceOnExit: 'true' });
    expect(rest.find((r) => r.path.endsWith(`/${call.sid}.json`) && r.form.Hold === 'false')).toBeDefined();
    const removeAlice = rest.find((r) => r.method === 'DELETE');
    expect(removeAlice?.path).toMatch(CF_PARTICIPANT);
    expect(removeAlice?.path.endsWith(`/${aliceLeg}.json`)).toBe(true);
    expect(rest.every((r) => r.status !== undefined && r.status < 300)).toBe(true);

    // Bob ends the call: the caller goes on to the survey; both agents wrap up.
    await stack.emu.run(stack.clock.sleep(60_000));
    bob.send({ type: 'hangup', callSid: call.sid });
    await stack.until(bob.next('wrap_up'));
    alice.send({ type: 'wrap_up', callSid: call.sid, disposition: 'escalated', code: 'to_tier2' });
    bob.send({ type: 'wrap_up', callSid: call.sid, disposition: 'resolved', code: 'fixed' });
    await stack.until(bob.next('ack', (m) => m.for === 'wrap_up'));
    const summary = await stack.emu.run(call.ended);
    expect(summary.heard.some((h) => /how satisfied/.test(h))).toBe(true);

    const m = await stack.metrics();
    await expectOneContact(stack, m);
    expect(sample(m, 'switchboard_transfers_total', { queue: 'support', kind: 'agent', mode: 'warm', result: 'completed' })).toBe(1);
    // Alice held the caller while consulting (about 30 s, part of her handle time).
    expect(sample(m, 'switchboard_hold_seconds_sum', { queue: 'support' })).toBeGreaterThanOrEqual(29);
    expect(sample(m, 'switchboard_dispositions_total', { queue: 'support', disposition: 'resolved' })).toBe(1);
    expect(stack.emu.errors).toEqual([]);
  });

  it('warm transfer cancelled: the target is dropped, the caller is back with the agent, nothing counted twice', async () => {
    s = await stackWithoutConferenceCallbacks();
    const stack = s;
    const { call, alice, aliceLeg } = await connectToAlice(stack);
    const bob = await ready(stack, 'bob-demo-token', 'client:bob');
    alice.send({ type: 'transfer', callSid: call.sid, to: { kind: 'agent', agentId: 'bob' }, warm: true });
    const offer = await stack.until(bob.next('offer'));
    bob.send({ type: 'accept', offerId: offer.offerId });
    await stack.until(alice.next('transfer', (m) => m.status === 'consulting'));
    const mark = stack.emu.log.rest.length;
    alice.send({ type: 'transfer_cancel', callSid: call.sid, ref: 'c1' });
    await stack.until(alice.next('ack', (m) => m.ref === 'c1'));
    await stack.until(bob.next('call', (m) => m.status === 'ended'));
    await stack.emu.run(stack.clock.sleep(3_000));
    const conf = stack.emu.conference(`sb-${call.sid}`)!;
    expect(conf.canHear(call.sid, aliceLeg)).toBe(true);
    expect(conf.canHear(aliceLeg, call.sid)).toBe(true);
    expect((await stack.app.sb.agents.get('bob'))?.state).toBe('available');
    expect((await stack.app.sb.agents.get('alice'))?.state).toBe('on_call');
    const rest = restSince(stack, mark);
    expect(rest.some((r) => r.method === 'DELETE' && CF_PARTICIPANT.test(r.path))).toBe(true);
    expect(rest.find((r) => r.path.endsWith(`/${aliceLeg}.json`))?.form).toEqual({ EndConferenceOnExit: 'true' });

    // Alice can hold (the call's index points back at her) and finish normally.
    alice.send({ type: 'hold', callSid: call.sid, on: true, ref: 'h' });
    await stack.until(alice.next('ack', (m) => m.ref === 'h'));
    alice.send({ type: 'hold', callSid: call.sid, on: false, ref: 'h2' });
    await stack.until(alice.next('ack', (m) => m.ref === 'h2'));
    alice.send({ type: 'hangup', callSid: call.sid });
    await stack.until(alice.next('wrap_up'));
    alice.send({ type: 'wrap_up', callSid: call.sid, disposition: 'resolved' });
    await stack.emu.run(call.ended);
    const m = await stack.metrics();
    await expectOneContact(stack, m);
    expect(sample(m, 'switchboard_transfers_total', { queue: 'support', kind: 'agent', mode: 'warm', result: 'cancelled' })).toBe(1);
    expect(sample(m, 'switchboard_transfers_total', { queue: 'support', kind: 'agent', mode: 'warm', result: 'completed' })).toBe(0);
    // Bob's consultation is not a handled call; Alice's call is.
    expect(sample(m, 'switchboard_calls_handled_total', { queue: 'support' })).toBe(1);
    expect(stack.emu.errors).toEqual([]);
  });

  it('cold transfer to another queue: the same contact re-enters at the front, one offered, one answered', async () => {
    s = await stackWithoutConferenceCallbacks();
    const stack = s;
    const { call, alice } = await connectToAlice(stack);
    const mark = stack.emu.log.rest.length;
    alice.send({ type: 'transfer', callSid: call.sid, to: { kind: 'queue', queue: 'billing' }, ref: 'q' });
    await stack.until(alice.next('ack', (m) => m.ref === 'q'));
    await stack.until(alice.next('wrap_up'));
    const redirect = restSince(stack, mark).find((r) => CALL.test(r.path));
    expect(redirect?.form).toMatchObject({ Method: 'POST' });
    expect(String(redirect?.form.Url)).toBe('https://switchboard.example.com/twilio/transfer/queue?queue=billing&from=support');
    await stack.emu.run(stack.clock.sleep(5_000));
    expect(call.heard.some((h) => /Please hold while we transfer your call/.test(h))).toBe(true);
    const info = await stack.app.sb.queues.callerInfo('billing', call.sid);
    expect(info).toMatchObject({ counted: false, state: 'waiting' });

    const carol = await ready(stack, 'carol-demo-token', 'client:carol');
    const offer = await stack.until(carol.next('offer'));
    expect(offer).toMatchObject({ queue: 'billing', callSid: call.sid });
    carol.send({ type: 'accept', offerId: offer.offerId });
    await stack.until(carol.next('call', (m) => m.status === 'connected'));
    alice.send({ type: 'wrap_up', callSid: call.sid, disposition: 'escalated' });
    await stack.emu.run(stack.clock.sleep(20_000));
    carol.send({ type: 'hangup', callSid: call.sid });
    await stack.until(carol.next('wrap_up'));
    carol.send({ type: 'wrap_up', callSid: call.sid, disposition: 'resolved' });
    await stack.emu.run(call.ended);
    const m = await stack.metrics();
    await expectOneContact(stack, m);
    expect(sample(m, 'switchboard_transfers_total', { queue: 'support', kind: 'queue', mode: 'cold', result: 'completed' })).toBe(1);
    expect(await stack.app.sb.queues.tally('billing')).toMatchObject({ offered: 0, answered: 0, inQueue: 0 });
    expect(stack.emu.errors).toEqual([]);
  });

  it('warm transfer to a queue: the agent that queue would pick is offered the call to consult, then takes it', async () => {
    s = await stackWithoutConferenceCallbacks();
    const stack = s;
    const { call, alice } = await connectToAlice(stack);
    const carol = await ready(stack, 'carol-demo-token', 'client:carol');
    alice.send({ type: 'transfer', callSid: call.sid, to: { kind: 'queue', queue: 'billing' }, warm: true, ref: 'wq' });
    await stack.until(alice.next('ack', (m) => m.ref === 'wq'));
    const offer = await stack.until(carol.next('offer'));
    expect(offer).toMatchObject({ callSid: call.sid, queue: 'billing', transferFrom: 'alice' });
    carol.send({ type: 'accept', offerId: offer.offerId });
    await stack.until(alice.next('transfer', (m) => m.status === 'consulting'));
    const conf = stack.emu.conference(`sb-${call.sid}`)!;
    expect(conf.participants.get(call.sid)?.hold).toBe(true);
    alice.send({ type: 'transfer_complete', callSid: call.sid });
    await stack.until(alice.next('wrap_up'));
    await stack.emu.run(stack.clock.sleep(2_000));
    const carolLeg = [...conf.participants.values()].find((p) => p.call.to === 'client:carol')!.callSid;
    expect(conf.canHear(call.sid, carolLeg)).toBe(true);
    expect(await stack.app.sb.agents.get('carol')).toMatchObject({ state: 'on_call', callSid: call.sid, callQueue: 'billing' });
    carol.send({ type: 'hangup', callSid: call.sid });
    await stack.until(carol.next('wrap_up'));
    carol.send({ type: 'wrap_up', callSid: call.sid, disposition: 'resolved' });
    await stack.until(carol.next('ack', (m) => m.for === 'wrap_up'));
    await stack.emu.run(call.ended);
    const m = await stack.metrics();
    await expectOneContact(stack, m);
    expect(sample(m, 'switchboard_transfers_total', { queue: 'support', kind: 'queue', mode: 'warm', result: 'completed' })).toBe(1);
    // Carol's part of the call is billing's work.
    expect(sample(m, 'switchboard_calls_handled_total', { queue: 'billing' })).toBe(1);
    expect(stack.emu.errors).toEqual([]);
  });

  it('cold transfer to an agent: the first agent wraps up at once, the caller holds until the target answers', async () => {
    s = await stackWithoutConferenceCallbacks();
    const stack = s;
    const { call, alice, aliceLeg } = await connectToAlice(stack);
    const bob = await ready(stack, 'bob-demo-token', 'client:bob');
    alice.send({ type: 'transfer', callSid: call.sid, to: { kind: 'agent', agentId: 'bob' } });
    await stack.until(alice.next('wrap_up'));
    const conf = stack.emu.conference(`sb-${call.sid}`)!;
    expect(conf.status).toBe('in-progress');
    expect(conf.participants.get(call.sid)?.hold).toBe(true);
    expect(conf.participants.has(aliceLeg)).toBe(false);
    const offer = await stack.until(bob.next('offer'));
    bob.send({ type: 'accept', offerId: offer.offerId });
    await stack.until(alice.next('transfer', (m) => m.status === 'completed'));
    await stack.emu.run(stack.clock.sleep(3_000));
    const bobLeg = [...conf.participants.values()].find((p) => p.call.to === 'client:bob')!.callSid;
    expect(conf.canHear(call.sid, bobLeg)).toBe(true);
    bob.send({ type: 'hangup', callSid: call.sid });
    await stack.until(bob.next('wrap_up'));
    await stack.emu.run(call.ended);
    const m = await stack.metrics();
    await expectOneContact(stack, m);
    expect(sample(m, 'switchboard_transfers_total', { queue: 'support', kind: 'agent', mode: 'cold', result: 'completed' })).toBe(1);
  });

  it('cold transfer to an agent who does not answer: the caller goes back to the front of the queue', async () => {
    s = await stackWithoutConferenceCallbacks();
    const stack = s;
    const { call, alice } = await connectToAlice(stack);
    const bob = await ready(stack, 'bob-demo-token', 'client:bob');
    alice.send({ type: 'transfer', callSid: call.sid, to: { kind: 'agent', agentId: 'bob' } });
    const offer = await stack.until(bob.next('offer'));
    bob.send({ type: 'reject', offerId: offer.offerId });
    await stack.until(alice.next('transfer', (m) => m.status === 'failed'));
    await stack.emu.run(stack.clock.sleep(5_000));
    expect(await stack.app.sb.queues.callerInfo('support', call.sid)).toMatchObject({ counted: false });
    const m = await stack.metrics();
    expect(sample(m, 'switchboard_transfers_total', { queue: 'support', kind: 'agent', mode: 'cold', result: 'failed' })).toBe(1);
    expect(sample(m, 'switchboard_calls_offered_total', { queue: 'support' })).toBe(1);
  });

  it('warm transfer to an outside number: consult, complete, the outside party owns the call', async () => {
    s = await stackWithoutConferenceCallbacks();
    const stack = s;
    const { call, alice, aliceLeg } = await connectToAlice(stack);
    stack.emu.registerEndpoint('+15557654321', { answer: true, answerDelayMs: 3000 });
    const mark = stack.emu.log.rest.length;
    alice.send({ type: 'transfer', callSid: call.sid, to: { kind: 'external', number: '+15557654321' }, warm: true });
    await stack.until(alice.next('transfer', (m) => m.status === 'consulting'));
    const conf = stack.emu.conference(`sb-${call.sid}`)!;
    const outside = [...conf.participants.values()].find((p) => p.label === 'transfer')!.callSid;
    expect(conf.canHear(aliceLeg, outside)).toBe(true);
    expect(conf.canHear(call.sid, outside)).toBe(false);
    const dial = restSince(stack, mark).find((r) => CF_PARTICIPANTS.test(r.path));
    expect(dial?.form).toMatchObject({ To: '+15557654321', From: NUMBER, Label: 'transfer', EndConferenceOnExit: 'false', Timeout: '30' });
    expect(String(dial?.form.StatusCallback)).toBe(`https://switchboard.example.com/twilio/transfer/status?call=${call.sid}`);
    alice.send({ type: 'transfer_complete', callSid: call.sid });
    await stack.until(alice.next('wrap_up'));
    await stack.emu.run(stack.clock.sleep(2_000));
    expect(conf.canHear(call.sid, outside)).toBe(true);
    expect(conf.canHear(outside, call.sid)).toBe(true);
    const m = await stack.metrics();
    await expectOneContact(stack, m);
    expect(sample(m, 'switchboard_transfers_total', { queue: 'support', kind: 'external', mode: 'warm', result: 'completed' })).toBe(1);
    // The outside party hangs up: the conference ends (they own the call now), the caller goes on.
    stack.emu.calls.get(outside)!.hangup('caller');
    await stack.emu.run(call.ended);
  });

  it('cold transfer to an outside number: the agent leaves at once, the caller holds until it answers', async () => {
    s = await stackWithoutConferenceCallbacks();
    const stack = s;
    const { call, alice } = await connectToAlice(stack);
    stack.emu.registerEndpoint('+15557654322', { answer: true, answerDelayMs: 4000 });
    alice.send({ type: 'transfer', callSid: call.sid, to: { kind: 'external', number: '+15557654322' } });
    await stack.until(alice.next('wrap_up'));
    const conf = stack.emu.conference(`sb-${call.sid}`)!;
    expect(conf.participants.get(call.sid)?.hold).toBe(true);
    await stack.until(alice.next('transfer', (m) => m.status === 'completed'));
    await stack.emu.run(stack.clock.sleep(1_000));
    const outside = [...conf.participants.values()].find((p) => p.label === 'transfer')!.callSid;
    expect(conf.canHear(call.sid, outside)).toBe(true);
    const m = await stack.metrics();
    await expectOneContact(stack, m);
    expect(sample(m, 'switchboard_transfers_total', { queue: 'support', kind: 'external', mode: 'cold', result: 'completed' })).toBe(1);
    stack.emu.calls.get(call.sid)!.hangup('caller');
    await stack.emu.run(call.ended);
    expect(stack.emu.errors).toEqual([]);
  });

  it('supervisor listen, coach and barge (supervisor scope only), and stop', async () => {
    const lines: string[] = [];
    s = await stackWithoutConferenceCallbacks({
      logger: { ...(loggerOptions('info') as object), stream: { write: (l: string) => void lines.push(l) } },
    });
    const stack = s;
    const { call, alice, aliceLeg } = await connectToAlice(stack);
    stack.emu.registerEndpoint('client:sam', { answer: true, answerDelayMs: 1000 });
    const url = `/api/calls/${call.sid}/monitor`;
    const asAgent = await stack.app.inject({
      method: 'POST',
      url,
      headers: { authorization: 'Bearer alice-demo-token' },
      payload: { mode: 'listen', to: 'client:sam' },
    });
    expect(asAgent.statusCode).toBe(403);
    const anon = await stack.app.inject({ method: 'POST', url, payload: { mode: 'listen', to: 'client:sam' } });
    expect(anon.statusCode).toBe(401);
    const bad = await stack.app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${SUPERVISOR_TOKEN}` },
      payload: { mode: 'shout', to: 'client:sam' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ field: 'mode' });
    const list = await stack.app.inject({ method: 'GET', url: '/api/calls', headers: { authorization: `Bearer ${SUPERVISOR_TOKEN}` } });
    expect(list.json().calls).toEqual([
      expect.objectContaining({ callSid: call.sid, agentId: 'alice', queue: 'support', state: 'talking' }),
    ]);

    const act = async (mode: string) => {
      const r = await stack.app.inject({
        method: 'POST',
        url,
        headers: { authorization: `Bearer ${SUPERVISOR_TOKEN}` },
        payload: { mode, to: 'client:sam' },
      });
      expect(r.statusCode).toBe(200);
      await stack.emu.run(stack.clock.sleep(3_000));
      return r.json() as { legSid: string | null };
    };
    const mark = stack.emu.log.rest.length;
    const { legSid } = await act('listen');
    const conf = stack.emu.conference(`sb-${call.sid}`)!;
    const sam = legSid!;
    expect(conf.participants.get(sam)?.status).toBe('connected');
    expect(conf.canHear(sam, call.sid) && conf.canHear(sam, aliceLeg)).toBe(true);
    expect(conf.canHear(call.sid, sam) || conf.canHear(aliceLeg, sam)).toBe(false);
    const add = restSince(stack, mark).find((r) => CF_PARTICIPANTS.test(r.path));
    expect(add?.form).toMatchObject({
      To: 'client:sam',
      Label: 'supervisor',
      Muted: 'true',
      StartConferenceOnEnter: 'false',
      EndConferenceOnExit: 'false',
    });

    await act('coach');
    const listed = await stack.app.inject({ method: 'GET', url: '/api/calls', headers: { authorization: `Bearer ${SUPERVISOR_TOKEN}` } });
    expect(listed.json().calls[0].monitors).toEqual([{ to: 'client:sam', mode: 'coach' }]);
    expect(conf.canHear(aliceLeg, sam)).toBe(true);
    expect(conf.canHear(call.sid, sam)).toBe(false);
    const coach = stack.emu.log.rest.filter((r) => r.path.endsWith(`/${sam}.json`)).at(-1);
    expect(coach?.form).toMatchObject({ Coaching: 'true', CallSidToCoach: aliceLeg, Muted: 'false' });

    await act('barge');
    expect(conf.canHear(aliceLeg, sam) && conf.canHear(call.sid, sam)).toBe(true);

    await act('stop');
    const after = await stack.app.inject({ method: 'GET', url: '/api/calls', headers: { authorization: `Bearer ${SUPERVISOR_TOKEN}` } });
    expect(after.json().calls[0].monitors).toEqual([]);
    expect(conf.participants.has(sam)).toBe(false);
    // The supervisor leaving changes nothing for the call.
    expect(conf.status).toBe('in-progress');
    expect(conf.canHear(call.sid, aliceLeg)).toBe(true);
    const m = await stack.metrics();
    for (const mode of ['listen', 'coach', 'barge', 'stop'])
      expect(sample(m, 'switchboard_supervisor_monitor_total', { queue: 'support', mode })).toBe(1);
    // Each action is logged with who, which call and what; never the number or address dialed.
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'supervisor monitor');
    expect(logged.map((l) => l.mode)).toEqual(['listen', 'coach', 'barge', 'stop']);
    expect(logged.every((l) => l.callSid === call.sid && l.supervisor === 'admin' && l.agentId === 'alice')).toBe(true);
    expect(lines.some((l) => l.includes('client:sam'))).toBe(false);
    alice.send({ type: 'hangup', callSid: call.sid });
    await stack.until(alice.next('wrap_up'));
    await stack.emu.run(call.ended);
    expect(stack.emu.errors).toEqual([]);
  });

  it('the agent leaving mid-call ends the conference: the caller goes on to the survey, the agent to wrap-up', async () => {
    s = await stackWithoutConferenceCallbacks();
    const stack = s;
    const { call, alice, aliceLeg } = await connectToAlice(stack);
    await stack.emu.run(stack.clock.sleep(20_000));
    // The agent's phone drops (not a desk command).
    stack.emu.calls.get(aliceLeg)!.hangup('caller');
    await stack.until(alice.next('wrap_up'));
    const summary = await stack.emu.run(call.ended);
    expect(summary.heard.some((h) => /how satisfied/.test(h))).toBe(true);
    expect((await stack.app.sb.agents.get('alice'))?.state).toBe('wrap_up');
    const m = await stack.metrics();
    await expectOneContact(stack, m);
  });

  it('a desk that crashes mid-call leaves the call up, and on reconnecting sees the call, the transfer and the offer again', async () => {
    s = await stackWithoutConferenceCallbacks();
    const stack = s;
    const { call, alice, aliceLeg } = await connectToAlice(stack);
    const bob = await ready(stack, 'bob-demo-token', 'client:bob');
    alice.send({ type: 'transfer', callSid: call.sid, to: { kind: 'agent', agentId: 'bob' }, warm: true });
    const offer = await stack.until(bob.next('offer'));
    // Both desks crash (the browser dies): the audio legs are on the agents' phones and stay up.
    alice.ws.terminate();
    bob.ws.terminate();
    await stack.emu.run(stack.clock.sleep(2_000));
    const conf = stack.emu.conference(`sb-${call.sid}`)!;
    expect(conf.participants.get(aliceLeg)?.status).toBe('connected');
    const bob2 = await stack.agent('bob-demo-token');
    const again = await stack.reply(bob2.next('offer'));
    expect(again).toMatchObject({ offerId: offer.offerId, callSid: call.sid, transferFrom: 'alice', deadline: offer.deadline });
    bob2.send({ type: 'accept', offerId: offer.offerId });
    await stack.until(bob2.next('call', (m) => m.status === 'connected'));
    const alice2 = await stack.agent('alice-demo-token');
    expect(alice2.messages[0]).toMatchObject({ type: 'welcome', state: 'on_call' });
    expect(await stack.reply(alice2.next('call'))).toMatchObject({ callSid: call.sid, status: 'on_hold' });
    await stack.until(alice2.next('transfer', (m) => m.status === 'consulting'));
    alice2.send({ type: 'transfer_complete', callSid: call.sid, ref: 'done' });
    await stack.until(alice2.next('ack', (m) => m.ref === 'done'));
    await stack.until(alice2.next('wrap_up'));
    // Reconnecting during wrap-up shows the wrap-up with its deadline.
    alice2.ws.terminate();
    const alice3 = await stack.agent('alice-demo-token');
    expect(await stack.reply(alice3.next('wrap_up'))).toMatchObject({ callSid: call.sid, queue: 'support' });
    const m = await stack.metrics();
    await expectOneContact(stack, m);
    expect(sample(m, 'switchboard_transfers_total', { queue: 'support', kind: 'agent', mode: 'warm', result: 'completed' })).toBe(1);
  });

  it('refuses a transfer it cannot do, naming the field', async () => {
    s = await stackWithoutConferenceCallbacks();
    const stack = s;
    const { call, alice } = await connectToAlice(stack);
    const cases: [Record<string, unknown>, string, string][] = [
      [{ kind: 'queue', queue: 'nope' }, 'not_found', 'to.queue'],
      [{ kind: 'agent', agentId: 'alice' }, 'invalid_message', 'to.agentId'],
      [{ kind: 'agent', agentId: 'carol' }, 'conflict', 'to.agentId'],
      [{ kind: 'external', number: '555' }, 'invalid_message', 'to.number'],
    ];
    for (const [to, code, field] of cases) {
      const ref = `r-${field}-${code}`;
      alice.send({ type: 'transfer', callSid: call.sid, to, ref });
      const e = await stack.until(alice.next('error', (m) => m.ref === ref));
      expect(e).toMatchObject({ code, field });
    }
    // Warm to a queue needs a free agent of that queue to consult: nobody of billing is signed in.
    alice.send({ type: 'transfer', callSid: call.sid, to: { kind: 'queue', queue: 'billing' }, warm: true, ref: 'w' });
    expect(await stack.until(alice.next('error', (m) => m.ref === 'w'))).toMatchObject({ code: 'conflict', field: 'to.queue' });
    alice.send({ type: 'transfer_complete', callSid: call.sid, ref: 'tc' });
    expect(await stack.until(alice.next('error', (m) => m.ref === 'tc'))).toMatchObject({ code: 'conflict', field: 'callSid' });
    expect((await stack.app.sb.agents.get('alice'))?.state).toBe('on_call');
  });
});
