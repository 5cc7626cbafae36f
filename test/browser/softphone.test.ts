/**
 * The desk softphone in Debian's Chromium against a real server, real Redis and the Twilio emulator. The
 * Voice SDK's `Device` is replaced at the page boundary (the server's /web/vendor/twilio-voice.js answered
 * by a recording stand-in: Twilio is the one stand-in tests may have); everything else is real: the token
 * comes from GET /api/agent/voice-token, the offer from the queue, the accept over the agent socket. The
 * suite fails if the page requests anything off the server.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { NUMBER } from '../helpers/stack.js';
import { supportCaller } from '../helpers/callers.js';
import { advanceUntil, browserSuite, screenshot, waitText } from './helpers.js';

const suite = browserSuite();
const KEYS = { twilioApiKeySid: 'SK' + '2'.repeat(32), twilioApiKeySecret: 'browser-test-api-key-secret' };

/** The stand-in for the SDK bundle: a Device and Calls that record what the desk asks of them. */
const STAND_IN = `(() => {
  const log = [];
  class Emitter {
    constructor() { this.handlers = {}; }
    on(e, f) { (this.handlers[e] = this.handlers[e] || []).push(f); return this; }
    emit(e, ...a) { for (const f of this.handlers[e] || []) f(...a); }
  }
  class FakeCall extends Emitter {
    constructor(parameters) { super(); this.parameters = parameters; this.muted = false; }
    accept() { log.push(['call.accept', this.parameters.CallSid]); }
    reject() { log.push(['call.reject', this.parameters.CallSid]); this.emit('reject'); }
    mute(on = true) { this.muted = on; log.push(['call.mute', on]); this.emit('mute', on, this); }
    isMuted() { return this.muted; }
  }
  class FakeDevice extends Emitter {
    constructor(token, options) {
      super();
      log.push(['new', token, options]);
      window.__voice.device = this;
      const audio = new Emitter();
      audio.availableInputDevices = new Map([['mic-1', { deviceId: 'mic-1', label: 'Desk microphone' }], ['mic-2', { deviceId: 'mic-2', label: 'Headset microphone' }]]);
      audio.availableOutputDevices = new Map([['spk-1', { deviceId: 'spk-1', label: 'Speakers' }], ['spk-2', { deviceId: 'spk-2', label: 'Headset' }]]);
      audio.inputDevice = null;
      audio.speakerDevices = { get: () => new Set([audio.availableOutputDevices.get('spk-1')]), set: async (ids) => { log.push(['speakers', ids]); } };
      audio.setInputDevice = async (id) => { log.push(['input', id]); };
      for (const s of ['incoming', 'outgoing', 'disconnect']) audio[s] = (on) => { log.push(['sound.' + s, on]); return on; };
      this.audio = audio;
    }
    async register() { log.push(['register']); this.emit('registered'); }
    updateToken(t) { log.push(['updateToken', t]); }
    destroy() { log.push(['destroy']); }
  }
  window.__voice = { log, FakeCall, device: null };
  window.Twilio = { Device: FakeDevice };
})();`;

type Entry = [string, ...unknown[]];
const log = (page: Page) => page.evaluate(() => (window as unknown as { __voice: { log: Entry[] } }).__voice.log);
const emit = (page: Page, event: string, arg: unknown) =>
  page.evaluate(
    ([e, a]) => {
      const v = (window as unknown as { __voice: { device: { emit(e: string, a: unknown): void }; FakeCall: new (p: unknown) => unknown } })
        .__voice;
      v.device.emit(e as string, e === 'incoming' ? new v.FakeCall(a) : a);
    },
    [event, arg] as const,
  );
const claims = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { iss: string; grants: { identity: string; voice: unknown } };

async function until(page: Page, what: string, cond: (l: Entry[]) => boolean): Promise<Entry[]> {
  for (let i = 0; i < 200; i++) {
    const l = await log(page);
    if (cond(l)) return l;
    await page.waitForTimeout(50);
  }
  throw new Error(`the stand-in never saw: ${what}\n${JSON.stringify(await log(page))}`);
}

describe('desk softphone in Chromium', () => {
  it("registers as the agent's client, answers the leg of the accepted offer, mutes, switches devices, renews its token, says when the microphone is blocked", async () => {
    const stack = await suite.stack({ config: KEYS });
    stack.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 2000 });
    const origin = `http://127.0.0.1:${stack.port}`;
    const desk = await suite.page(origin);
    await desk.route(`${origin}/web/vendor/twilio-voice.js`, (route) => route.fulfill({ contentType: 'text/javascript', body: STAND_IN }));
    const page = await desk.goto(`${origin}/desk`);
    // The desk may reach Twilio's voice hosts, and no other.
    expect(page?.headers()['content-security-policy']).toContain("connect-src 'self' ws://127.0.0.1");
    expect(page?.headers()['content-security-policy']).toContain('wss://voice-js.roaming.twilio.com https://eventgw.twilio.com;');

    await desk.fill('#token', 'alice-demo-token');
    await desk.press('#token', 'Enter');
    await waitText(desk, '#state', /^Offline$/);
    await waitText(desk, '#softphone-status', /^Ready/);
    await waitText(desk, '#audio-note', /in this page, as alice/);
    const first = await until(desk, 'register', (l) => l.some((e) => e[0] === 'register'));
    const created = first.find((e) => e[0] === 'new')!;
    expect(claims(created[1] as string)).toMatchObject({
      iss: KEYS.twilioApiKeySid,
      grants: { identity: 'alice', voice: { incoming: { allow: true } } },
    });
    expect(created[2]).toMatchObject({ edge: 'roaming', closeProtection: true });
    expect(first).toContainEqual(['sound.incoming', false]); // no ring sound from Twilio's CDN
    expect(await desk.isChecked('#sp-autoanswer')).toBe(true);

    // Devices: both lists filled; choosing sends the choice to the SDK.
    await waitText(desk, '#sp-input', /Headset microphone/);
    await desk.selectOption('#sp-input', 'mic-2');
    await desk.selectOption('#sp-output', 'spk-2');
    await until(
      desk,
      'device choice',
      (l) =>
        l.some((e) => e[0] === 'input' && e[1] === 'mic-2') && l.some((e) => e[0] === 'speakers' && JSON.stringify(e[1]) === '["spk-2"]'),
    );

    // A caller in line; Alice available, offered, accepts: the leg the bridge dials rings in the page and is answered.
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
    await desk.click('#btn-accept');
    // With the softphone on the call rings in the page: the desk does not say the phone will ring.
    await waitText(desk, '#message', /^Accepted: the call rings here and is answered in the softphone\.$/);
    expect(await desk.textContent('#message')).not.toMatch(/phone will ring/);
    await emit(desk, 'incoming', { CallSid: 'CA' + 'b'.repeat(32), From: NUMBER, To: 'client:alice' });
    await until(desk, 'auto-answer', (l) => l.some((e) => e[0] === 'call.accept'));
    await waitText(desk, '#softphone-status', /^In call$/);
    await screenshot(desk, 'softphone-in-call');

    // Mute and unmute.
    await desk.click('#btn-sp-mute');
    await waitText(desk, '#softphone-status', /^In call — muted$/);
    expect(await desk.getAttribute('#btn-sp-mute', 'aria-pressed')).toBe('true');
    await desk.click('#btn-sp-mute');
    await waitText(desk, '#softphone-status', /^In call$/);
    expect((await log(desk)).filter((e) => e[0] === 'call.mute').map((e) => e[1])).toEqual([true, false]);

    // The SDK says the token will expire: the desk fetches a new one for the same identity.
    await emit(desk, 'tokenWillExpire', undefined);
    const renewed = (await until(desk, 'updateToken', (l) => l.some((e) => e[0] === 'updateToken'))).find((e) => e[0] === 'updateToken')!;
    expect(claims(renewed[1] as string).grants.identity).toBe('alice');

    // The browser refuses the microphone: a message that says what to do.
    await emit(desk, 'error', { code: 31401, name: 'NotAllowedError', message: 'Permission denied' });
    await waitText(desk, '#softphone-error', /blocks the microphone: allow it for this site/);

    // A leg nobody accepted in the desk rings with Answer / Decline instead of being answered.
    await emit(desk, 'incoming', { CallSid: 'CA' + 'c'.repeat(32), From: NUMBER, To: 'client:alice' });
    await desk.locator('#btn-sp-decline').waitFor({ state: 'visible' });
    await desk.click('#btn-sp-decline');
    await until(desk, 'decline', (l) => l.some((e) => e[0] === 'call.reject' && e[1] === 'CA' + 'c'.repeat(32)));
    expect((await log(desk)).filter((e) => e[0] === 'call.accept')).toHaveLength(1);

    // The server, for its part, has Alice on the caller's call (the emulator answered her client leg).
    await advanceUntil(stack, async () => (await stack.app.sb.agents.get('alice'))?.state === 'on_call', { what: 'alice on the call' });
    expect(stack.emu.errors).toEqual([]);
  });

  it('an agent without a softphone (no API key on the server) keeps the phone and is told why', async () => {
    const stack = await suite.stack();
    const origin = `http://127.0.0.1:${stack.port}`;
    const desk = await suite.page(origin);
    const requested: string[] = [];
    desk.on('request', (r) => requested.push(new URL(r.url()).pathname));
    const page = await desk.goto(`${origin}/desk`);
    expect(page?.headers()['content-security-policy']).not.toContain('twilio.com');
    await desk.fill('#token', 'alice-demo-token');
    await desk.press('#token', 'Enter');
    await waitText(desk, '#state', /^Offline$/);
    await waitText(
      desk,
      '#audio-note',
      /calls ring on your phone.*No softphone: TWILIO_API_KEY_SID: the softphone needs TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET/,
    );
    expect(await desk.isHidden('#softphone')).toBe(true);
    // The SDK is not even loaded for an agent without a softphone.
    expect(requested).toContain('/api/agent/voice-token');
    expect(requested).not.toContain('/web/vendor/twilio-voice.js');
  });
});
