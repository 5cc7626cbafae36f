/**
 * No phone number in any log line or metric label: a full call (IVR, queue, an agent over the real
 * WebSocket, bridge over the REST stand-in, hold, hang-up, wrap-up, survey, then a second call that
 * leaves a voicemail) runs with the logger at trace level writing to a buffer; every line and /metrics
 * are scanned for the caller's and the called numbers in E.164 and digit-only forms.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/app.js';
import { sample } from '../helpers/app.js';
import { makeStack, NUMBER, type Stack } from '../helpers/stack.js';
import { supportCaller } from '../helpers/callers.js';

let s: Stack | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const CALLER = '+15559871234';
const VM_CALLER = '+15559875678';

const caller = (o: { voicemail?: boolean } = {}) =>
  supportCaller({
    menu: o.voicemail ? '4' : '2',
    csat: '4',
    nps: '8#',
    ...(o.voicemail ? { extra: { record: { durationMs: 9000, hangup: true } } } : {}),
  });

describe('privacy', () => {
  it('a full call flow writes no phone number to any log line or /metrics', async () => {
    const lines: string[] = [];
    s = await makeStack({ logger: { ...(loggerOptions('trace') as object), stream: { write: (l: string) => void lines.push(l) } } });
    const stack = s;
    stack.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
    const alice = await stack.agent('alice-demo-token');
    alice.send({ type: 'set_state', state: 'available' });
    await stack.until(alice.next('ack'));

    const call = stack.emu.placeCall({ from: CALLER, to: NUMBER, behaviour: caller() });
    const offer = await stack.until(alice.next('offer'));
    alice.send({ type: 'accept', offerId: offer.offerId });
    await stack.until(alice.next('call', (m) => m.status === 'connected'));
    await stack.emu.run(stack.clock.sleep(20_000));
    alice.send({ type: 'hold', callSid: call.sid, on: true, ref: 'h1' });
    await stack.until(alice.next('ack', (m) => m.ref === 'h1'));
    alice.send({ type: 'hold', callSid: call.sid, on: false, ref: 'h2' });
    await stack.until(alice.next('ack', (m) => m.ref === 'h2'));
    alice.send({ type: 'hangup', callSid: call.sid });
    await stack.until(alice.next('wrap_up'));
    alice.send({ type: 'wrap_up', callSid: call.sid, disposition: 'resolved', code: 'ok' });
    await stack.until(alice.next('ack', (m) => m.for === 'wrap_up'));
    await stack.emu.run(call.ended);

    const vm = stack.emu.placeCall({ from: VM_CALLER, to: NUMBER, behaviour: caller({ voicemail: true }) });
    await stack.until(vm.ended);
    alice.close();

    const metrics = await stack.metrics();
    // The flow really ran (so the scan is over a real call's logs).
    expect(sample(metrics, 'switchboard_calls_handled_total', { queue: 'support' })).toBe(1);
    expect(sample(metrics, 'switchboard_survey_responses_total', { survey: 'csat', score: '4' })).toBe(1);
    expect(lines.length).toBeGreaterThan(50);
    expect(lines.some((l) => l.includes('/twilio/voice'))).toBe(true);

    const forms = [CALLER, VM_CALLER, NUMBER].flatMap((n) => [n, n.slice(1), encodeURIComponent(n), n.slice(2)]);
    const leaks = lines.filter((l) => forms.some((f) => l.includes(f)));
    expect(leaks, 'log lines with a phone number').toEqual([]);
    for (const f of forms) expect(metrics.includes(f), `${f} on /metrics`).toBe(false);
  });
});
