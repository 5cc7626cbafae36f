/**
 * Twilio's REST API failing while we bridge a caller to an agent (conference participant create, then
 * queue member dequeue) or call a caller back (calls.create): 5xx, requests that time out (with and
 * without the operation having been carried out), and 21220 for a call that is no longer live. Bounded
 * retries with backoff, the caller keeps their place when the bridge cannot be made, and nothing is
 * counted twice: checked on /metrics, in the Redis tally and in what the emulator saw.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Call } from '../../src/sim/twilio/index.js';
import twilio from 'twilio';
import { ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE, sample } from '../helpers/app.js';
import { makeStack, NUMBER, type Stack, type TestAgent } from '../helpers/stack.js';
import { supportCaller } from '../helpers/callers.js';

let s: Stack | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const PARTICIPANTS = /\/Conferences\/sb-CA[0-9a-f]{32}\/Participants\.json$/;
const MEMBERS = /\/Queues\/QU[0-9a-f]{32}\/Members\/CA[0-9a-f]{32}\.json$/;
const CALLS_CREATE = /\/Calls\.json$/;

async function stack(): Promise<Stack> {
  s = await makeStack();
  s.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
  s.emu.registerEndpoint('client:bob', { answer: true, answerDelayMs: 1000 });
  return s;
}

/** Accept an offer and wait until the agent hears the call is connected (or failed). */
async function accept(st: Stack, a: TestAgent, offer: Record<string, unknown>): Promise<string> {
  const from = a.messages.length;
  a.send({ type: 'accept', offerId: offer.offerId });
  const m = await st.until(a.next('call', (x) => x.callSid === offer.callSid && (x.status === 'connected' || x.status === 'failed'), from));
  return m.status as string;
}

/** Hang up, finish wrap-up and let the caller's leg end. */
async function finishCall(st: Stack, a: TestAgent, call: Call, callSid = call.sid): Promise<void> {
  const from = a.messages.length;
  a.send({ type: 'hangup', callSid });
  await st.until(a.next('wrap_up', (m) => m.callSid === callSid, from));
  a.send({ type: 'wrap_up', callSid, disposition: 'resolved', ref: `w-${callSid}` });
  await st.until(a.next('ack', (m) => m.ref === `w-${callSid}`, from));
  await st.emu.run(call.ended);
}

/** A status callback delivered by hand (signed as Twilio signs), as a late or repeated delivery. */
async function lateStatus(st: Stack, path: string, extra: Record<string, string>): Promise<number> {
  const params = {
    AccountSid: ACCOUNT_SID,
    From: NUMBER,
    To: 'client:alice',
    Direction: 'outbound-api',
    ApiVersion: '2010-04-01',
    ...extra,
  };
  const res = await st.app.inject({
    method: 'POST',
    url: path,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, PUBLIC_BASE + path, params),
    },
    payload: new URLSearchParams(params).toString(),
  });
  return res.statusCode;
}

const rest = (st: Stack, re: RegExp) => st.emu.log.rest.filter((r) => r.method === 'POST' && re.test(r.path));
const restMetric = (m: string, op: string, result: string) => sample(m, 'switchboard_twilio_rest_requests_total', { op, result }) ?? 0;

describe('Twilio REST faults while bridging', () => {
  it('retries 5xx and timed-out requests on both bridge steps, and counts the call once', async () => {
    const st = await stack();
    const alice = await st.agent('alice-demo-token');
    const call = st.emu.placeCall({ from: '+15556660001', to: NUMBER, behaviour: supportCaller({ patienceMs: 60 * 60_000 }) });
    await st.emu.run(st.clock.sleep(30_000));
    st.emu.faults.failNextRest({ status: 500, count: 2, match: { path: PARTICIPANTS } });
    st.emu.faults.timeoutNextRest({ afterMs: 5_000, match: { path: MEMBERS } });
    st.emu.faults.failNextRest({ status: 503, match: { path: MEMBERS } });
    alice.send({ type: 'set_state', state: 'available' });
    const offer = await st.until(alice.next('offer'));
    expect(await accept(st, alice, offer)).toBe('connected');

    expect(rest(st, PARTICIPANTS).map((r) => r.fault ?? r.status)).toEqual(['fail 500', 'fail 500', 201]);
    expect(rest(st, MEMBERS).map((r) => r.fault ?? r.status)).toEqual(['timeout after 5000 ms', 'fail 503', 200]);
    // The caller and one agent leg talk in the call's conference. The agent is told "connected" when the
    // dequeue succeeds; the caller joins when Twilio has fetched the connect URL, a request of its own that
    // a loaded machine may not have answered yet.
    const conf = st.emu.conference(`sb-${call.sid}`);
    for (let i = 0; i < 100 && (conf?.connected().length ?? 0) < 2; i++) await st.emu.run(st.clock.sleep(100));
    expect(conf?.connected().length).toBe(2);
    await st.emu.run(st.clock.sleep(20_000));
    await finishCall(st, alice, call);

    const m = await st.metrics();
    expect(restMetric(m, 'add_participant', 'retry')).toBe(2);
    expect(restMetric(m, 'add_participant', 'ok')).toBe(1);
    expect(restMetric(m, 'dequeue', 'retry')).toBe(2);
    expect(restMetric(m, 'dequeue', 'ok')).toBe(1);
    expect(sample(m, 'switchboard_calls_offered_total', { queue: 'support' })).toBe(1);
    expect(sample(m, 'switchboard_calls_answered_total', { queue: 'support' })).toBe(1);
    expect(sample(m, 'switchboard_calls_handled_total', { queue: 'support' })).toBe(1);
    expect(sample(m, 'switchboard_offers_total', { queue: 'support', result: 'accepted' })).toBe(1);
    expect(await st.app.sb.queues.tally('support')).toMatchObject({ offered: 1, answered: 1, abandoned: 0, inQueue: 0 });
    expect(st.emu.errors.filter((e) => e.level === 'error')).toEqual([]);
    alice.close();
  });

  it('a bridge that cannot be made (5xx on every attempt, or 21220) leaves the caller first in line; answered once later', async () => {
    const st = await stack();
    const alice = await st.agent('alice-demo-token');
    const first = st.emu.placeCall({ from: '+15556660002', to: NUMBER, behaviour: supportCaller({ patienceMs: 60 * 60_000 }) });
    await st.emu.run(st.clock.sleep(5_000));
    const second = st.emu.placeCall({ from: '+15556660003', to: NUMBER, behaviour: supportCaller({ patienceMs: 60 * 60_000 }) });
    await st.emu.run(st.clock.sleep(30_000));

    // Every attempt at dialing the agent fails: bounded retries (4), then the bridge is given up.
    st.emu.faults.failNextRest({ status: 500, count: 10, match: { path: PARTICIPANTS } });
    alice.send({ type: 'set_state', state: 'available' });
    const o1 = await st.until(alice.next('offer'));
    expect(o1.callSid).toBe(first.sid);
    expect(await accept(st, alice, o1)).toBe('failed');
    st.emu.faults.clear();
    expect(rest(st, PARTICIPANTS)).toHaveLength(4);
    expect((await st.app.sb.queues.position('support', first.sid))?.position).toBe(1);
    expect((await st.app.sb.queues.position('support', second.sid))?.position).toBe(2);

    // The agent is offered the same caller again; this time the dequeue says 21220 (the call is not
    // in progress): not retried, the agent's leg is hung up, the caller is still first.
    const membersBefore = rest(st, MEMBERS).length;
    st.emu.faults.failNextRest({
      status: 400,
      code: 21220,
      message: 'Call is not in-progress. Cannot redirect.',
      match: { path: MEMBERS },
    });
    const o2 = await st.until(alice.next('offer', (m) => m.offerId !== o1.offerId && m.callSid === first.sid));
    expect(await accept(st, alice, o2)).toBe('failed');
    expect(rest(st, MEMBERS).length - membersBefore).toBe(1);
    expect((await st.app.sb.queues.position('support', first.sid))?.position).toBe(1);

    // Third time lucky.
    const o3 = await st.until(alice.next('offer', (m) => m.offerId !== o1.offerId && m.offerId !== o2.offerId));
    expect(o3.callSid).toBe(first.sid);
    expect(await accept(st, alice, o3)).toBe('connected');
    // The hung-up leg of the 21220 attempt reports its end late (status callbacks are not ordered across
    // calls): it is not the end of the call Alice is on now.
    const o2Leg = rest(st, PARTICIPANTS).find((r) => String(r.form.StatusCallback).includes(String(o2.offerId)));
    const o2LegSid = (o2Leg?.response as { call_sid?: string } | undefined)?.call_sid;
    expect(o2LegSid).toMatch(/^CA/);
    const late = await lateStatus(st, `/twilio/agent/status?offer=${String(o2.offerId)}`, {
      CallSid: o2LegSid!,
      CallStatus: 'completed',
      SequenceNumber: '99',
    });
    expect(late).toBe(200);
    expect((await st.app.sb.agents.get('alice'))?.state).toBe('on_call');
    await st.emu.run(st.clock.sleep(10_000));
    await finishCall(st, alice, first);

    const m = await st.metrics();
    expect(restMetric(m, 'add_participant', 'failed')).toBe(1);
    expect(restMetric(m, 'dequeue', 'failed')).toBe(1);
    expect(sample(m, 'switchboard_calls_offered_total', { queue: 'support' })).toBe(2);
    expect(sample(m, 'switchboard_calls_answered_total', { queue: 'support' })).toBe(1);
    expect(sample(m, 'switchboard_calls_abandoned_total', { queue: 'support' })).toBe(0);
    expect(await st.app.sb.queues.tally('support')).toMatchObject({ offered: 2, answered: 1, abandoned: 0, inQueue: 1 });
    expect((await st.app.sb.queues.position('support', second.sid))?.position).toBe(1);
    // The agent legs of the failed attempts were hung up: none is left ringing or talking.
    const agentLegs = [...st.emu.calls.values()].filter((c) => c.to === 'client:alice');
    expect(agentLegs.filter((c) => c.live)).toHaveLength(0);
    alice.close();
  });

  it('a dequeue carried out whose answer was lost: the retry finds the caller gone from the queue and the bridge stands', async () => {
    const st = await stack();
    const alice = await st.agent('alice-demo-token');
    const call = st.emu.placeCall({ from: '+15556660004', to: NUMBER, behaviour: supportCaller({ patienceMs: 60 * 60_000 }) });
    await st.emu.run(st.clock.sleep(30_000));
    st.emu.faults.timeoutNextRest({ afterMs: 5_000, execute: true, match: { path: MEMBERS } });
    alice.send({ type: 'set_state', state: 'available' });
    const offer = await st.until(alice.next('offer'));
    expect(await accept(st, alice, offer)).toBe('connected');
    await st.emu.run(st.clock.sleep(20_000));
    const conf = st.emu.conference(`sb-${call.sid}`);
    expect(
      conf
        ?.connected()
        .map((p) => p.call.sid)
        .sort(),
    ).toEqual([call.sid, ...[...st.emu.calls.values()].filter((c) => c.to === 'client:alice' && c.live).map((c) => c.sid)].sort());
    await finishCall(st, alice, call);
    const m = await st.metrics();
    expect(sample(m, 'switchboard_calls_answered_total', { queue: 'support' })).toBe(1);
    expect(sample(m, 'switchboard_calls_handled_total', { queue: 'support' })).toBe(1);
    expect(await st.app.sb.queues.tally('support')).toMatchObject({ offered: 1, answered: 1, inQueue: 0 });
    alice.close();
  });

  it('a participant create carried out whose answer was lost: one agent leg talks, the call is counted once', async () => {
    const st = await stack();
    const alice = await st.agent('alice-demo-token');
    const call = st.emu.placeCall({ from: '+15556660005', to: NUMBER, behaviour: supportCaller({ patienceMs: 60 * 60_000 }) });
    await st.emu.run(st.clock.sleep(30_000));
    st.emu.faults.timeoutNextRest({ afterMs: 5_000, execute: true, match: { path: PARTICIPANTS } });
    alice.send({ type: 'set_state', state: 'available' });
    const offer = await st.until(alice.next('offer'));
    expect(await accept(st, alice, offer)).toBe('connected');
    await st.emu.run(st.clock.sleep(20_000));
    const legs = [...st.emu.calls.values()].filter((c) => c.to === 'client:alice');
    expect(legs.filter((c) => c.live)).toHaveLength(1);
    expect((await st.app.sb.agents.get('alice'))?.state).toBe('on_call');
    await finishCall(st, alice, call);
    await st.emu.run(st.clock.sleep(5_000));
    const m = await st.metrics();
    expect(sample(m, 'switchboard_calls_answered_total', { queue: 'support' })).toBe(1);
    expect(sample(m, 'switchboard_calls_handled_total', { queue: 'support' })).toBe(1);
    expect(alice.messages.filter((x) => x.type === 'wrap_up')).toHaveLength(1);
    expect(await st.app.sb.queues.tally('support')).toMatchObject({ offered: 1, answered: 1, inQueue: 0 });
    alice.close();
  });
});

describe('Twilio REST faults while calling back', () => {
  it('calls.create is retried on 5xx and a lost answer does not ring the caller twice', async () => {
    const st = await stack();
    const a = st.emu.placeCall({
      from: '+15556660011',
      to: NUMBER,
      behaviour: supportCaller({ patienceMs: 60 * 60_000, keys: '1', extra: { answerCallback: true } }),
    });
    const b = st.emu.placeCall({
      from: '+15556660012',
      to: NUMBER,
      behaviour: supportCaller({ patienceMs: 60 * 60_000, keys: '1', extra: { answerCallback: true } }),
    });
    await st.emu.run(Promise.all([a.ended, b.ended]));
    const alice = await st.agent('alice-demo-token');

    st.emu.faults.failNextRest({ status: 503, count: 2, match: { path: CALLS_CREATE } });
    alice.send({ type: 'set_state', state: 'available' });
    const o1 = await st.until(alice.next('offer'));
    expect(o1).toMatchObject({ callSid: a.sid, callback: true });
    expect(await accept(st, alice, o1)).toBe('connected');
    const cbA = [...st.emu.calls.values()].filter((c) => c.to === a.from);
    expect(cbA).toHaveLength(1);
    await st.emu.run(st.clock.sleep(10_000));
    await finishCall(st, alice, cbA[0]!, a.sid);

    st.emu.faults.timeoutNextRest({ afterMs: 5_000, execute: true, match: { path: CALLS_CREATE } });
    const o2 = await st.until(alice.next('offer', (m) => m.offerId !== o1.offerId));
    expect(o2).toMatchObject({ callSid: b.sid, callback: true });
    expect(await accept(st, alice, o2)).toBe('connected');
    await st.emu.run(st.clock.sleep(10_000));
    const cbB = [...st.emu.calls.values()].filter((c) => c.to === b.from);
    expect(cbB).toHaveLength(1);
    await finishCall(st, alice, cbB[0]!, b.sid);

    const m = await st.metrics();
    expect(restMetric(m, 'create_call', 'retry')).toBeGreaterThanOrEqual(3);
    expect(sample(m, 'switchboard_callbacks_requested_total', { queue: 'support' })).toBe(2);
    expect(sample(m, 'switchboard_callback_attempts_total', { queue: 'support', result: 'connected' })).toBe(2);
    expect(sample(m, 'switchboard_calls_abandoned_total', { queue: 'support' })).toBe(0);
    expect(await st.app.sb.queues.tally('support')).toMatchObject({
      offered: 2,
      callback: 2,
      callbackConnected: 2,
      abandoned: 0,
      inQueue: 0,
    });
    alice.close();
  });
});
