/**
 * Whole calls through the IVR over HTTP, signed like Twilio, against a real Redis: state in Redis,
 * events on /metrics.
 */
import { afterEach, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import {
  callParams,
  CLOSED_TIME,
  HOLIDAY_TIME,
  makeApp,
  newCallSid,
  PUBLIC_BASE,
  sample,
  saysOf,
  SUPERVISOR_TOKEN,
  type TestApp,
} from '../helpers/app.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** The call's state as stored in its Redis hash (`{c:<callSid>}:ivr`), decoded by the call store. */
async function state(tt: TestApp, callSid: string): Promise<Record<string, unknown>> {
  expect(await tt.redis.type(`${tt.prefix}{c:${callSid}}:ivr`)).toBe('hash');
  return ((await tt.app.sb.calls.get(callSid)) ?? {}) as unknown as Record<string, unknown>;
}

describe('IVR over HTTP', () => {
  it('menu → submenu → self-service message ends the call contained', async () => {
    t = await makeApp();
    const sid = newCallSid();
    const r1 = await t.twilio('/twilio/voice', callParams(sid, { CallStatus: 'ringing' }));
    expect(r1.status).toBe(200);
    expect(r1.body).toContain('<Gather');
    expect(r1.body).toContain('input="dtmf speech"');
    expect(r1.body).toContain(`action="${PUBLIC_BASE}/twilio/ivr/gather?node=language"`);
    expect(saysOf(r1.body)[0]).toContain('For English, press 1');

    const r2 = await t.twilio('/twilio/ivr/gather?node=language', callParams(sid, { Digits: '1' }));
    expect(saysOf(r2.body)[0]).toContain('For billing, press 1');
    const r3 = await t.twilio('/twilio/ivr/gather?node=main-menu', callParams(sid, { Digits: '1' }));
    expect(saysOf(r3.body)[0]).toContain('balance options');
    const r4 = await t.twilio(
      '/twilio/ivr/gather?node=billing-menu',
      callParams(sid, { SpeechResult: 'my balance please', Confidence: '0.92' }),
    );
    expect(saysOf(r4.body)[0]).toContain('pay online');
    expect(r4.body).toContain('<Hangup/>');

    const s = await state(t, sid);
    expect(s.phase).toBe('ended');
    expect(s.path).toEqual(['language', 'hours', 'main-menu', 'billing-menu', 'balance-info']);
    const m = await t.metrics();
    expect(sample(m, 'switchboard_ivr_calls_total', { flow: 'main' })).toBe(1);
    expect(sample(m, 'switchboard_ivr_exits_total', { flow: 'main', exit: 'self_service' })).toBe(1);
    expect(sample(m, 'switchboard_ivr_contained_total', { flow: 'main' })).toBe(1);
    expect(sample(m, 'switchboard_ivr_node_visits_total', { flow: 'main', node: 'billing-menu' })).toBe(1);
  });

  it('back and repeat keys', async () => {
    t = await makeApp();
    const sid = newCallSid();
    await t.twilio('/twilio/voice', callParams(sid));
    await t.twilio('/twilio/ivr/gather?node=language', callParams(sid, { Digits: '1' }));
    await t.twilio('/twilio/ivr/gather?node=main-menu', callParams(sid, { Digits: '1' }));
    const again = await t.twilio('/twilio/ivr/gather?node=billing-menu', callParams(sid, { Digits: '*' }));
    expect(saysOf(again.body)[0]).toContain('balance options');
    const back = await t.twilio('/twilio/ivr/gather?node=billing-menu', callParams(sid, { Digits: '0' }));
    expect(saysOf(back.body)[0]).toContain('For billing, press 1');
    expect((await state(t, sid)).node).toBe('main-menu');
  });

  it('invalid input → retries → default route (hand-off to the queue)', async () => {
    t = await makeApp();
    const sid = newCallSid();
    await t.twilio('/twilio/voice', callParams(sid));
    await t.twilio('/twilio/ivr/gather?node=language', callParams(sid, { Digits: '1' }));
    const bad1 = await t.twilio('/twilio/ivr/gather?node=main-menu', callParams(sid, { Digits: '9' }));
    expect(saysOf(bad1.body)[0]).toBe('Sorry, that is not a valid choice.');
    const none = await t.twilio('/twilio/ivr/gather?node=main-menu&noInput=1', callParams(sid));
    expect(saysOf(none.body)[0]).toBe('Sorry, I did not get that.');
    const bad3 = await t.twilio('/twilio/ivr/gather?node=main-menu', callParams(sid, { Digits: '7' }));
    expect(saysOf(bad3.body)[0]).toContain('technical support');
    const s = await state(t, sid);
    expect(s.phase).toBe('queue');
    expect(s.queue).toBe('support');
    const m = await t.metrics();
    expect(sample(m, 'switchboard_ivr_invalid_inputs_total', { flow: 'main', node: 'main-menu', reason: 'invalid' })).toBe(2);
    expect(sample(m, 'switchboard_ivr_invalid_inputs_total', { flow: 'main', node: 'main-menu', reason: 'timeout' })).toBe(1);
    expect(sample(m, 'switchboard_ivr_exits_total', { flow: 'main', exit: 'queue' })).toBe(1);
  });

  it('a retried request (same idempotency token) answers the same and counts once', async () => {
    t = await makeApp();
    const sid = newCallSid();
    await t.twilio('/twilio/voice', callParams(sid));
    const h = { 'i-twilio-idempotency-token': 'tok-1' };
    const a = await t.twilio('/twilio/ivr/gather?node=language', callParams(sid, { Digits: '2' }), h);
    const b = await t.twilio('/twilio/ivr/gather?node=language', callParams(sid, { Digits: '2' }), h);
    expect(b.body).toBe(a.body);
    // A late duplicate without the token is answered from the current node and counts nothing.
    const c = await t.twilio('/twilio/ivr/gather?node=language', callParams(sid, { Digits: '2' }));
    expect(c.status).toBe(200);
    const m = await t.metrics();
    expect(sample(m, 'switchboard_language_selected_total', { language: 'es' })).toBe(1);
    expect(sample(m, 'switchboard_ivr_node_visits_total', { flow: 'main', node: 'main-menu' })).toBe(1);
  });

  it('a retried request gets the very same answer for every kind of step, and nothing counts twice', async () => {
    t = await makeApp();
    const sid = newCallSid();
    const steps: [string, Record<string, string>][] = [
      ['/twilio/voice', { CallStatus: 'ringing' }],
      ['/twilio/ivr/gather?node=language', { Digits: '9' }], // invalid: the retry prompt and the menu again
      ['/twilio/ivr/gather?node=language', { Digits: '2' }], // language, hours, main menu in one answer
      ['/twilio/ivr/gather?node=main-menu', { Digits: '2' }], // hand-off: Enqueue
    ];
    for (const [k, [path, extra]] of steps.entries()) {
      const h = { 'i-twilio-idempotency-token': `tok-step-${k}` };
      const first = await t.twilio(path, callParams(sid, extra), h);
      await t.clock.advance(1500); // a retry comes later: the answer is the step's, at the step's time
      const retry = await t.twilio(path, callParams(sid, extra), h);
      expect(retry.status, path).toBe(200);
      expect(retry.body, path).toBe(first.body);
    }
    const m = await t.metrics();
    expect(sample(m, 'switchboard_ivr_invalid_inputs_total', { flow: 'main', node: 'language', reason: 'invalid' })).toBe(1);
    expect(sample(m, 'switchboard_language_selected_total', { language: 'es' })).toBe(1);
    expect(sample(m, 'switchboard_ivr_node_visits_total', { flow: 'main', node: 'main-menu' })).toBe(1);
    expect(sample(m, 'switchboard_calls_offered_total', { queue: 'support' })).toBe(1);
    expect((await state(t, sid)).phase).toBe('queue');
  });

  it('language choice carries through the call', async () => {
    t = await makeApp();
    const sid = newCallSid();
    await t.twilio('/twilio/voice', callParams(sid));
    const es = await t.twilio('/twilio/ivr/gather?node=language', callParams(sid, { Digits: '2' }));
    expect(saysOf(es.body)[0]).toContain('Para facturación');
    expect(es.body).toContain('language="es-US"');
    expect(es.body).toContain('voice="Polly.Lupe"');
    const bad = await t.twilio('/twilio/ivr/gather?node=main-menu', callParams(sid, { Digits: '9' }));
    expect(saysOf(bad.body)[0]).toBe('Lo siento, esa opción no es válida.');
    expect((await state(t, sid)).language).toBe('es');
  });

  it('closed hours → message → voicemail, stored in Redis and listed over the API', async () => {
    t = await makeApp({ now: CLOSED_TIME });
    const sid = newCallSid();
    await t.twilio('/twilio/voice', callParams(sid));
    const r = await t.twilio('/twilio/ivr/gather?node=language', callParams(sid, { Digits: '1' }));
    expect(saysOf(r.body)).toEqual(['We are closed right now.', 'Please leave your message after the tone. Press pound when done.']);
    expect(r.body).toContain(`<Record action="${PUBLIC_BASE}/twilio/ivr/recorded?node=voicemail"`);
    const rec = { RecordingSid: 'RE' + 'b'.repeat(32), RecordingUrl: 'https://api.twilio.com/rec/RE1', RecordingDuration: '14' };
    const done = await t.twilio('/twilio/ivr/recorded?node=voicemail', callParams(sid, rec));
    expect(done.body).toContain('<Hangup/>');
    // The recording status callback for the same recording does not store it twice.
    const st = await t.twilio('/twilio/recording?node=voicemail', callParams(sid, { ...rec, RecordingStatus: 'completed' }));
    expect(st.status).toBe(204);
    const list = await t.app.inject({ method: 'GET', url: '/api/voicemails', headers: { authorization: `Bearer ${SUPERVISOR_TOKEN}` } });
    expect(list.statusCode).toBe(200);
    const vms = (list.json() as { voicemails: { recordingSid: string; durationSeconds: number; callerHash: string }[] }).voicemails;
    expect(vms).toHaveLength(1);
    expect(vms[0]!.durationSeconds).toBe(14);
    expect(vms[0]!.callerHash).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(vms)).not.toContain('5551230001');
    const unauth = await t.app.inject({ method: 'GET', url: '/api/voicemails' });
    expect(unauth.statusCode).toBe(401);
    const m = await t.metrics();
    expect(sample(m, 'switchboard_voicemails_total', { queue: 'none' })).toBe(1);
    expect(sample(m, 'switchboard_ivr_exits_total', { flow: 'main', exit: 'voicemail' })).toBe(1);
  });

  it('holiday branch', async () => {
    t = await makeApp({ now: HOLIDAY_TIME });
    const sid = newCallSid();
    await t.twilio('/twilio/voice', callParams(sid));
    const r = await t.twilio('/twilio/ivr/gather?node=language', callParams(sid, { Digits: '1' }));
    expect(saysOf(r.body)[0]).toBe('We are closed today for a holiday.');
  });

  it('caller hanging up in the IVR is counted from the status callback, in any order, once', async () => {
    t = await makeApp();
    const sid = newCallSid();
    await t.twilio('/twilio/voice', callParams(sid));
    const completed = callParams(sid, { CallStatus: 'completed', SequenceNumber: '3', CallDuration: '12' });
    const ringing = callParams(sid, { CallStatus: 'ringing', SequenceNumber: '1' });
    expect((await t.twilio('/twilio/status', completed)).status).toBe(200);
    await t.twilio('/twilio/status', completed);
    await t.twilio('/twilio/status', ringing);
    const statusHash = await t.redis.hgetall(`${t.prefix}{c:${sid}}:status`);
    expect(statusHash.status).toBe('completed');
    expect(statusHash.latest).toBe('3');
    const m = await t.metrics();
    expect(sample(m, 'switchboard_ivr_exits_total', { flow: 'main', exit: 'hangup' })).toBe(1);
  });
});

describe('webhook security and validation', () => {
  it('refuses unsigned (400) and forged (403) requests, and names a bad field (400)', async () => {
    t = await makeApp();
    const sid = newCallSid();
    const body = new URLSearchParams(callParams(sid)).toString();
    const unsigned = await t.app.inject({
      method: 'POST',
      url: '/twilio/voice',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: body,
    });
    expect(unsigned.statusCode).toBe(400);
    expect(unsigned.json()).toMatchObject({ error: 'missing_signature' });
    const forgedSig = twilio.getExpectedTwilioSignature('wrong-token-123456', PUBLIC_BASE + '/twilio/voice', callParams(sid));
    const forged = await t.app.inject({
      method: 'POST',
      url: '/twilio/voice',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': forgedSig },
      payload: body,
    });
    expect(forged.statusCode).toBe(403);
    // Signed over other parameters than the ones sent (a tampered body).
    const sig = twilio.getExpectedTwilioSignature('test-auth-token-0123456789', PUBLIC_BASE + '/twilio/voice', callParams(sid));
    const tampered = await t.app.inject({
      method: 'POST',
      url: '/twilio/voice',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': sig },
      payload: body + '&Digits=9',
    });
    expect(tampered.statusCode).toBe(403);
    const bad = await t.twilio('/twilio/voice', callParams('CA123'));
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'invalid_params', field: 'CallSid' });
    const badDigits = await t.twilio('/twilio/ivr/gather?node=language', callParams(sid, { Digits: '1<script>' }));
    expect(badDigits.json()).toMatchObject({ field: 'Digits' });
    // Unknown parameters are accepted (Twilio adds parameters).
    const extra = await t.twilio('/twilio/voice', callParams(sid, { SomeNewTwilioParam: 'x', StirVerstat: 'TN-Validation-Passed-A' }));
    expect(extra.status).toBe(200);
    const m = await t.metrics();
    expect(sample(m, 'switchboard_webhook_rejected_total', { route: '/twilio/voice', reason: 'missing_signature' })).toBe(1);
    expect(sample(m, 'switchboard_webhook_rejected_total', { route: '/twilio/voice', reason: 'bad_signature' })).toBe(2);
    expect(sample(m, 'switchboard_ivr_calls_total', { flow: 'main' })).toBe(1);
  });
});
