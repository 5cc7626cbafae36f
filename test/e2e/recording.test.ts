/**
 * Call recording end to end: callers from the Twilio emulator, agents over the real WebSocket, named
 * supervisors over HTTP. A queue that records plays its consent prompt before the caller is queued, the
 * agent's leg that creates the conference asks for record-from-start with the recording status callback,
 * the agent pauses and resumes over the socket and a supervisor over the API (Twilio's Recording update,
 * checked in the emulator's REST log and recording state), the supervisor's action is audited by name, the
 * completed recording lands in the call record and /metrics. A queue that does not record plays no consent
 * prompt and records nothing; unsigned callbacks and agents not on the call are refused.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import twilio from 'twilio';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCenterConfig, type CenterConfig } from '../../src/config/callcenter.js';
import type { DomainEvent } from '../../src/events.js';
import type { CallRecord } from '../../src/records/index.js';
import { AUTH_TOKEN, EXAMPLE_CONFIG, PUBLIC_BASE, sample } from '../helpers/app.js';
import { supportCaller } from '../helpers/callers.js';
import { makeStack, NUMBER, type Stack, type TestAgent } from '../helpers/stack.js';

let s: Stack | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const CONSENT = 'This call may be recorded for quality and training purposes.';
const SAM = 'sam-supervisor-token-0123456789';
const ADA = 'ada-admin-token-0123456789abcdef';
const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

/** The example call center with support's recording switched on (or left as shipped: off), and two named supervisors. */
async function center(recording: boolean): Promise<CenterConfig> {
  const raw = (await import('yaml')).parse(await readFile(EXAMPLE_CONFIG, 'utf8')) as {
    queues: Record<string, { recording?: Record<string, unknown> }>;
  };
  raw.queues.support!.recording = { ...raw.queues.support!.recording, enabled: recording };
  return parseCenterConfig(
    {
      ...raw,
      supervisors: {
        sam: { name: 'Sam Lee', tokenSha256: sha(SAM), role: 'supervisor' },
        ada: { name: 'Ada Admin', tokenSha256: sha(ADA), role: 'admin' },
      },
    },
    EXAMPLE_CONFIG,
  );
}

async function ready(stack: Stack, token: string, contact: string): Promise<TestAgent> {
  stack.emu.registerEndpoint(contact, { answer: true, answerDelayMs: 1000 });
  const a = await stack.agent(token);
  a.send({ type: 'set_state', state: 'available' });
  await stack.until(a.next('state', (m) => m.state === 'available'));
  return a;
}

/** Resolves with the first domain event that matches. */
function nextEvent(stack: Stack, pred: (e: DomainEvent) => boolean): Promise<DomainEvent> {
  return new Promise((resolve) => {
    const off = stack.app.sb.bus.onDomain((e) => {
      if (pred(e)) {
        off();
        resolve(e);
      }
    });
  });
}

/** POST a recording status callback as Twilio would (signed unless told otherwise). */
async function recordingCallback(stack: Stack, path: string, params: Record<string, string>, sign = true) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (sign) headers['x-twilio-signature'] = twilio.getExpectedTwilioSignature(AUTH_TOKEN, PUBLIC_BASE + path, params);
  return stack.app.inject({ method: 'POST', url: path, headers, payload: new URLSearchParams(params).toString() });
}

describe('call recording', () => {
  it(
    'a recorded call: consent before queuing, recorded from the start, paused and resumed by the agent and a supervisor, filed in the call record',
    { timeout: 120_000 },
    async () => {
      s = await makeStack({ center: await center(true) });
      const stack = s;
      const events: DomainEvent[] = [];
      stack.app.sb.bus.onDomain((e) => {
        if (e.type.startsWith('recording.')) events.push(e);
      });
      const alice = await ready(stack, 'alice-demo-token', 'client:alice');
      const bob = await ready(stack, 'bob-demo-token', 'client:bob');
      bob.send({ type: 'set_state', state: 'break', reason: 'lunch' });
      await stack.until(bob.next('state', (m) => m.state === 'break'));

      const caller = stack.emu.placeCall({ from: '+15551000010', to: NUMBER, behaviour: supportCaller() });
      const offer = await stack.until(alice.next('offer', (m) => m.callSid === caller.sid));
      const started = nextEvent(stack, (e) => e.type === 'recording.started');
      alice.send({ type: 'accept', offerId: offer.offerId });
      await stack.until(alice.next('call', (m) => m.status === 'connected' && m.callSid === caller.sid));
      await stack.until(started);

      // The consent prompt comes before the caller is queued: the IVR's answer plays it and redirects to the
      // route that queues the caller (<Enqueue>), so it is heard before the first position announcement.
      const answers = stack.emu.log.webhooks.filter((w) => w.callSid === caller.sid);
      const consentDoc = answers.findIndex((w) => w.body?.includes(CONSENT));
      const enqueueDoc = answers.findIndex((w) => w.body?.includes('<Enqueue'));
      expect(consentDoc).toBeGreaterThan(-1);
      expect(answers[consentDoc]!.body).not.toContain('<Enqueue');
      expect(answers[consentDoc]!.body).toContain('/twilio/queue/consented?queue=support');
      expect(enqueueDoc).toBeGreaterThan(consentDoc);
      expect(answers[enqueueDoc]!.path).toMatch(/^\/twilio\/queue\/consented\?queue=support&front=0&offer=1/);
      const consentAt = caller.heard.indexOf(CONSENT);
      expect(consentAt).toBeGreaterThan(-1);
      expect(consentAt).toBeLessThan(caller.heard.findIndex((h) => h.includes('in line')));
      expect(caller.heard.filter((h) => h === CONSENT)).toHaveLength(1);

      // The agent's leg creates the conference and asks for the recording from its start, with the callback.
      const conf = stack.emu.conference(`sb-${caller.sid}`)!;
      const creates = stack.emu.log.rest.filter((e) => e.method === 'POST' && e.path.endsWith('/Participants.json'));
      expect(creates).toHaveLength(1);
      const callbackUrl = `${PUBLIC_BASE}/twilio/conference/recording?call=${caller.sid}&queue=support`;
      expect(creates[0]!.path).toContain(`/Conferences/sb-${caller.sid}/`);
      expect(creates[0]!.form).toMatchObject({
        ConferenceRecord: 'record-from-start',
        ConferenceRecordingStatusCallback: callbackUrl,
        ConferenceRecordingStatusCallbackMethod: 'POST',
        ConferenceRecordingStatusCallbackEvent: ['in-progress', 'completed', 'failed', 'absent'],
      });
      expect(conf.recordings).toHaveLength(1);
      const rec = conf.recordings[0]!;
      const offerRecord = await stack.app.sb.service.recordings.current(caller.sid);
      expect(offerRecord).toEqual({ sid: rec.sid, conferenceSid: conf.sid, queue: 'support', status: 'in-progress' });
      const inProgress = stack.emu.log.webhooks.filter((w) => w.path.startsWith('/twilio/conference/recording'));
      expect(inProgress.map((w) => [w.params.RecordingStatus, w.status])).toEqual([['in-progress', 200]]);

      // The agent pauses (the caller reads out card details) and resumes over the socket.
      await stack.emu.run(stack.clock.sleep(10_000));
      alice.send({ type: 'recording', action: 'pause', callSid: caller.sid, ref: 'p1' });
      await stack.reply(alice.next('ack', (m) => m.ref === 'p1'));
      expect(rec.status).toBe('paused');
      // Asking again changes nothing (no second REST request, no second count).
      alice.send({ type: 'recording', action: 'pause', ref: 'p2' });
      await stack.reply(alice.next('ack', (m) => m.ref === 'p2'));
      await stack.emu.run(stack.clock.sleep(20_000));
      alice.send({ type: 'recording', action: 'resume', callSid: caller.sid, ref: 'r1' });
      await stack.reply(alice.next('ack', (m) => m.ref === 'r1'));
      expect(rec.status).toBe('in-progress');

      // An agent who is not on the call is refused, and nothing changes.
      bob.send({ type: 'recording', action: 'pause', callSid: caller.sid, ref: 'b1' });
      const refused = await stack.reply(bob.next('error', (m) => m.ref === 'b1'));
      expect(refused).toMatchObject({ code: 'not_your_call', field: 'callSid' });
      expect(rec.status).toBe('in-progress');

      // A supervisor pauses and resumes through the API; an agent's token is refused there.
      const api = (token: string, action: string, sid = caller.sid) =>
        stack.app.inject({ method: 'POST', url: `/api/calls/${sid}/recording`, headers: bearer(token), payload: { action } });
      expect((await api('alice-demo-token', 'pause')).statusCode).toBe(403);
      const paused = await api(SAM, 'pause');
      expect(paused.statusCode, paused.body).toBe(200);
      expect(paused.json()).toEqual({ callSid: caller.sid, action: 'pause', status: 'paused', recordingSid: rec.sid, queue: 'support' });
      expect(rec.status).toBe('paused');
      const live = await stack.app.inject({ method: 'GET', url: '/api/calls', headers: bearer(SAM) });
      expect(live.json().calls).toEqual([expect.objectContaining({ callSid: caller.sid, recording: 'paused' })]);
      await stack.emu.run(stack.clock.sleep(5_000));
      expect((await api(SAM, 'resume')).json()).toMatchObject({ status: 'in-progress' });
      expect(rec.status).toBe('in-progress');
      const bad = await api(SAM, 'stop');
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ error: 'invalid_params', field: 'action' });
      const unknown = await api(SAM, 'pause', 'CA' + 'f'.repeat(32));
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json()).toMatchObject({ error: 'not_found', field: 'callSid' });

      // Twilio's REST log: exactly the four updates, on the conference's recording, with the queue's PauseBehavior.
      const updates = stack.emu.log.rest.filter((e) => e.method === 'POST' && e.path.includes('/Recordings/'));
      expect(updates.map((e) => [e.path.endsWith(`/Conferences/${conf.sid}/Recordings/${rec.sid}.json`), e.form])).toEqual([
        [true, { Status: 'paused', PauseBehavior: 'silence' }],
        [true, { Status: 'in-progress' }],
        [true, { Status: 'paused', PauseBehavior: 'silence' }],
        [true, { Status: 'in-progress' }],
      ]);
      expect(rec.history).toEqual(['in-progress', 'paused', 'in-progress', 'paused', 'in-progress']);

      // The audit names the supervisor who paused and resumed (admin reads it).
      const audit = await stack.app.inject({ method: 'GET', url: '/api/audit', headers: bearer(ADA) });
      expect(audit.statusCode).toBe(200);
      const entries = (
        audit.json() as { entries: { supervisor: string; name: string; action: string; callSid?: string; result: string }[] }
      ).entries;
      expect(
        entries.filter((e) => e.action.startsWith('recording.')).map((e) => [e.action, e.supervisor, e.name, e.callSid, e.result]),
      ).toEqual([
        ['recording.pause', 'sam', 'Sam Lee', 'CA' + 'f'.repeat(32), 'not_found'],
        ['recording.resume', 'sam', 'Sam Lee', caller.sid, 'ok'],
        ['recording.pause', 'sam', 'Sam Lee', caller.sid, 'ok'],
      ]);

      // Unsigned, forged and malformed recording callbacks are refused and change nothing.
      const cbPath = `/twilio/conference/recording?call=${caller.sid}&queue=support`;
      const fake = {
        AccountSid: stack.emu.accountSid,
        CallSid: caller.sid,
        ConferenceSid: conf.sid,
        RecordingSid: 'RE' + 'e'.repeat(32),
        RecordingUrl: 'https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE1',
        RecordingStatus: 'completed',
        RecordingDuration: '999',
      };
      expect((await recordingCallback(stack, cbPath, fake, false)).statusCode).toBe(400);
      const forged = await stack.app.inject({
        method: 'POST',
        url: cbPath,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'bm90IGEgc2lnbmF0dXJl' },
        payload: new URLSearchParams(fake).toString(),
      });
      expect(forged.statusCode).toBe(403);
      const noSid = await recordingCallback(stack, cbPath, { ...fake, RecordingSid: '' });
      expect(noSid.statusCode).toBe(400);
      expect(noSid.json()).toMatchObject({ error: 'invalid_params', field: 'RecordingSid' });
      const badQueue = await recordingCallback(stack, `/twilio/conference/recording?call=${caller.sid}&queue=nope`, fake);
      expect(badQueue.json()).toMatchObject({ field: 'queue' });
      const badCall = await recordingCallback(stack, `/twilio/conference/recording?call=nope&queue=support`, fake);
      expect(badCall.json()).toMatchObject({ field: 'call' });

      // The agent hangs up: the conference ends, the recording is processed and Twilio reports it complete.
      await stack.emu.run(stack.clock.sleep(15_000));
      const completed = nextEvent(stack, (e) => e.type === 'recording.completed');
      alice.send({ type: 'hangup', callSid: caller.sid });
      await stack.until(alice.next('wrap_up', (m) => m.callSid === caller.sid));
      await stack.until(completed);
      alice.send({ type: 'wrap_up', callSid: caller.sid, disposition: 'resolved', code: '' });
      await stack.reply(alice.next('ack', (m) => m.for === 'wrap_up'));
      await stack.emu.run(caller.ended);
      expect(rec.status).toBe('completed');
      const done = stack.emu.log.webhooks.filter(
        (w) => w.path.startsWith('/twilio/conference/recording') && w.params.RecordingStatus === 'completed',
      );
      expect(done).toHaveLength(1);
      expect(done[0]!.status).toBe(200);
      const seconds = Number(done[0]!.params.RecordingDuration);
      expect(seconds).toBe(rec.durationS(stack.clock.now()));
      expect(seconds).toBeGreaterThanOrEqual(50); // silence kept the 25 s of pauses in the recording

      // Twilio retrying the callback changes nothing.
      expect((await recordingCallback(stack, cbPath, done[0]!.params)).statusCode).toBe(200);

      // The call record holds the recording's SID, URL and length, and no phone number.
      await stack.app.sb.recordFolds.idle();
      const list = await stack.app.inject({ method: 'GET', url: '/api/call-records', headers: bearer(SAM) });
      const record = (list.json() as { records: CallRecord[] }).records.find((r) => r.callSid === caller.sid)!;
      expect(record).toMatchObject({
        outcome: 'answered',
        agent: 'alice',
        recordingSid: rec.sid,
        recordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${stack.emu.accountSid}/Recordings/${rec.sid}`,
        recordingDurationSeconds: seconds,
      });
      expect(JSON.stringify(record)).not.toContain('15551000010');
      const csv = await stack.app.inject({ method: 'GET', url: '/api/call-records', headers: { ...bearer(SAM), accept: 'text/csv' } });
      expect(csv.body.split('\n')[0]).toContain('recordingUrl');

      // The agent was told each change, and who made it.
      await stack.until(alice.next('recording', (m) => m.status === 'ended'));
      expect(alice.messages.filter((m) => m.type === 'recording').map((m) => [m.status, m.by])).toEqual([
        ['in-progress', undefined],
        ['paused', 'agent'],
        ['in-progress', 'agent'],
        ['paused', 'supervisor'],
        ['in-progress', 'supervisor'],
        ['ended', undefined],
      ]);

      // Each fact once: one start, one completion, two pauses and two resumes (agent and supervisor).
      expect(events.map((e) => [e.type, 'by' in e ? e.by : ''])).toEqual([
        ['recording.started', ''],
        ['recording.paused', 'agent'],
        ['recording.resumed', 'agent'],
        ['recording.paused', 'supervisor'],
        ['recording.resumed', 'supervisor'],
        ['recording.completed', ''],
      ]);
      const m = await stack.metrics();
      expect(sample(m, 'switchboard_recordings_started_total', { queue: 'support' })).toBe(1);
      expect(sample(m, 'switchboard_recordings_total', { queue: 'support', outcome: 'completed' })).toBe(1);
      expect(sample(m, 'switchboard_recorded_seconds_total', { queue: 'support' })).toBe(seconds);
      expect(sample(m, 'switchboard_recording_pauses_total', { queue: 'support', by: 'agent' })).toBe(1);
      expect(sample(m, 'switchboard_recording_pauses_total', { queue: 'support', by: 'supervisor' })).toBe(1);
      expect(sample(m, 'switchboard_recording_resumes_total', { queue: 'support', by: 'agent' })).toBe(1);
      expect(sample(m, 'switchboard_recording_resumes_total', { queue: 'support', by: 'supervisor' })).toBe(1);

      // After the end, a pause is refused: the recording has ended.
      const late = await api(SAM, 'pause');
      expect(late.statusCode).toBe(404);
      expect(stack.emu.errors).toEqual([]);
    },
  );

  it(
    "a lost in-progress callback: the agent's pause finds the recording over REST, and it is counted once",
    { timeout: 60_000 },
    async () => {
      s = await makeStack({ center: await center(true) });
      const stack = s;
      stack.emu.faults.statusCallbacks.dropRecording = ['in-progress'];
      const events: DomainEvent[] = [];
      stack.app.sb.bus.onDomain((e) => {
        if (e.type.startsWith('recording.')) events.push(e);
      });
      const alice = await ready(stack, 'alice-demo-token', 'client:alice');
      const caller = stack.emu.placeCall({ from: '+15551000012', to: NUMBER, behaviour: supportCaller() });
      const offer = await stack.until(alice.next('offer', (m) => m.callSid === caller.sid));
      alice.send({ type: 'accept', offerId: offer.offerId });
      await stack.until(alice.next('call', (m) => m.status === 'connected' && m.callSid === caller.sid));
      await stack.emu.run(stack.clock.sleep(5_000));
      const conf = stack.emu.conference(`sb-${caller.sid}`)!;
      const rec = conf.recordings[0]!;
      expect(rec.status).toBe('in-progress');
      expect(await stack.app.sb.service.recordings.current(caller.sid)).toBeNull(); // the server never heard of it

      alice.send({ type: 'recording', action: 'pause', ref: 'p1' });
      await stack.reply(alice.next('ack', (m) => m.ref === 'p1'));
      expect(rec.status).toBe('paused');
      const recRest = stack.emu.log.rest.filter((e) => e.path.includes('/Recordings'));
      expect(recRest.map((e) => [e.method, e.path.split('/').slice(-3).join('/'), e.form])).toEqual([
        ['GET', `Conferences/${conf.sid}/Recordings.json`, {}],
        ['POST', `${conf.sid}/Recordings/${rec.sid}.json`, { Status: 'paused', PauseBehavior: 'silence' }],
      ]);
      expect(await stack.app.sb.service.recordings.current(caller.sid)).toEqual({
        sid: rec.sid,
        conferenceSid: conf.sid,
        queue: 'support',
        status: 'paused',
      });

      const completed = nextEvent(stack, (e) => e.type === 'recording.completed');
      alice.send({ type: 'hangup', callSid: caller.sid });
      await stack.until(completed);
      await stack.emu.run(caller.ended);
      expect(events.map((e) => e.type)).toEqual(['recording.started', 'recording.paused', 'recording.completed']);
      const m = await stack.metrics();
      expect(sample(m, 'switchboard_recordings_started_total', { queue: 'support' })).toBe(1);
      expect(sample(m, 'switchboard_recordings_total', { queue: 'support', outcome: 'completed' })).toBe(1);
    },
  );

  it('a queue that does not record: no consent prompt, no recording, pause refused naming why', { timeout: 60_000 }, async () => {
    s = await makeStack({ center: await center(false) });
    const stack = s;
    const alice = await ready(stack, 'alice-demo-token', 'client:alice');
    const caller = stack.emu.placeCall({ from: '+15551000011', to: NUMBER, behaviour: supportCaller() });
    const offer = await stack.until(alice.next('offer', (m) => m.callSid === caller.sid));
    alice.send({ type: 'accept', offerId: offer.offerId });
    await stack.until(alice.next('call', (m) => m.status === 'connected' && m.callSid === caller.sid));
    await stack.emu.run(stack.clock.sleep(5_000));

    expect(caller.heard).not.toContain(CONSENT);
    const answers = stack.emu.log.webhooks.filter((w) => w.callSid === caller.sid).map((w) => w.body ?? '');
    expect(answers.some((b) => b.includes('<Enqueue'))).toBe(true);
    expect(answers.join('')).not.toContain(CONSENT);
    const create = stack.emu.log.rest.find((e) => e.method === 'POST' && e.path.endsWith('/Participants.json'))!;
    expect(Object.keys(create.form).filter((k) => k.startsWith('ConferenceRecord'))).toEqual([]);
    expect(stack.emu.conference(`sb-${caller.sid}`)!.recordings).toEqual([]);

    alice.send({ type: 'recording', action: 'pause', ref: 'p1' });
    const refused = await stack.reply(alice.next('error', (m) => m.ref === 'p1'));
    expect(refused).toMatchObject({ code: 'recording_off', field: 'callSid' });
    const api = await stack.app.inject({
      method: 'POST',
      url: `/api/calls/${caller.sid}/recording`,
      headers: bearer(SAM),
      payload: { action: 'pause' },
    });
    expect(api.statusCode).toBe(409);
    expect(api.json()).toMatchObject({ error: 'recording_off', field: 'callSid' });
    expect(stack.emu.log.rest.filter((e) => e.path.includes('/Recordings'))).toEqual([]);

    alice.send({ type: 'hangup', callSid: caller.sid });
    await stack.until(alice.next('wrap_up', (m) => m.callSid === caller.sid));
    await stack.emu.run(caller.ended);
    const m = await stack.metrics();
    expect(sample(m, 'switchboard_recordings_started_total', { queue: 'support' }) ?? 0).toBe(0);
    expect(stack.emu.errors).toEqual([]);
  });
});
