/**
 * The desk's recording control in Debian's Chromium, against a real server, real Redis and the Twilio
 * emulator: in a queue that records, the current call shows its recording and a button pauses and resumes
 * it (the emulator's recording follows); a supervisor's pause from the live-calls page shows on the desk as
 * such, and the supervisor's page follows the agent's resume.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseCenterConfig } from '../../src/config/callcenter.js';
import { EXAMPLE_CONFIG, SUPERVISOR_TOKEN } from '../helpers/app.js';
import { supportCaller } from '../helpers/callers.js';
import { NUMBER } from '../helpers/stack.js';
import { advanceUntil, browserSuite, screenshot, waitText } from './helpers.js';

const suite = browserSuite();

describe('desk recording control in Chromium', () => {
  it('shows the recording of the call, pauses and resumes it, and says when a supervisor paused it', async () => {
    const raw = (await import('yaml')).parse(await readFile(EXAMPLE_CONFIG, 'utf8')) as {
      queues: Record<string, { recording?: Record<string, unknown> }>;
    };
    raw.queues.support!.recording = { ...raw.queues.support!.recording, enabled: true };
    const stack = await suite.stack({ center: parseCenterConfig(raw, EXAMPLE_CONFIG) });
    stack.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
    const origin = `http://127.0.0.1:${stack.port}`;
    const desk = await suite.page(origin);
    await desk.goto(`${origin}/desk`);
    await desk.fill('#token', 'alice-demo-token');
    await desk.press('#token', 'Enter');
    await waitText(desk, '#state', /^Offline$/);

    const call = stack.emu.placeCall({ from: '+15551230001', to: NUMBER, behaviour: supportCaller() });
    await advanceUntil(stack, async () => Boolean((await stack.app.sb.queues.callerInfo('support', call.sid))?.queueSid), {
      what: 'caller waiting',
    });
    await desk.click('#btn-available');
    await advanceUntil(stack, async () => (await stack.app.sb.agents.get('alice'))?.state === 'reserved', {
      stepMs: 250,
      what: 'offer to alice',
    });
    await desk.locator('#offer').waitFor({ state: 'visible' });
    expect(await desk.isVisible('#btn-recording')).toBe(false);
    await desk.click('#btn-accept');
    await advanceUntil(stack, async () => (await stack.app.sb.service.recordings.current(call.sid))?.status === 'in-progress', {
      stepMs: 250,
      what: 'recording started',
    });
    await waitText(desk, '#call-recording', /^Recording$/);
    const rec = () => stack.emu.conference(`sb-${call.sid}`)!.recordings[0]!;
    expect(await desk.textContent('#btn-recording')).toBe('Pause recording');

    await desk.click('#btn-recording');
    await waitText(desk, '#call-recording', /^Paused$/);
    expect(rec().status).toBe('paused');
    expect(await desk.getAttribute('#btn-recording', 'aria-pressed')).toBe('true');
    await screenshot(desk, 'desk-recording-paused');
    await desk.click('#btn-recording');
    await waitText(desk, '#call-recording', /^Recording$/);
    expect(rec().status).toBe('in-progress');

    // A supervisor pauses it from the live-calls page: the desk says so, and the agent can resume it, which
    // the supervisor's page follows.
    const calls = await suite.page(origin);
    await calls.goto(`${origin}/calls#token=${SUPERVISOR_TOKEN}`);
    const recState = `#call-${call.sid} .rec-state`;
    await waitText(calls, recState, /^Recording$/);
    await calls.click(`#call-${call.sid} .rec-toggle`);
    await waitText(desk, '#call-recording', /^Paused by a supervisor$/);
    await waitText(calls, recState, /^Paused$/);
    expect(await calls.textContent(`#call-${call.sid} .rec-toggle`)).toBe('Resume recording');
    await screenshot(calls, 'calls-recording-paused');
    await desk.click('#btn-recording');
    await waitText(desk, '#call-recording', /^Recording$/);
    await waitText(calls, recState, /^Recording$/);
    expect(rec().history).toEqual(['in-progress', 'paused', 'in-progress', 'paused', 'in-progress']);

    // The call ends: the control goes with it.
    await desk.click('#btn-hangup');
    await advanceUntil(stack, async () => (await stack.app.sb.agents.get('alice'))?.state === 'wrap_up', { what: 'wrap-up' });
    await desk.locator('#btn-recording').waitFor({ state: 'hidden' });
  });
});
