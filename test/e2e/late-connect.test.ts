/**
 * The dequeued caller's connect URL fetched late. Twilio fetches the offer's connect URL as a request of
 * its own after the dequeue, so under load it can arrive after the bridge is over. Seen in a full test
 * run: the agent hung up before the caller's connect request, and the caller then started a new, empty
 * conference of the same name and stayed there. Here the late request is sent as Twilio would (signed,
 * the caller's CallSid, the offer's connect URL) once the bridge is over:
 * - the agent already ended the call: the caller is hung up, not put into an empty conference, and nothing
 *   is counted again;
 * - the agent's phone never answered, so the caller was given back to the queue: the caller returns to
 *   Twilio's queue (Enqueue) and keeps their place.
 */
import twilio from 'twilio';
import { afterEach, describe, expect, it } from 'vitest';
import { AUTH_TOKEN, ACCOUNT_SID, PUBLIC_BASE, sample } from '../helpers/app.js';
import { supportCaller } from '../helpers/callers.js';
import { makeStack, NUMBER, type Stack } from '../helpers/stack.js';

let s: Stack | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

/** POST the offer's connect URL for a caller, signed as Twilio signs it. */
async function lateConnect(stack: Stack, callSid: string, offerId: string): Promise<string> {
  const path = `/twilio/queue/connect?queue=support&offer=${encodeURIComponent(offerId)}`;
  const params = { CallSid: callSid, AccountSid: ACCOUNT_SID, CallStatus: 'in-progress', From: '+15551230042', To: NUMBER };
  const res = await fetch(`http://127.0.0.1:${stack.port}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, PUBLIC_BASE + path, params),
    },
    body: new URLSearchParams(params),
  });
  expect(res.status).toBe(200);
  return res.text();
}

describe('the connect URL fetched after the bridge is over', () => {
  it('hangs up a caller whose agent already ended the call, instead of an empty conference; counts nothing again', async () => {
    s = await makeStack();
    const stack = s;
    stack.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
    const alice = await stack.agent('alice-demo-token');
    alice.send({ type: 'set_state', state: 'available' });
    const call = stack.emu.placeCall({ from: '+15551230042', to: NUMBER, behaviour: supportCaller({ csat: '5', nps: '9#' }) });
    const offer = await stack.until(alice.next('offer'));
    const offerId = offer.offerId as string;
    alice.send({ type: 'accept', offerId });
    await stack.until(alice.next('call', (m) => m.status === 'connected'));
    // While the agent is on the call, the connect URL joins the caller to the call's conference.
    expect(await lateConnect(stack, call.sid, offerId)).toContain('<Conference');
    await stack.emu.run(stack.clock.sleep(30_000));
    alice.send({ type: 'hangup', callSid: call.sid });
    await stack.until(alice.next('wrap_up'));
    expect((await stack.app.sb.agents.get('alice'))?.state).toBe('wrap_up');

    const body = await lateConnect(stack, call.sid, offerId);
    expect(body).not.toContain('<Conference');
    expect(body).toContain('<Hangup/>');
    expect(await stack.app.sb.queues.callerInfo('support', call.sid)).toBeNull();
    const m = await stack.metrics();
    expect(sample(m, 'switchboard_calls_offered_total', { queue: 'support' })).toBe(1);
    expect(sample(m, 'switchboard_calls_answered_total', { queue: 'support' })).toBe(1);
  });

  it("puts a caller given back to the queue (the agent's phone never answered) back in Twilio's queue, in their place", async () => {
    s = await makeStack();
    const stack = s;
    stack.emu.registerEndpoint('client:alice', { answer: false });
    const alice = await stack.agent('alice-demo-token');
    const call = stack.emu.placeCall({ from: '+15551230043', to: NUMBER, behaviour: supportCaller({ csat: '5', nps: '9#' }) });
    await stack.emu.run(stack.clock.sleep(40_000));
    const before = await stack.app.sb.queues.callerInfo('support', call.sid);
    expect(before?.state).toBe('waiting');
    alice.send({ type: 'set_state', state: 'available' });
    const offer = await stack.until(alice.next('offer'));
    const offerId = offer.offerId as string;
    alice.send({ type: 'accept', offerId });
    // The agent's phone rings out: the bridge fails (the agent is told) and the caller keeps their place.
    await stack.until(alice.next('call', (m) => m.callSid === call.sid && m.status === 'failed'));
    const after = await stack.app.sb.queues.callerInfo('support', call.sid);
    expect(after).not.toBeNull();
    expect(after?.offerId).not.toBe(offerId);
    expect(after?.enqueuedAt).toBe(before?.enqueuedAt);

    const body = await lateConnect(stack, call.sid, offerId);
    expect(body).not.toContain('<Conference');
    expect(body).toMatch(/<Enqueue [^>]*>support<\/Enqueue>/);
    expect((await stack.app.sb.queues.callerInfo('support', call.sid))?.enqueuedAt).toBe(before?.enqueuedAt);
    const m = await stack.metrics();
    expect(sample(m, 'switchboard_calls_offered_total', { queue: 'support' })).toBe(1);
    expect(sample(m, 'switchboard_calls_answered_total', { queue: 'support' }) ?? 0).toBe(0);
  });
});
