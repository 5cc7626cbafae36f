/**
 * The agent desk and the wallboard in Debian's Chromium against a real server, real Redis and the Twilio
 * emulator on a virtual clock: an agent signs in and takes a call with the keyboard only while the
 * wallboard follows without reloading; a dropped connection shows a message and reconnects by itself.
 * Screenshots go to test-artifacts/browser.
 */
import type { Page, WebSocketRoute } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { sample, SUPERVISOR_TOKEN } from '../helpers/app.js';
import { NUMBER, type Stack } from '../helpers/stack.js';
import { supportCaller } from '../helpers/callers.js';
import { advanceUntil, browserSuite, hasText, screenshot, tabTo, waitText } from './helpers.js';

const suite = browserSuite();

/** "1:15" → 75. */
const seconds = (text: string) => text.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
const agentState = async (stack: Stack, id: string) => (await stack.app.sb.agents.get(id))?.state;

describe('agent desk and wallboard in Chromium', () => {
  it('keyboard only: sign in, available, offer, accept, hang up, wrap-up; the wallboard follows live', async () => {
    const stack = await suite.stack();
    stack.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 2000 });
    const origin = `http://127.0.0.1:${stack.port}`;

    // The wallboard, signed in with the supervisor token from the fragment.
    const wall = await suite.page(origin);
    await wall.goto(`${origin}/wallboard#token=${SUPERVISOR_TOKEN}`);
    await waitText(wall, '#conn', /^Live/);
    await waitText(wall, '#q-support-waiting', /^0$/);
    expect(await wall.textContent('#q-support-sl')).toBe('—'); // no calls today yet
    expect(await wall.textContent('#q-support-abandon')).toBe('—');
    expect(wall.url()).toBe(`${origin}/wallboard`); // the token left the address bar
    await wall.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    await screenshot(wall, 'wallboard-empty');

    // The desk, with nothing but the keyboard.
    const desk = await suite.page(origin);
    await desk.goto(`${origin}/desk`);
    await tabTo(desk, '#token');
    await desk.keyboard.type('alice-demo-token');
    await desk.keyboard.press('Enter');
    await waitText(desk, '#conn', /^Connected/);
    await waitText(desk, '#agent-name', /Alice/);
    await waitText(desk, '#state', /^Offline$/);
    await waitText(wall, '#agents-offline', /^[1-9]/);

    // A caller goes through the IVR to technical support and waits: the wallboard shows them.
    const call = stack.emu.placeCall({ from: '+15551230001', to: NUMBER, behaviour: supportCaller() });
    // (Until Twilio's first waitUrl request has told the server the QueueSid: a bridge waits for it.)
    await advanceUntil(stack, async () => Boolean((await stack.app.sb.queues.callerInfo('support', call.sid))?.queueSid), {
      what: 'caller waiting',
    });
    await waitText(wall, '#q-support-waiting', /^1$/);
    await waitText(wall, '#q-support-longest', /^0:(0[1-9]|[1-5]\d)$/);
    await screenshot(wall, 'wallboard-waiting');

    // Alice becomes available and is offered the caller at once.
    await tabTo(desk, '#btn-available');
    await desk.keyboard.press('Space');
    await waitText(desk, '#state', /^(Available|Offer ringing)$/);
    await advanceUntil(stack, async () => (await agentState(stack, 'alice')) === 'reserved', { stepMs: 250, what: 'offer to alice' });
    await desk.locator('#offer').waitFor({ state: 'visible' });
    expect(await desk.getAttribute('#offer', 'role')).toBe('alert');
    expect(await desk.textContent('#offer-queue')).toBe('Technical support');
    expect(await desk.textContent('#offer-path')).toMatch(/^language › hours › main-menu/);
    expect(await desk.textContent('#offer-repeat')).toBe('0');
    expect(await desk.isVisible('#offer-wait')).toBe(true); // an ordinary offer: how long the caller waited
    // ...counted on the server's clock: what the queue says, give or take the page's ticks.
    const enqueuedAt = (await stack.app.sb.queues.callerInfo('support', call.sid))?.enqueuedAt ?? 0;
    const waited = seconds((await desk.textContent('#offer-wait')) ?? '');
    expect(Math.abs(waited - (stack.clock.now() - enqueuedAt) / 1000)).toBeLessThanOrEqual(2);
    // The page re-reads the server clock when an offer arrives (the test's server clock is virtual and jumps);
    // once synced, the countdown is the queue's offer time left in server time.
    const countdown = Number(await waitText(desk, '#offer-countdown', /^([1-9]|1[0-5])$/));
    expect(countdown).toBeGreaterThanOrEqual(1);
    expect(countdown).toBeLessThanOrEqual(15); // the queue's offerTimeoutSeconds, in server time
    await waitText(wall, '#agents-reserved', /^1$/);
    await screenshot(desk, 'desk-offer');
    await screenshot(wall, 'wallboard-offer');

    // Accept from the keyboard: the offer took the focus.
    await tabTo(desk, '#btn-accept');
    await desk.keyboard.press('Enter');
    await waitText(desk, '#message', /^Accepted: your phone will ring\.$/);
    await advanceUntil(stack, () => hasText(desk, '#call-status', /^Connected$/), { what: 'call connected on the desk' });
    expect(await desk.isHidden('#offer')).toBe(true);
    expect(await desk.textContent('#call-queue')).toBe('support');
    await waitText(desk, '#message', /^$/); // the phone answered: "your phone will ring" is over
    await waitText(wall, '#q-support-waiting', /^0$/);
    await waitText(wall, '#agents-on_call', /^1$/);
    await waitText(wall, '#q-support-sl', /^100%$/); // answered within 20 s of entering the queue
    await waitText(wall, '#q-support-longest', /^0:00$/);
    await screenshot(desk, 'desk-call');

    // Talk for a while, then hang up from the keyboard.
    await stack.emu.run(stack.clock.sleep(30_000));
    await tabTo(desk, '#btn-hangup');
    await desk.keyboard.press('Enter');
    await advanceUntil(stack, async () => desk.isVisible('#wrapup'), { stepMs: 250, what: 'wrap-up form' });
    expect(Number(await desk.textContent('#wrapup-countdown'))).toBeGreaterThan(0);
    await waitText(wall, '#agents-wrap_up', /^1$/);
    await screenshot(desk, 'desk-wrapup');

    // Disposition "resolved" (Space on the first radio), a code, save.
    await tabTo(desk, 'input[name="disposition"][value="resolved"]');
    await desk.keyboard.press('Space');
    await desk.keyboard.press('Tab');
    await desk.keyboard.type('password_reset');
    await tabTo(desk, '#btn-wrapup');
    await desk.keyboard.press('Enter');
    await waitText(desk, '#message', /Wrap-up saved/);
    await waitText(desk, '#state', /^Available$/);
    expect(await desk.isHidden('#wrapup')).toBe(true);
    await screenshot(desk, 'desk-after');

    // The wallboard moved by itself: the same page, numbers for the day.
    await waitText(wall, '#agents-available', /^1$/);
    await waitText(wall, '#q-support-counts', /1 offered · 1 answered \(1 within 20 s\) · 0 abandoned/);
    expect(await wall.textContent('#q-support-sl')).toBe('100%');
    expect(await wall.textContent('#q-support-abandon')).toBe('0%');
    expect(await wall.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    await screenshot(wall, 'wallboard-after');

    // What the server recorded: the disposition and code from the desk.
    await stack.emu.run(call.ended);
    const m = await stack.metrics();
    expect(sample(m, 'switchboard_dispositions_total', { queue: 'support', disposition: 'resolved' })).toBe(1);
    expect(sample(m, 'switchboard_calls_handled_total', { queue: 'support' })).toBe(1);
    expect(stack.emu.errors).toEqual([]);
  });

  it('a page reloaded mid-call shows the call, its status and timer again; reloaded in wrap-up, the form and its countdown', async () => {
    const stack = await suite.stack();
    stack.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
    const origin = `http://127.0.0.1:${stack.port}`;
    const desk = await suite.page(origin);
    await desk.goto(`${origin}/desk#token=alice-demo-token`);
    await waitText(desk, '#conn', /^Connected$/);
    const call = stack.emu.placeCall({ from: '+15551230007', to: NUMBER, behaviour: supportCaller() });
    await advanceUntil(stack, async () => Boolean((await stack.app.sb.queues.callerInfo('support', call.sid))?.queueSid), {
      what: 'caller waiting',
    });
    await desk.click('#btn-available');
    await advanceUntil(stack, async () => desk.isVisible('#offer'), { stepMs: 250, what: 'offer on the desk' });
    await desk.click('#btn-accept');
    await advanceUntil(stack, () => hasText(desk, '#call-status', /^Connected$/), { what: 'call connected on the desk' });
    // 95 s of talk (virtual time: the page syncs with the server's clock when it (re)connects).
    await stack.emu.run(stack.clock.sleep(95_000));

    // A full page reload (not a socket drop): the page starts from nothing; the server hands it the call.
    await desk.reload();
    await waitText(desk, '#conn', /^Connected$/);
    await desk.locator('#call').waitFor({ state: 'visible' });
    await waitText(desk, '#call-status', /^Connected$/);
    await waitText(desk, '#call-timer', /^1:3\d$/); // counted from the start of the talk, on the server's clock
    expect(await desk.textContent('#call-queue')).toBe('support');
    await waitText(desk, '#state', /^On call$/);
    expect(await desk.isVisible('#transfer-controls')).toBe(true);
    expect(await desk.isEnabled('#btn-hangup')).toBe(true);
    await screenshot(desk, 'desk-reloaded-call');

    // On hold, reloaded again: still on hold, and the timer still counts the whole call (not the hold).
    await desk.click('#btn-hold');
    await waitText(desk, '#call-status', /^On hold$/);
    await stack.emu.run(stack.clock.sleep(30_000));
    await desk.reload();
    await desk.locator('#call').waitFor({ state: 'visible' });
    await waitText(desk, '#call-status', /^On hold$/);
    await waitText(desk, '#call-timer', /^2:0\d$/);
    expect(await desk.textContent('#btn-hold')).toBe('Resume');
    await desk.click('#btn-hold');
    await waitText(desk, '#call-status', /^Connected$/);

    // Hang up, reload in wrap-up: the form and its countdown are back, and saving works.
    await desk.click('#btn-hangup');
    await advanceUntil(stack, async () => desk.isVisible('#wrapup'), { stepMs: 250, what: 'wrap-up form' });
    const before = Number(await desk.textContent('#wrapup-countdown'));
    await stack.emu.run(stack.clock.sleep(5_000));
    await desk.reload();
    await desk.locator('#wrapup').waitFor({ state: 'visible' });
    expect(await desk.isHidden('#call')).toBe(true);
    await waitText(desk, '#state', /^Wrap-up$/);
    expect(await desk.textContent('#wrapup-title')).toBe('Wrap-up — support');
    // The same deadline: about 5 s less than before the reload (server time), never restarted.
    await desk.waitForFunction((max) => {
      const n = Number(document.querySelector('#wrapup-countdown')?.textContent);
      return n > 0 && n <= max;
    }, before - 4);
    await screenshot(desk, 'desk-reloaded-wrapup');
    await desk.check('input[name="disposition"][value="resolved"]');
    await desk.click('#btn-wrapup');
    await waitText(desk, '#message', /Wrap-up saved/);
    await waitText(desk, '#state', /^Available$/);
    expect((await stack.app.sb.agents.get('alice'))?.state).toBe('available');
    expect(stack.emu.errors).toEqual([]);
  });

  it('a dropped connection shows a clear message and the desk reconnects by itself', async () => {
    const stack = await suite.stack();
    const origin = `http://127.0.0.1:${stack.port}`;
    const desk: Page = await suite.page(origin);
    const routes: WebSocketRoute[] = [];
    await desk.routeWebSocket(/\/agent\/ws$/, (ws) => {
      ws.connectToServer();
      routes.push(ws);
    });
    await desk.goto(`${origin}/desk`);
    await desk.fill('#token', 'bob-demo-token');
    await desk.click('#btn-signin');
    await waitText(desk, '#conn', /^Connected$/);
    await desk.click('#btn-break');
    await waitText(desk, '#state', /^Break$/);
    expect(await desk.textContent('#state-since')).toBe('(coffee)');
    expect(await desk.isHidden('#conn-lost')).toBe(true);

    // The network drops the socket.
    await routes[0]!.close({ code: 4000, reason: 'network cut' });
    await desk.locator('#conn-lost').waitFor({ state: 'visible' });
    expect(await desk.getAttribute('#conn-lost', 'role')).toBe('alert');
    expect(await desk.textContent('#conn-lost')).toMatch(/Connection lost\. Reconnecting automatically/);
    await screenshot(desk, 'desk-connection-lost');

    // It comes back on its own, still signed in, still on break.
    await waitText(desk, '#conn', /^Connected \(reconnected\)$/);
    expect(routes.length).toBeGreaterThanOrEqual(2);
    await desk.locator('#conn-lost').waitFor({ state: 'hidden' });
    await waitText(desk, '#state', /^Break$/);
    const rec = await stack.app.sb.agents.get('bob');
    expect(rec?.state).toBe('break');
    expect(rec?.connected).toBe(true);
    await screenshot(desk, 'desk-reconnected');
  });

  it('an offer left to time out: the countdown runs out, the desk says why and shows the break', async () => {
    const stack = await suite.stack();
    const origin = `http://127.0.0.1:${stack.port}`;
    const desk = await suite.page(origin);
    await desk.goto(`${origin}/desk#token=alice-demo-token`);
    await waitText(desk, '#conn', /^Connected$/);
    const call = stack.emu.placeCall({ from: '+15551230009', to: NUMBER, behaviour: supportCaller() });
    await advanceUntil(stack, async () => Boolean((await stack.app.sb.queues.callerInfo('support', call.sid))?.queueSid), {
      what: 'caller waiting',
    });
    await desk.click('#btn-available');
    await desk.locator('#offer').waitFor({ state: 'visible' });
    const first = Number(await desk.textContent('#offer-countdown'));
    // Nobody answers: 20 s of server time pass (the offer timeout is 15 s).
    await advanceUntil(stack, async () => desk.isHidden('#offer'), { stepMs: 1000, maxMs: 30_000, what: 'offer timed out on the desk' });
    expect(first).toBeGreaterThan(0);
    await waitText(desk, '#message', /timed out/);
    await waitText(desk, '#state', /^Break$/);
    expect(await desk.textContent('#state-since')).toBe('(missed offer)');
    expect(await desk.isEnabled('#btn-available')).toBe(true);
    await screenshot(desk, 'desk-offer-timeout');

    // Sign out: the server has the agent offline and the page is back at the sign-in form.
    await desk.click('#btn-signout');
    await desk.locator('#signin').waitFor({ state: 'visible' });
    await waitText(desk, '#conn', /^Signed out$/);
    expect(await agentState(stack, 'alice')).toBe('offline');
  });

  it('the wallboard refuses an agent token and says so', async () => {
    const s = await suite.stack();
    const origin = `http://127.0.0.1:${s.port}`;
    const wall = await suite.page(origin);
    await wall.goto(`${origin}/wallboard#token=alice-demo-token`);
    await waitText(wall, '#signin-error', /not accepted/);
    expect(await wall.isHidden('#board')).toBe(true);
    expect(await wall.textContent('#conn')).toBe('Not signed in');
  });
});
