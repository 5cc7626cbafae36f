/**
 * Transfers on the agent desk in Debian's Chromium against a real server, real Redis and the Twilio
 * emulator on a virtual clock: two desks (two browser contexts) signed in as Alice and Bob; Alice
 * transfers her caller warm to Bob with the keyboard only, consults, completes; a refused transfer shows
 * the server's error next to the form; a cold transfer to a queue sends Alice to wrap-up.
 * Screenshots go to test-artifacts/browser.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { Call } from '../../src/sim/twilio/index.js';
import { sample } from '../helpers/app.js';
import { NUMBER, type Stack } from '../helpers/stack.js';
import { supportCaller } from '../helpers/callers.js';
import { advanceUntil, browserSuite, hasText, screenshot, tabTo, waitText } from './helpers.js';

const suite = browserSuite();

const agentRecord = (stack: Stack, id: string) => stack.app.sb.agents.get(id);
const focused = (page: Page) => page.evaluate(() => document.activeElement?.id ?? '');

async function openDesk(stack: Stack, token: string): Promise<Page> {
  const origin = `http://127.0.0.1:${stack.port}`;
  const desk = await suite.page(origin);
  await desk.goto(`${origin}/desk#token=${token}`);
  await waitText(desk, '#conn', /^Connected/);
  return desk;
}

/** A support caller, offered to Alice and accepted from her desk with the keyboard. */
async function callConnectedToAlice(stack: Stack, alice: Page): Promise<Call> {
  const call = stack.emu.placeCall({ from: '+15551230009', to: NUMBER, behaviour: supportCaller() });
  await advanceUntil(stack, async () => Boolean((await stack.app.sb.queues.callerInfo('support', call.sid))?.queueSid), {
    what: 'caller waiting',
  });
  await tabTo(alice, '#btn-available');
  await alice.keyboard.press('Enter');
  await advanceUntil(stack, async () => (await agentRecord(stack, 'alice'))?.state === 'reserved', { stepMs: 250, what: 'offer to alice' });
  await alice.locator('#offer').waitFor({ state: 'visible' });
  expect(await alice.isHidden('#offer-from')).toBe(true); // an ordinary offer, not a transfer
  await tabTo(alice, '#btn-accept');
  await alice.keyboard.press('Enter');
  await advanceUntil(stack, () => hasText(alice, '#call-status', /^Connected$/), { what: 'call connected on the desk' });
  await waitText(alice, '#state', /^On call$/);
  return call;
}

describe('transfers on the agent desk', () => {
  it('keyboard only: Alice transfers warm to Bob, consults, completes; Bob has the caller', async () => {
    const stack = await suite.stack();
    stack.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
    stack.emu.registerEndpoint('client:bob', { answer: true, answerDelayMs: 1000 });
    const alice = await openDesk(stack, 'alice-demo-token');
    const bob = await openDesk(stack, 'bob-demo-token');
    await waitText(alice, '#agent-name', /Alice/);
    await waitText(bob, '#agent-name', /Bob/);

    // No transfer controls before there is a connected call.
    expect(await alice.isHidden('#transfer-controls')).toBe(true);
    const call = await callConnectedToAlice(stack, alice);
    await alice.locator('#transfer-controls').waitFor({ state: 'visible' });

    // Bob becomes available (after Alice has the caller, so the queue does not offer it to him).
    await bob.click('#btn-available');
    await waitText(bob, '#state', /^Available$/);
    await advanceUntil(stack, async () => (await agentRecord(stack, 'bob'))?.state === 'available', { stepMs: 250, what: 'bob available' });

    // The form: targets from the server's directory; warm to a queue consults the agent it would pick.
    expect(await alice.$$eval('#transfer-queue option', (os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual([
      'support',
      'billing',
    ]);
    expect(await alice.$$eval('#transfer-agent option', (os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual(['bob', 'carol']); // not herself
    expect(await alice.isEnabled('#transfer-warm')).toBe(true);
    expect(await alice.textContent('#transfer-warm-hint')).toMatch(/consult the agent that queue would pick/);

    // Keyboard only: "An agent" with the arrow key, Bob in the list, warm, Transfer.
    await tabTo(alice, 'input[name="transfer-kind"]:checked');
    expect(await alice.inputValue('input[name="transfer-kind"]:checked')).toBe('queue');
    await alice.keyboard.press('ArrowDown');
    expect(await alice.inputValue('input[name="transfer-kind"]:checked')).toBe('agent');
    expect(await alice.isVisible('#transfer-agent')).toBe(true);
    expect(await alice.isHidden('#transfer-queue')).toBe(true);
    expect(await alice.isEnabled('#transfer-warm')).toBe(true);
    await tabTo(alice, '#transfer-agent');
    await alice.keyboard.press('End');
    expect(await alice.inputValue('#transfer-agent')).toBe('carol');
    await alice.keyboard.press('Home');
    expect(await alice.inputValue('#transfer-agent')).toBe('bob');
    await tabTo(alice, '#transfer-warm');
    await alice.keyboard.press('Space');
    expect(await alice.isChecked('#transfer-warm')).toBe(true);
    // Focus is visible on every control (the page's own outline, not the browser default).
    expect(await alice.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).toBe('solid');
    await tabTo(alice, '#btn-transfer');
    await alice.keyboard.press('Enter');

    // Bob's desk: the offer says who transfers; Alice's desk: ringing, the caller on hold, the form locked.
    await advanceUntil(stack, async () => bob.isVisible('#offer'), { stepMs: 250, what: 'transfer offer to bob' });
    expect(await bob.textContent('#offer-from')).toBe('Transfer from Alice');
    expect(await bob.textContent('#offer-title')).toBe('Incoming transfer — Technical support');
    expect(await bob.isHidden('#offer-wait')).toBe(true); // the caller's wait in the queue means nothing here
    expect(await bob.isVisible('#offer-queue')).toBe(true);
    await waitText(alice, '#transfer-status', /^Ringing Bob\. The caller is on hold/);
    expect(await alice.textContent('#call-status')).toBe('Transferring to Bob — caller on hold');
    expect(await alice.getAttribute('#transfer-status', 'aria-live')).toBe('polite');
    expect(await alice.isDisabled('#btn-transfer')).toBe(true);
    expect(await alice.isDisabled('#transfer-agent')).toBe(true);
    expect(await alice.isDisabled('#btn-hold')).toBe(true);
    expect(await alice.isVisible('#btn-transfer-cancel')).toBe(true); // a warm transfer can be cancelled while it rings
    expect(await alice.isHidden('#btn-transfer-complete')).toBe(true);
    await screenshot(bob, 'desk-transfer-offer');
    await screenshot(alice, 'desk-transfer-ringing');

    // Bob accepts from the keyboard (the offer took the focus); Alice consults with him.
    expect(await focused(bob)).toBe('btn-accept');
    await bob.keyboard.press('Enter');
    await advanceUntil(stack, () => hasText(alice, '#transfer-status', /answered/), { stepMs: 250, what: 'consulting on alice desk' });
    expect(await alice.textContent('#transfer-status')).toMatch(/^Bob answered: you are talking to them while the caller holds/);
    expect(await alice.isVisible('#btn-transfer-complete')).toBe(true);
    expect(await alice.isVisible('#btn-transfer-cancel')).toBe(true);
    expect(await focused(alice)).toBe('btn-transfer-complete');
    expect(await alice.textContent('#call-status')).toBe('Consulting Bob — caller on hold');
    const conf = stack.emu.conference(`sb-${call.sid}`)!;
    expect(conf.participants.get(call.sid)?.hold).toBe(true);
    expect((await agentRecord(stack, 'alice'))?.state).toBe('on_call');
    await screenshot(alice, 'desk-transfer-consulting');
    await stack.emu.run(stack.clock.sleep(20_000));

    // Complete from the keyboard: Alice goes to wrap-up, Bob has the caller.
    await tabTo(alice, '#btn-transfer-complete');
    await alice.keyboard.press('Enter');
    await advanceUntil(stack, async () => alice.isVisible('#wrapup'), { stepMs: 250, what: 'alice wrap-up' });
    await waitText(alice, '#message', /^Transfer to Bob completed: the caller is theirs\.$/);
    await waitText(alice, '#state', /^Wrap-up$/);
    expect(await alice.isHidden('#call')).toBe(true);
    await advanceUntil(stack, () => hasText(bob, '#call-status', /^Connected$/), { stepMs: 250, what: 'bob connected' });
    expect(await bob.textContent('#call-queue')).toBe('support');
    await waitText(bob, '#state', /^On call$/);
    expect(await bob.isVisible('#transfer-controls')).toBe(true); // Bob may transfer it on in turn
    expect(await bob.textContent('#transfer-status')).toBe('');
    expect(await bob.textContent('#message')).toBe(''); // "your phone will ring" went when it connected
    await screenshot(alice, 'desk-transfer-completed');
    await screenshot(bob, 'desk-transfer-received');

    // The server: Bob talks to the caller, Alice is in wrap-up, the transfer counted once.
    await stack.emu.run(stack.clock.sleep(2_000));
    expect(await agentRecord(stack, 'bob')).toMatchObject({ state: 'on_call', callSid: call.sid });
    expect((await agentRecord(stack, 'alice'))?.state).toBe('wrap_up');
    const bobLeg = [...conf.participants.values()].find((p) => p.call.to === 'client:bob')?.callSid;
    expect(bobLeg && conf.canHear(call.sid, bobLeg)).toBe(true);
    expect(conf.participants.get(call.sid)?.hold).toBe(false);
    const m = await stack.metrics();
    expect(sample(m, 'switchboard_transfers_total', { queue: 'support', kind: 'agent', mode: 'warm', result: 'completed' })).toBe(1);
    expect(sample(m, 'switchboard_transfers_total', { queue: 'support', kind: 'agent', mode: 'warm', result: 'cancelled' }) ?? 0).toBe(0);
    expect(stack.emu.errors).toEqual([]);
  });

  it('a page reloaded while consulting shows the consultation again; cancelled, the call is Connected again', async () => {
    const stack = await suite.stack();
    stack.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
    stack.emu.registerEndpoint('client:bob', { answer: true, answerDelayMs: 1000 });
    const alice = await openDesk(stack, 'alice-demo-token');
    const bob = await openDesk(stack, 'bob-demo-token');
    const call = await callConnectedToAlice(stack, alice);
    await bob.click('#btn-available');
    await advanceUntil(stack, async () => (await agentRecord(stack, 'bob'))?.state === 'available', { stepMs: 250, what: 'bob available' });
    await stack.emu.run(stack.clock.sleep(40_000));

    await alice.check('input[name="transfer-kind"][value="agent"]');
    await alice.selectOption('#transfer-agent', 'bob');
    await alice.check('#transfer-warm');
    await alice.click('#btn-transfer');
    await advanceUntil(stack, async () => bob.isVisible('#offer'), { stepMs: 250, what: 'transfer offer to bob' });
    await bob.click('#btn-accept');
    await advanceUntil(stack, () => hasText(alice, '#call-status', /^Consulting Bob/), { stepMs: 250, what: 'consulting on alice desk' });

    // A full reload of Alice's page: the server hands it the call (the caller on hold) and the transfer.
    await alice.reload();
    await waitText(alice, '#conn', /^Connected$/);
    await alice.locator('#call').waitFor({ state: 'visible' });
    await waitText(alice, '#call-status', /^Consulting Bob — caller on hold$/);
    await waitText(alice, '#call-timer', /^0:4\d$/); // the whole call, not the hold
    expect(await alice.textContent('#transfer-status')).toMatch(/^Bob answered: you are talking to them while the caller holds/);
    expect(await alice.isVisible('#btn-transfer-complete')).toBe(true);
    expect(await alice.isVisible('#btn-transfer-cancel')).toBe(true);
    expect(await alice.isDisabled('#btn-hold')).toBe(true);
    expect(await alice.isDisabled('#btn-transfer')).toBe(true);
    await screenshot(alice, 'desk-transfer-reloaded');

    // Cancel: the caller is back with Alice and the Status line says so.
    await alice.click('#btn-transfer-cancel');
    await advanceUntil(stack, () => hasText(alice, '#transfer-status', /cancelled/), {
      stepMs: 250,
      what: 'transfer cancelled on alice desk',
    });
    await waitText(alice, '#call-status', /^Connected$/);
    expect(await alice.textContent('#transfer-status')).toBe('Transfer to Bob cancelled: the caller is back with you.');
    expect(await alice.isEnabled('#btn-transfer')).toBe(true);
    expect(await alice.isEnabled('#btn-hold')).toBe(true);
    await stack.emu.run(stack.clock.sleep(2_000));
    expect(await agentRecord(stack, 'alice')).toMatchObject({ state: 'on_call', callSid: call.sid });
    const m = await stack.metrics();
    expect(sample(m, 'switchboard_transfers_total', { queue: 'support', kind: 'agent', mode: 'warm', result: 'cancelled' })).toBe(1);
    expect(stack.emu.errors).toEqual([]);
  });

  it('a refused transfer shows the server error by the form; a cold transfer to a queue sends Alice to wrap-up', async () => {
    const stack = await suite.stack();
    stack.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
    const alice = await openDesk(stack, 'alice-demo-token');
    const call = await callConnectedToAlice(stack, alice);
    await alice.locator('#transfer-controls').waitFor({ state: 'visible' });
    expect((await agentRecord(stack, 'bob'))?.state).toBe('offline');

    // To Bob, who is not signed in: the server refuses and names the field; the page marks it.
    await alice.check('input[name="transfer-kind"][value="agent"]');
    await alice.selectOption('#transfer-agent', 'bob');
    await alice.click('#btn-transfer');
    await waitText(alice, '#transfer-error', /^to\.agentId: bob is not available \(conflict\)$/);
    expect(await alice.getAttribute('#transfer-error', 'role')).toBe('alert');
    expect(await alice.getAttribute('#transfer-agent', 'aria-invalid')).toBe('true');
    expect(await focused(alice)).toBe('transfer-agent');
    expect(await alice.isEnabled('#btn-transfer')).toBe(true); // the form is usable again
    expect(await alice.textContent('#transfer-status')).toBe('');
    expect(await alice.textContent('#call-status')).toBe('Connected'); // nothing changed for the call
    await screenshot(alice, 'desk-transfer-refused');

    // A number that is not E.164 is caught on the page, before anything is sent.
    await alice.check('input[name="transfer-kind"][value="external"]');
    expect(await alice.textContent('#transfer-error')).toBe(''); // a new choice clears the old error
    await alice.fill('#transfer-number', '555-0100');
    await alice.click('#btn-transfer');
    await waitText(alice, '#transfer-error', /^to\.number: an E\.164 number/);
    expect(await focused(alice)).toBe('transfer-number');
    expect(await agentRecord(stack, 'alice')).toMatchObject({ state: 'on_call', callSid: call.sid });

    // Cold to the billing queue: Alice goes to wrap-up and is told where the caller went.
    await alice.check('input[name="transfer-kind"][value="queue"]');
    await alice.uncheck('#transfer-warm');
    await alice.selectOption('#transfer-queue', 'billing');
    await alice.click('#btn-transfer');
    await advanceUntil(stack, async () => alice.isVisible('#wrapup'), { stepMs: 250, what: 'alice wrap-up after queue transfer' });
    await waitText(alice, '#message', /^Transferred to Billing: the caller is at the front of the queue\.$/);
    await stack.emu.run(stack.clock.sleep(3_000));
    expect(await stack.app.sb.queues.callerInfo('billing', call.sid)).toMatchObject({ state: 'waiting' });
    const m = await stack.metrics();
    expect(sample(m, 'switchboard_transfers_total', { queue: 'support', kind: 'queue', mode: 'cold', result: 'completed' })).toBe(1);
    expect(sample(m, 'switchboard_transfers_total', { queue: 'support', kind: 'agent', mode: 'cold', result: 'completed' }) ?? 0).toBe(0);
    await screenshot(alice, 'desk-transfer-queue');
    expect(stack.emu.errors).toEqual([]);
  });
});
