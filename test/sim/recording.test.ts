/**
 * Conference recordings in the emulator, driven the way our server drives Twilio: the agent added over REST
 * asks for record-from-start with a recording status callback, the caller joins with `<Conference
 * record="record-from-start">`; pause / resume / read over REST with twilio-node; signed callbacks checked.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { OUR_NUMBER, PUBLIC_BASE, setup, twiml } from './helpers.js';

const ok = () => ({ status: 200, body: '', contentType: 'text/plain' });

describe('conference recordings (virtual time)', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('records from the start, pauses (skip) and resumes over REST, reports in-progress and completed, signed', async () => {
    const clock = new VirtualClock();
    const { emu, srv, client, close } = await setup(clock, {
      '/twilio/voice': () =>
        twiml((r) => {
          r.dial().conference(
            { record: 'record-from-start', recordingStatusCallback: '/twilio/rec-caller', endConferenceOnExit: true },
            'room-r',
          );
        }),
      '/twilio/rec-agent': ok,
      '/twilio/rec-caller': ok,
    });
    cleanup = close;
    emu.registerEndpoint('client:agent', { answer: true, answerDelayMs: 1000 });
    // The agent creates the conference (as the server does) and asks for the recording and its callback.
    const agentP = await client.conferences('room-r').participants.create({
      from: OUR_NUMBER,
      to: 'client:agent',
      conferenceRecord: 'record-from-start',
      conferenceRecordingStatusCallback: `${PUBLIC_BASE}/twilio/rec-agent`,
      conferenceRecordingStatusCallbackEvent: ['in-progress', 'completed'],
      endConferenceOnExit: true,
    });
    const create = emu.log.rest.find((e) => e.method === 'POST' && e.path.endsWith('/Participants.json'))!;
    expect(create.form).toMatchObject({
      ConferenceRecord: 'record-from-start',
      ConferenceRecordingStatusCallbackEvent: ['in-progress', 'completed'],
    });
    await clock.advance(3_000, () => emu.settle());
    const conf = emu.conference('room-r')!;
    expect(conf.recordings).toEqual([]); // nobody to talk to yet: no start, no recording
    const caller = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER });
    await clock.advance(3_000, () => emu.settle());
    expect(conf.status).toBe('in-progress');
    expect(conf.recordings).toHaveLength(1);
    const rec = conf.recordings[0]!;
    expect(rec.sid).toMatch(/^RE[0-9a-f]{32}$/);
    expect(rec.callSid).toBe(agentP.callSid); // the first to ask keeps the callback
    const started = srv.hitsTo('/twilio/rec-agent');
    expect(started.map((h) => h.params.RecordingStatus)).toEqual(['in-progress']);
    expect(started[0]!.signatureOk).toBe(true);
    expect(started[0]!.params).toMatchObject({
      ConferenceSid: conf.sid,
      RecordingSid: rec.sid,
      RecordingSource: 'Conference',
      CallSid: agentP.callSid,
    });
    expect(srv.hitsTo('/twilio/rec-caller')).toEqual([]);

    await clock.advance(10_000, () => emu.settle());
    const paused = await client.conferences(conf.sid).recordings('Twilio.CURRENT').update({ status: 'paused', pauseBehavior: 'skip' });
    expect(paused.status).toBe('paused');
    // Idempotent: pausing again changes nothing.
    expect((await client.conferences(conf.sid).recordings(rec.sid).update({ status: 'paused' })).status).toBe('paused');
    await clock.advance(20_000, () => emu.settle());
    const resumed = await client.conferences(conf.sid).recordings(rec.sid).update({ status: 'in-progress' });
    expect(resumed.status).toBe('in-progress');
    const updates = emu.log.rest.filter((e) => e.method === 'POST' && e.path.includes('/Recordings/'));
    expect(updates.map((e) => e.form)).toEqual([
      { Status: 'paused', PauseBehavior: 'skip' },
      { Status: 'paused' },
      { Status: 'in-progress' },
    ]);
    await clock.advance(15_000, () => emu.settle());
    caller.hangup('caller');
    await clock.advance(5_000, () => emu.settle());

    expect(rec.history).toEqual(['in-progress', 'paused', 'in-progress', 'stopped', 'processing', 'completed']);
    const done = srv.hitsTo('/twilio/rec-agent').filter((h) => h.params.RecordingStatus === 'completed');
    expect(done).toHaveLength(1);
    expect(done[0]!.signatureOk).toBe(true);
    // Recorded from the start to the hang-up, the 20 s pause skipped: about 1 s + 10 s + 15 s + 1 s.
    const secs = Number(done[0]!.params.RecordingDuration);
    expect(secs).toBe(Math.round((rec.stoppedAt! - rec.startedAt - 20_000) / 1000));
    expect(secs).toBeGreaterThanOrEqual(25);
    expect(secs).toBeLessThanOrEqual(29);
    expect(done[0]!.params.RecordingUrl).toBe(`https://api.twilio.com/2010-04-01/Accounts/${emu.accountSid}/Recordings/${rec.sid}`);

    // Reads: the account's list, the conference's, the call's, and one recording.
    const fetched = await client.recordings(rec.sid).fetch();
    expect(fetched).toMatchObject({
      sid: rec.sid,
      status: 'completed',
      conferenceSid: conf.sid,
      callSid: agentP.callSid,
      source: 'Conference',
      duration: String(secs),
    });
    expect((await client.conferences(conf.sid).recordings.list()).map((r) => r.sid)).toEqual([rec.sid]);
    expect((await client.calls(agentP.callSid).recordings.list()).map((r) => r.sid)).toEqual([rec.sid]);
    // A stopped recording cannot be paused any more: 400 naming the status.
    await expect(client.conferences(conf.sid).recordings(rec.sid).update({ status: 'paused' })).rejects.toMatchObject({
      status: 400,
      code: 21220,
    });
    await expect(
      client
        .conferences(conf.sid)
        .recordings(rec.sid)
        .update({ status: 'bogus' as 'paused' }),
    ).rejects.toMatchObject({ status: 400 });
    expect(emu.errors).toEqual([]);
  });

  it('silence keeps the paused time; a conference without a record request is not recorded; the TwiML request alone records', async () => {
    const clock = new VirtualClock();
    let record = false;
    const { emu, srv, client, close } = await setup(clock, {
      '/twilio/voice': () =>
        twiml((r) => {
          r.dial().conference(
            record
              ? {
                  record: 'record-from-start',
                  recordingStatusCallback: '/twilio/rec',
                  recordingStatusCallbackEvent: ['completed'],
                  endConferenceOnExit: true,
                }
              : { endConferenceOnExit: true },
            'room-s',
          );
        }),
      '/twilio/rec': ok,
    });
    cleanup = close;
    emu.registerEndpoint('client:agent', { answer: true, answerDelayMs: 1000 });
    for (const withRecord of [false, true]) {
      record = withRecord;
      const caller = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER });
      await clock.advance(2_000, () => emu.settle());
      await client.conferences('room-s').participants.create({ from: OUR_NUMBER, to: 'client:agent' });
      await clock.advance(5_000, () => emu.settle());
      const conf = emu.conference('room-s')!;
      expect(conf.status).toBe('in-progress');
      if (!withRecord) {
        expect(conf.recordings).toEqual([]);
        caller.hangup('caller');
        await clock.advance(3_000, () => emu.settle());
        continue;
      }
      const rec = conf.recordings[0]!;
      expect(rec.callSid).toBe(caller.sid);
      await client.conferences(conf.sid).recordings('Twilio.CURRENT').update({ status: 'paused' });
      await clock.advance(20_000, () => emu.settle());
      await client.conferences(conf.sid).recordings('Twilio.CURRENT').update({ status: 'in-progress' });
      await clock.advance(10_000, () => emu.settle());
      caller.hangup('caller');
      await clock.advance(3_000, () => emu.settle());
      const hits = srv.hitsTo('/twilio/rec');
      expect(hits.map((h) => h.params.RecordingStatus)).toEqual(['completed']);
      // Silence: the 20 s pause stays in the recording.
      expect(Number(hits[0]!.params.RecordingDuration)).toBe(Math.round((rec.stoppedAt! - rec.startedAt) / 1000));
      expect(Number(hits[0]!.params.RecordingDuration)).toBeGreaterThanOrEqual(30);
    }
    expect(emu.recordingRegistry.list()).toHaveLength(1);
    expect(emu.errors).toEqual([]);
  });
});
