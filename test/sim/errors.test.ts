import http from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock, VirtualClock } from '../../src/clock.js';
import { APP_ERROR_TEXT, createTwilioEmulator } from '../../src/sim/twilio/index.js';
import { ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER, PUBLIC_BASE, setup, twiml } from './helpers.js';

describe('errors and fallbacks', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('a 500 answer requests the fallback with ErrorCode 11200; the fallback TwiML runs', async () => {
    const clock = new VirtualClock();
    const { emu, srv, close } = await setup(clock, {
      '/twilio/voice': () => ({ status: 500, body: 'boom', contentType: 'text/plain' }),
      '/twilio/fallback': () => twiml((r) => r.say('We are having trouble.')),
    });
    cleanup = close;
    const call = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER });
    const s = await emu.run(call.ended);
    expect(emu.errors).toHaveLength(1);
    expect(emu.errors[0]).toMatchObject({
      code: 11200,
      callSid: call.sid,
      kind: 'http',
      url: `${PUBLIC_BASE}/twilio/voice`,
      document: 'boom',
    });
    const fb = srv.hitsTo('/twilio/fallback')[0]!;
    expect(fb.params).toMatchObject({
      ErrorCode: '11200',
      ErrorUrl: `${PUBLIC_BASE}/twilio/voice`,
      CallStatus: 'ringing',
      CallSid: call.sid,
    });
    expect(fb.signatureOk).toBe(true);
    expect(s.heard).toEqual(['We are having trouble.']);
    expect(s.endedBy).toBe('server');
  });

  it('bad content type (12300) then a failing fallback: application error and hang-up by twilio', async () => {
    const clock = new VirtualClock();
    const { emu, close } = await setup(clock, {
      '/twilio/voice': () => ({ status: 200, body: '{"say":"hi"}', contentType: 'application/json' }),
    });
    cleanup = close;
    const call = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER });
    const s = await emu.run(call.ended);
    expect(s.errors.map((e) => e.code)).toEqual([12300, 11200]);
    expect(s.heard).toEqual([APP_ERROR_TEXT]);
    expect(s.endedBy).toBe('twilio');
  });

  it('malformed XML, unknown or mis-cased verbs and bad nesting are 12100', async () => {
    const docs: Record<string, string> = {
      '/a': '<Response><Say>unclosed</Response>',
      '/b': '<Response><say>lower case</say></Response>',
      '/c': '<Response><Gather><Dial>+15550000000</Dial></Gather></Response>',
      '/d': '<Response><Say>Tom & Jerry</Say></Response>',
      '/e': '<Reply><Say>hi</Say></Reply>',
    };
    const clock = new VirtualClock();
    const routes = Object.fromEntries(Object.entries(docs).map(([k, v]) => [`/twilio${k}`, () => v]));
    const { emu, close } = await setup(clock, routes);
    cleanup = close;
    for (const k of Object.keys(docs)) {
      emu.setNumber(`+1800555${k.charCodeAt(1)}`, { voiceUrl: `/twilio${k}` });
      const call = emu.placeCall({ from: '+15551230001', to: `+1800555${k.charCodeAt(1)}` });
      const s = await emu.run(call.ended);
      expect(
        s.errors.map((e) => e.code),
        k,
      ).toEqual([12100]);
      expect(s.errors[0]!.document).toBe(docs[k]);
      expect(s.heard).toEqual([APP_ERROR_TEXT]);
    }
    const msgs = emu.errors.map((e) => e.message).join('\n');
    expect(msgs).toMatch(/not closed|does not match/);
    expect(msgs).toMatch(/case-sensitive: <Say>/);
    expect(msgs).toMatch(/<Dial> is not allowed inside <Gather>/);
    expect(msgs).toMatch(/bare '&'/);
    expect(msgs).toMatch(/root element must be <Response>/);
  });

  it('TwiML given over REST with a relative action URL is 12100', async () => {
    const clock = new VirtualClock();
    const { emu, client, close } = await setup(clock, {});
    cleanup = close;
    emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 500 });
    const c = await client.calls.create({
      to: 'client:alice',
      from: OUR_NUMBER,
      twiml: '<Response><Gather action="/twilio/menu"><Say>Hi</Say></Gather></Response>',
    });
    const s = await emu.run(emu.calls.get(c.sid)!.ended);
    expect(s.errors[0]).toMatchObject({ code: 12100 });
    expect(s.errors[0]!.message).toMatch(/absolute URLs/);
  });

  it('REST: bad credentials → 401 / 20003; update of an ended call → 400 / 21220; unknown sid → 404 / 20404', async () => {
    const clock = new VirtualClock();
    const { emu, client, close } = await setup(clock, { '/twilio/voice': () => twiml((r) => r.say('bye')) });
    cleanup = close;
    const bad = twilio(ACCOUNT_SID, 'wrong-token');
    bad.api.baseUrl = emu.restBaseUrl;
    await expect(bad.calls.list()).rejects.toMatchObject({ status: 401, code: 20003 });
    expect(emu.log.rest[0]).toMatchObject({ authOk: false, status: 401 });
    const call = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER });
    await emu.run(call.ended);
    await expect(client.calls(call.sid).update({ url: `${PUBLIC_BASE}/twilio/voice` })).rejects.toMatchObject({
      status: 400,
      code: 21220,
      message: 'Call is not in-progress. Cannot redirect.',
    });
    await expect(client.calls('CA' + '0'.repeat(32)).fetch()).rejects.toMatchObject({ status: 404, code: 20404 });
    const fetched = await client.calls(call.sid).fetch();
    expect(fetched).toMatchObject({ status: 'completed', direction: 'inbound', from: '+15551230001', to: OUR_NUMBER });
  });

  it('REST calls update redirects a live call and Status=completed ends it', async () => {
    const clock = new VirtualClock();
    const { emu, srv, client, close } = await setup(clock, {
      '/twilio/voice': () => twiml((r) => r.play({ loop: 0 }, 'https://cdn.example.com/music.mp3')),
      '/twilio/moved': () => twiml((r) => r.pause({ length: 600 })),
    });
    cleanup = close;
    const call = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER });
    await clock.advance(10_000, () => emu.settle());
    await client.calls(call.sid).update({ url: `${PUBLIC_BASE}/twilio/moved`, method: 'POST' });
    await clock.advance(10_000, () => emu.settle());
    expect(srv.hitsTo('/twilio/moved')).toHaveLength(1);
    await client.calls(call.sid).update({ status: 'completed' });
    const s = await emu.run(call.ended);
    expect(s.endedBy).toBe('server');
    expect(Math.round(s.durationMs / 1000)).toBe(20);
  });

  it('fault injection: failNextRest answers 503 without executing; timeoutNextRest drops the socket', async () => {
    const clock = new VirtualClock();
    const { emu, client, close } = await setup(clock, {});
    cleanup = close;
    emu.registerEndpoint('client:alice', { answer: false });
    emu.faults.failNextRest({ status: 503, match: { method: 'POST', path: '/Calls.json' } });
    await expect(client.calls.create({ to: 'client:alice', from: OUR_NUMBER, url: `${PUBLIC_BASE}/x` })).rejects.toMatchObject({
      status: 503,
      code: 20503,
    });
    expect(emu.calls.size).toBe(0);
    const created = await client.calls.create({ to: 'client:alice', from: OUR_NUMBER, url: `${PUBLIC_BASE}/x` });
    expect(emu.calls.has(created.sid)).toBe(true);
    emu.faults.timeoutNextRest({ afterMs: 5000 });
    const pending = client.calls.list().then(
      () => 'answered',
      () => 'failed',
    );
    await emu.settle();
    await clock.advance(6000, () => emu.settle());
    expect(await pending).toBe('failed');
    expect(emu.log.rest.at(-1)!.fault).toMatch(/timeout/);
  });

  it('real time: a webhook that takes longer than the limit is 11200, a refused connection 11205 after one retry', async () => {
    const hang = http.createServer(() => {
      /* never answers */
    });
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
    const port = (hang.address() as AddressInfo).port;
    const emu = await createTwilioEmulator({
      clock: systemClock,
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      webhookBase: `http://127.0.0.1:${port}`,
      publicBaseUrl: PUBLIC_BASE,
      numbers: { [OUR_NUMBER]: { voiceUrl: '/voice' } },
      webhookTimeoutMs: 200,
      wordsPerMinute: 6000,
    });
    cleanup = async () => {
      await emu.close();
      hang.closeAllConnections();
      await new Promise((r) => hang.close(r));
    };
    const s = await emu.placeCall({ from: '+15551230001', to: OUR_NUMBER }).ended;
    expect(s.errors.map((e) => e.code)).toEqual([11200]);
    expect(s.errors[0]!.message).toMatch(/no answer within 0.2 s/);
    expect(s.heard).toEqual([APP_ERROR_TEXT]);

    const dead = await createTwilioEmulator({
      clock: systemClock,
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      webhookBase: 'http://127.0.0.1:1',
      publicBaseUrl: PUBLIC_BASE,
      numbers: { [OUR_NUMBER]: { voiceUrl: '/voice' } },
      wordsPerMinute: 6000,
    });
    const s2 = await dead.placeCall({ from: '+15551230001', to: OUR_NUMBER }).ended;
    await dead.close();
    expect(s2.errors.map((e) => e.code)).toEqual([11205]);
    const entry = dead.log.webhooks[0]!;
    expect(entry.attempts).toBe(2);
  });

  it('<Reject> first: never answered; busy → busy, default → no-answer', async () => {
    const clock = new VirtualClock();
    const { emu, srv, close } = await setup(clock, {
      '/twilio/voice': (p) => twiml((r) => r.reject(p.From!.endsWith('1') ? { reason: 'busy' } : {})),
    });
    cleanup = close;
    const a = await emu.run(emu.placeCall({ from: '+15551230001', to: OUR_NUMBER }).ended);
    const b = await emu.run(emu.placeCall({ from: '+15551230002', to: OUR_NUMBER }).ended);
    expect([a.status, b.status]).toEqual(['busy', 'no-answer']);
    expect(a.answeredAt).toBeUndefined();
    const st = srv.hitsTo('/twilio/status').filter((h) => h.params.CallSid === a.callSid);
    expect(st.map((h) => h.params.CallStatus)).toEqual(['ringing', 'busy']);
  });
});
