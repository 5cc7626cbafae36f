/**
 * A burst of calls through the real server (emulator + agent WebSocket, virtual time), then exact
 * counter and histogram values on /metrics: answered, abandoned after 70 s and 200 s of QueueTime, a short
 * abandon, overflow, callback, surveys, a repeat caller. And label values stay in bounded sets whatever
 * callers send.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { callParams, makeApp, sample, type TestApp } from '../helpers/app.js';
import { makeStack, NUMBER, type Stack } from '../helpers/stack.js';
import { supportCaller } from '../helpers/callers.js';

let s: Stack | undefined;
let t: TestApp | undefined;
afterEach(async () => {
  await s?.close();
  await t?.close();
  s = undefined;
  t = undefined;
});

const caller = (o: { patienceMs?: number; keys?: string; csat?: string; nps?: string } = {}) =>
  supportCaller({ patienceMs: 3_600_000, ...o, extra: { answerCallback: true, record: { durationMs: 5_000 } } });

describe('analytics on /metrics', () => {
  it('counts a burst of calls exactly', { timeout: 120_000 }, async () => {
    s = await makeStack();
    const st = s;
    // No agent at first: abandons after ~70 s and ~200 s of waiting, a short abandon, a callback.
    const a70 = st.emu.placeCall({ from: '+15551000001', to: NUMBER, behaviour: caller({ patienceMs: 70_000 }) });
    const a200 = st.emu.placeCall({ from: '+15551000002', to: NUMBER, behaviour: caller({ patienceMs: 200_000 }) });
    const a2 = st.emu.placeCall({ from: '+15551000003', to: NUMBER, behaviour: caller({ patienceMs: 2_000 }) });
    const cb = st.emu.placeCall({ from: '+15551000004', to: NUMBER, behaviour: caller({ keys: '1' }) });
    await st.emu.run(Promise.all([a70.ended, a200.ended, a2.ended, cb.ended]));
    // An answered call with a survey, from a caller who calls again later (a repeat contact).
    st.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
    const alice = await st.agent('alice-demo-token');
    alice.send({ type: 'set_state', state: 'available' });
    // The callback holds first place: it is offered first.
    const o1 = await st.until(alice.next('offer'));
    expect(o1.callSid).toBe(cb.sid);
    alice.send({ type: 'accept', offerId: o1.offerId });
    await st.until(alice.next('call', (m) => m.status === 'connected' && m.callSid === cb.sid));
    await st.emu.run(st.clock.sleep(60_000));
    alice.send({ type: 'hangup', callSid: cb.sid });
    await st.until(alice.next('wrap_up', (m) => m.callSid === cb.sid));
    alice.send({ type: 'wrap_up', callSid: cb.sid, disposition: 'not_resolved', code: 'cb' });
    await st.until(alice.next('ack', (m) => m.for === 'wrap_up'));

    const first = st.emu.placeCall({ from: '+15551000005', to: NUMBER, behaviour: caller({ csat: '4', nps: '10#' }) });
    const o2 = await st.until(alice.next('offer', (m) => m.callSid === first.sid));
    alice.send({ type: 'accept', offerId: o2.offerId });
    await st.until(alice.next('call', (m) => m.status === 'connected' && m.callSid === first.sid));
    await st.emu.run(st.clock.sleep(90_000));
    alice.send({ type: 'hangup', callSid: first.sid });
    await st.until(alice.next('wrap_up', (m) => m.callSid === first.sid));
    alice.send({ type: 'wrap_up', callSid: first.sid, disposition: 'resolved', code: 'fixed' });
    await st.emu.run(first.ended);
    // The same caller calls again ten minutes later: a repeat contact, and the "resolved" was over-claimed.
    alice.send({ type: 'set_state', state: 'offline' });
    await st.until(alice.next('state', (m) => m.state === 'offline'));
    await st.emu.run(st.clock.sleep(600_000));
    const again = st.emu.placeCall({ from: '+15551000005', to: NUMBER, behaviour: caller({ patienceMs: 30_000 }) });
    // Nobody staffed now: after the max wait the next caller overflows to voicemail.
    const over = st.emu.placeCall({ from: '+15551000006', to: NUMBER, behaviour: caller() });
    await st.emu.run(Promise.all([again.ended, over.ended]));

    const m = await st.metrics();
    const q = { queue: 'support' };
    expect(sample(m, 'switchboard_calls_offered_total', q)).toBe(7);
    expect(sample(m, 'switchboard_calls_answered_total', q)).toBe(1);
    expect(sample(m, 'switchboard_calls_abandoned_total', q)).toBe(4); // 70 s, 200 s, 2 s, the repeat caller
    expect(sample(m, 'switchboard_calls_short_abandoned_total', q)).toBe(1);
    expect(sample(m, 'switchboard_calls_overflow_total', { queue: 'support', target: 'voicemail' })).toBe(1);
    expect(sample(m, 'switchboard_callbacks_requested_total', q)).toBe(1);
    expect(sample(m, 'switchboard_callback_attempts_total', { queue: 'support', result: 'connected' })).toBe(1);
    expect(sample(m, 'switchboard_calls_abandoned_after_total', { queue: 'support', after: '60' })).toBe(2);
    expect(sample(m, 'switchboard_calls_abandoned_after_total', { queue: 'support', after: '180' })).toBe(1);
    expect(sample(m, 'switchboard_queue_wait_seconds_count', { queue: 'support', outcome: 'abandoned' })).toBe(4);
    expect(sample(m, 'switchboard_queue_wait_seconds_bucket', { queue: 'support', outcome: 'abandoned', le: '5' })).toBe(1);
    expect(sample(m, 'switchboard_queue_wait_seconds_bucket', { queue: 'support', outcome: 'abandoned', le: '60' })).toBe(2);
    expect(sample(m, 'switchboard_queue_wait_seconds_bucket', { queue: 'support', outcome: 'abandoned', le: '180' })).toBe(3);
    expect(sample(m, 'switchboard_queue_wait_seconds_bucket', { queue: 'support', outcome: 'overflow', le: '600' })).toBe(0);
    expect(sample(m, 'switchboard_queue_wait_seconds_count', { queue: 'support', outcome: 'overflow' })).toBe(1);
    expect(sample(m, 'switchboard_calls_handled_total', q)).toBe(2);
    expect(sample(m, 'switchboard_dispositions_total', { queue: 'support', disposition: 'resolved' })).toBe(1);
    expect(sample(m, 'switchboard_dispositions_total', { queue: 'support', disposition: 'not_resolved' })).toBe(1);
    expect(sample(m, 'switchboard_repeat_contacts_total', q)).toBe(1);
    expect(sample(m, 'switchboard_overclaimed_resolutions_total', q)).toBe(1);
    expect(sample(m, 'switchboard_survey_responses_total', { survey: 'csat', score: '4' })).toBe(1);
    expect(sample(m, 'switchboard_survey_responses_total', { survey: 'nps', score: '10' })).toBe(1);
    expect(sample(m, 'switchboard_voicemails_total', q)).toBe(1);
    // Conservation, from Redis and from the counters.
    const tally = await st.app.sb.queues.tally('support');
    expect(tally.offered).toBe(tally.answered + tally.abandoned + tally.overflow + tally.callback + tally.inQueue);
    expect(tally).toMatchObject({ offered: 7, answered: 1, abandoned: 4, overflow: 1, callback: 1, inQueue: 0 });
    alice.close();
  });

  it('label values stay in bounded sets whatever callers send', async () => {
    t = await makeApp();
    const junk = () => randomBytes(6).toString('hex');
    for (let i = 0; i < 30; i++) {
      const sid = 'CA' + randomBytes(16).toString('hex');
      await t.twilio('/twilio/voice', callParams(sid, { To: '+1555' + String(1000000 + i) }));
      await t.twilio(`/twilio/ivr/gather?node=${junk()}`, callParams(sid, { Digits: '1' }));
      await t.twilio(`/twilio/queue/wait?queue=${junk()}`, callParams(sid));
      await t.twilio(`/twilio/${junk()}`, callParams(sid));
      await t.app.inject({ method: 'GET', url: `/${junk()}` });
    }
    const m = await t.metrics();
    // switchboard_build_info names the Node.js version in `nodejs`, so `node` stays the IVR node everywhere.
    const build = m.split('\n').filter((l) => l.startsWith('switchboard_build_info{'));
    expect(build).toEqual([
      `switchboard_build_info{version="${(JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version}",nodejs="${process.versions.node}"} 1`,
    ]);
    const values = (label: string) => new Set([...m.matchAll(new RegExp(`${label}="([^"]*)"`, 'g'))].map((x) => x[1]!));
    const center = t.center;
    const allowed = {
      queue: new Set([...Object.keys(center.queues), 'none', 'other']),
      flow: new Set([...Object.keys(center.flows), 'other']),
      node: new Set([...Object.values(center.flows).flatMap((f) => Object.keys(f.nodes)), 'other']),
    };
    for (const [label, ok] of Object.entries(allowed)) expect([...values(label)].filter((v) => !ok.has(v))).toEqual([]);
    for (const r of values('route')) expect(r === 'other' || /^\/twilio\/[a-z/]+$/.test(r)).toBe(true);
    expect(values('route').size).toBeLessThan(30);
    // No phone number anywhere in the exposition.
    expect(m).not.toMatch(/\+1555/);
  });
});
