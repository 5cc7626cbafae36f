/**
 * Replayed webhooks change nothing. Two calls run through the IVR (one abandons in the queue, one leaves
 * a voicemail) with properly signed requests; then every request is sent again byte for byte (same
 * signature), with and without Twilio's idempotency token, and out of order. The call counters on
 * /metrics and the queue's Redis tally are the same before and after, and every replay still answers
 * 2xx with TwiML (a replay is ignored, not failed).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { callParams, makeApp, newCallSid, sample, type TestApp } from '../helpers/app.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const REC = (n: string) => ({
  RecordingSid: 'RE' + n.repeat(32),
  RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE${n}`,
  RecordingDuration: '14',
  RecordingStatus: 'completed',
});

/** Counters that describe calls (not webhook traffic, which a replay is allowed to count). */
async function counts(t: TestApp): Promise<{ metrics: string[]; tally: unknown; voicemails: number }> {
  const metrics = (await t.metrics())
    .split('\n')
    .filter((l) => l.startsWith('switchboard_') && !/^switchboard_(webhook_|up |queue_longest|agents_|staffing_)/.test(l));
  const tally = await t.app.sb.queues.tally('support');
  const voicemails = (
    await t.app.inject({ method: 'GET', url: '/api/voicemails', headers: { authorization: 'Bearer test-supervisor-token-0123' } })
  ).json<{ voicemails: unknown[] }>().voicemails.length;
  return { metrics, tally, voicemails };
}

describe('replayed webhooks', () => {
  it('a replay of any signed request changes no count', async () => {
    t = await makeApp();
    const app = t;
    const sent: { path: string; params: Record<string, string> }[] = [];
    const send = async (path: string, params: Record<string, string>) => {
      sent.push({ path, params });
      const r = await app.twilio(path, params);
      expect(r.status).toBeLessThan(300);
      return r;
    };

    const a = newCallSid();
    await send('/twilio/voice', callParams(a, {}, '+15550001111'));
    await send('/twilio/ivr/gather?node=language', callParams(a, { Digits: '1' }, '+15550001111'));
    expect((await send('/twilio/ivr/gather?node=main-menu', callParams(a, { Digits: '2' }, '+15550001111'))).body).toContain('<Enqueue');
    await send('/twilio/queue/wait?queue=support', callParams(a, { QueuePosition: '1', QueueTime: '10' }, '+15550001111'));
    await send('/twilio/queue/result?queue=support', callParams(a, { QueueResult: 'hangup', QueueTime: '75' }, '+15550001111'));
    await send('/twilio/status', callParams(a, { CallStatus: 'completed', SequenceNumber: '4', CallDuration: '90' }, '+15550001111'));

    const b = newCallSid();
    await send('/twilio/voice', callParams(b, {}, '+15550002222'));
    await send('/twilio/ivr/gather?node=language', callParams(b, { Digits: '1' }, '+15550002222'));
    const vm = await send('/twilio/ivr/gather?node=main-menu', callParams(b, { Digits: '4' }, '+15550002222'));
    expect(vm.body).toContain('<Record');
    const recordedPath = /action="https:\/\/switchboard\.example\.com([^"]+)"/.exec(vm.body)![1]!.replace(/&amp;/g, '&');
    await send(recordedPath, callParams(b, REC('5'), '+15550002222'));
    await send('/twilio/recording?node=voicemail', callParams(b, REC('5'), '+15550002222'));
    await send('/twilio/status', callParams(b, { CallStatus: 'completed', SequenceNumber: '3', CallDuration: '40' }, '+15550002222'));

    const before = await counts(app);
    expect(sample(await app.metrics(), 'switchboard_calls_abandoned_total', { queue: 'support' })).toBe(1);
    expect(before.voicemails).toBe(1);

    // Replays: in order, in reverse order, and with an idempotency token, each at least twice.
    for (const order of [sent, [...sent].reverse()]) {
      for (const { path, params } of order) {
        const r = await app.twilio(path, params);
        expect(r.status, path).toBeLessThan(300);
        const tok = { 'i-twilio-idempotency-token': `replay-${path}` };
        expect((await app.twilio(path, params, tok)).status).toBeLessThan(300);
        expect((await app.twilio(path, params, tok)).status).toBeLessThan(300);
      }
    }
    expect(await counts(app)).toEqual(before);
  });
});
