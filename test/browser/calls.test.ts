/**
 * The supervisors' live-calls page (`/calls`) in Debian's Chromium against a real server, real Redis and
 * the Twilio emulator on a virtual clock: a call connected to Alice is listed with its queue, status and
 * duration; the supervisor has their Twilio Client (client:sam) dialed in to listen, coach and barge, then
 * stops, and the emulator's conference shows who hears whom at each step; an error from the API is shown
 * with its field; an agent token is refused. Screenshots go to test-artifacts/browser.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { Call, Conference } from '../../src/sim/twilio/index.js';
import { sample, SUPERVISOR_TOKEN } from '../helpers/app.js';
import { NUMBER, type Stack, type TestAgent } from '../helpers/stack.js';
import { supportCaller } from '../helpers/callers.js';
import { advanceUntil, browserSuite, hasText, screenshot, tabTo, waitText } from './helpers.js';

const suite = browserSuite();

/** One caller connected to Alice (over the agent socket) through the support queue. */
async function connectToAlice(stack: Stack): Promise<{ call: Call; alice: TestAgent; aliceLeg: string; conf: Conference }> {
  stack.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
  const alice = await stack.agent('alice-demo-token');
  alice.send({ type: 'set_state', state: 'available' });
  await stack.until(alice.next('state', (m) => m.state === 'available'));
  const call = stack.emu.placeCall({ from: '+15551230009', to: NUMBER, behaviour: supportCaller() });
  const offer = await stack.until(alice.next('offer'));
  alice.send({ type: 'accept', offerId: offer.offerId });
  await stack.until(alice.next('call', (m) => m.status === 'connected'));
  await stack.emu.run(stack.clock.sleep(5_000));
  const conf = stack.emu.conference(`sb-${call.sid}`);
  const aliceLeg = [...(conf?.participants.values() ?? [])].find((p) => p.label === 'agent')?.callSid;
  if (!conf || !aliceLeg) throw new Error('no conference with the agent');
  expect(conf.canHear(call.sid, aliceLeg)).toBe(true);
  return { call, alice, aliceLeg, conf };
}

const supervisorLeg = (conf: Conference) => [...conf.participants.values()].find((p) => p.label === 'supervisor')?.callSid;

async function pressed(page: Page, row: string): Promise<string[]> {
  return page.$$eval(`${row} button[aria-pressed="true"]`, (bs) => bs.map((b) => (b as HTMLElement).dataset.mode ?? ''));
}

describe('live calls page in Chromium', () => {
  it('lists a connected call; listen, coach, barge and stop dial the supervisor into its conference', async () => {
    const stack = await suite.stack();
    const origin = `http://127.0.0.1:${stack.port}`;
    stack.emu.registerEndpoint('client:sam', { answer: true, answerDelayMs: 1000 });
    const { call, alice, aliceLeg, conf } = await connectToAlice(stack);

    // Signed in with nothing but the keyboard.
    const page = await suite.page(origin);
    await page.goto(`${origin}/calls`);
    await tabTo(page, '#token');
    await page.keyboard.type(SUPERVISOR_TOKEN);
    await page.keyboard.press('Enter');
    await waitText(page, '#conn', /^Live/);
    const row = `#call-${call.sid}`;
    await waitText(page, `${row} th`, /^Alice$/); // the agent's name, from the supervisor socket
    expect(await page.$$eval(`${row} td`, (tds) => tds.slice(0, 2).map((t) => t.textContent))).toEqual(['Technical support', 'Talking']);
    // Talking for at least the 5 s of virtual time since the connection: the server's clock, not the browser's.
    await waitText(page, `${row} td.timer`, /^0:(0[5-9]|[1-5]\d)$/);
    expect(await page.textContent('#calls-caption')).toBe('1 live call');
    expect(await pressed(page, row)).toEqual([]);

    // A bad address: the API's refusal is shown with its field, and nobody is dialed.
    await page.fill('#dial-to', '12345');
    await page.click(`${row} button[data-mode="listen"]`);
    await waitText(page, `${row} td.line`, /^Not done: to: an E\.164 number, client:identity or sip: address$/);
    expect(await page.textContent('#dial-error')).toBe('to: an E.164 number, client:identity or sip: address');
    expect(await page.getAttribute('#dial-to', 'aria-invalid')).toBe('true');
    expect(supervisorLeg(conf)).toBeUndefined();

    // Listen, from the keyboard: Sam is dialed in, hears both, and nobody hears Sam.
    await page.fill('#dial-to', '');
    await tabTo(page, '#dial-to');
    await page.keyboard.type('client:sam');
    expect(await page.getAttribute('#dial-to', 'aria-invalid')).toBeNull();
    await tabTo(page, `${row} button[data-mode="listen"]`);
    await page.keyboard.press('Enter');
    await waitText(page, `${row} td.line`, /^Listening \(muted\) · client:sam$/);
    expect(await pressed(page, row)).toEqual(['listen']);
    await stack.emu.run(stack.clock.sleep(3_000));
    const sam = supervisorLeg(conf);
    if (!sam) throw new Error('the supervisor was not dialed into the conference');
    expect(conf.participants.get(sam)?.status).toBe('connected');
    expect(conf.canHear(sam, call.sid) && conf.canHear(sam, aliceLeg)).toBe(true);
    expect(conf.canHear(call.sid, sam)).toBe(false);
    expect(conf.canHear(aliceLeg, sam)).toBe(false);

    // Coach: Alice hears Sam, the caller does not; the same leg is updated.
    await page.click(`${row} button[data-mode="coach"]`);
    await waitText(page, `${row} td.line`, /^Coaching \(only the agent hears you\) · client:sam$/);
    expect(await pressed(page, row)).toEqual(['coach']);
    await stack.emu.run(stack.clock.sleep(3_000));
    expect(supervisorLeg(conf)).toBe(sam);
    expect(conf.canHear(aliceLeg, sam)).toBe(true);
    expect(conf.canHear(call.sid, sam)).toBe(false);

    // A reloaded page learns the supervisor's line from the server (GET /api/calls lists each call's lines).
    await page.reload();
    await page.goto(`${origin}/calls#token=${SUPERVISOR_TOKEN}`); // the reloaded page signs in again
    await waitText(page, `${row} td.line`, /^Coaching \(only the agent hears you\) · client:sam$/);
    expect(await pressed(page, row)).toEqual(['coach']);

    // Barge: everyone hears Sam.
    await page.click(`${row} button[data-mode="barge"]`);
    await waitText(page, `${row} td.line`, /^Barged in \(everyone hears you\) · client:sam$/);
    expect(await pressed(page, row)).toEqual(['barge']);
    await stack.emu.run(stack.clock.sleep(3_000));
    expect(supervisorLeg(conf)).toBe(sam);
    expect(conf.canHear(aliceLeg, sam) && conf.canHear(call.sid, sam)).toBe(true);
    await screenshot(page, 'calls-barge');

    // Alice holds the caller: the page follows.
    alice.send({ type: 'hold', callSid: call.sid, on: true, ref: 'h' });
    await stack.until(alice.next('ack', (m) => m.ref === 'h'));
    await advanceUntil(stack, () => hasText(page, `${row} td.status`, /^On hold$/), { what: 'page shows the hold' });
    alice.send({ type: 'hold', callSid: call.sid, on: false, ref: 'h2' });
    await stack.until(alice.next('ack', (m) => m.ref === 'h2'));
    await advanceUntil(stack, () => hasText(page, `${row} td.status`, /^Talking$/), { what: 'page shows the resume' });

    // Stop: Sam's leg leaves, the call goes on.
    await page.click(`${row} button[data-mode="stop"]`);
    await waitText(page, `${row} td.line`, /^—$/);
    expect(await pressed(page, row)).toEqual([]);
    await stack.emu.run(stack.clock.sleep(3_000));
    expect(conf.participants.has(sam)).toBe(false);
    expect(conf.status).toBe('in-progress');
    expect(conf.canHear(call.sid, aliceLeg) && conf.canHear(aliceLeg, call.sid)).toBe(true);

    const m = await stack.metrics();
    for (const mode of ['listen', 'coach', 'barge', 'stop'])
      expect(sample(m, 'switchboard_supervisor_monitor_total', { queue: 'support', mode }), mode).toBe(1);

    // The call ends: it leaves the list.
    alice.send({ type: 'hangup', callSid: call.sid });
    await stack.until(alice.next('wrap_up'));
    await advanceUntil(stack, async () => (await page.$(row)) === null, { what: 'row removed' });
    await waitText(page, '#calls-caption', /^No live calls$/);
    await screenshot(page, 'calls-empty');
    await stack.emu.run(call.ended);
    expect(stack.emu.errors).toEqual([]);
  });

  it('refuses an agent token and a wrong one', async () => {
    const s = await suite.stack();
    const origin = `http://127.0.0.1:${s.port}`;
    const page = await suite.page(origin);
    await page.goto(`${origin}/calls#token=alice-demo-token`);
    await waitText(page, '#signin-error', /not a supervisor token/);
    expect(await page.isHidden('#board')).toBe(true);
    expect(page.url()).toBe(`${origin}/calls`); // the token left the address bar
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('token');
    await screenshot(page, 'calls-agent-refused');

    await page.fill('#token', 'not-a-token');
    await page.keyboard.press('Enter');
    await waitText(page, '#signin-error', /not accepted/);
    expect(await page.isHidden('#board')).toBe(true);
  });
});
