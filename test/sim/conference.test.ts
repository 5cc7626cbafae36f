import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { OUR_NUMBER, PUBLIC_BASE, setup, twiml } from './helpers.js';

const confDoc = () =>
  twiml((r) => {
    r.dial({ action: '/twilio/conf-done' }).conference(
      {
        startConferenceOnEnter: false,
        endConferenceOnExit: false,
        waitUrl: '/twilio/conf-wait',
        statusCallback: '/twilio/conf-status',
        statusCallbackEvent: ['start', 'end', 'join', 'leave', 'hold', 'mute', 'modify'],
      },
      'room-1',
    );
  });

describe('conferences (virtual time)', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('two participants, hold via REST, a coach heard only by the agent, endConferenceOnExit', async () => {
    const clock = new VirtualClock();
    const { emu, srv, client, close } = await setup(clock, {
      '/twilio/voice': confDoc,
      '/twilio/conf-wait': () =>
        twiml((r) => {
          r.say('Please wait for an agent.');
          r.play({ loop: 0 }, 'https://cdn.example.com/wait.mp3');
        }),
      '/twilio/hold': () => twiml((r) => r.say('You are on hold.')),
      '/twilio/conf-status': () => ({ status: 200, body: '', contentType: 'text/plain' }),
      '/twilio/conf-done': (p) =>
        twiml((r) => {
          r.say(`Conference over: ${p.DialCallStatus}`);
          r.hangup();
        }),
    });
    cleanup = close;
    emu.registerEndpoint('client:agent', { answer: true, answerDelayMs: 2000, talkMs: 300_000 });
    emu.registerEndpoint('client:sup', { answer: true, answerDelayMs: 1000 });
    const caller = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER });
    await clock.advance(30_000, () => emu.settle());
    const conf = emu.conference('room-1')!;
    expect(conf.sid).toMatch(/^CF[0-9a-f]{32}$/);
    expect(conf.status).toBe('init');
    expect(caller.activity).toBe('conference');
    expect(caller.heard).toEqual(['Please wait for an agent.']);

    const agentP = await client.conferences('room-1').participants.create({
      from: OUR_NUMBER,
      to: 'client:agent',
      label: 'agent',
      startConferenceOnEnter: true,
      endConferenceOnExit: true,
    });
    expect(agentP.conferenceSid).toBe(conf.sid);
    expect(agentP.label).toBe('agent');
    const agentSid = agentP.callSid;
    await clock.advance(5_000, () => emu.settle());
    expect(conf.status).toBe('in-progress');
    expect(conf.canHear(caller.sid, agentSid)).toBe(true);
    expect(conf.canHear(agentSid, caller.sid)).toBe(true);
    const live = await client.conferences.list({ friendlyName: 'room-1', status: 'in-progress' });
    expect(live.map((c) => c.sid)).toEqual([conf.sid]);

    const held = await client
      .conferences(conf.sid)
      .participants(caller.sid)
      .update({ hold: true, holdUrl: `${PUBLIC_BASE}/twilio/hold` });
    expect(held.hold).toBe(true);
    await clock.advance(20_000, () => emu.settle());
    expect(srv.hitsTo('/twilio/hold')[0]!.method).toBe('GET');
    expect(caller.heard.at(-1)).toBe('You are on hold.');
    expect(conf.canHear(agentSid, caller.sid)).toBe(false);
    expect(conf.canHear(caller.sid, agentSid)).toBe(false);
    const byLabel = await client.conferences(conf.sid).participants('agent').fetch();
    expect(byLabel.callSid).toBe(agentSid);
    await client.conferences(conf.sid).participants(caller.sid).update({ hold: false });
    expect(conf.canHear(agentSid, caller.sid)).toBe(true);

    const supP = await client.conferences(conf.sid).participants.create({
      from: OUR_NUMBER,
      to: 'client:sup',
      label: 'sup',
      coaching: true,
      callSidToCoach: agentSid,
    });
    await clock.advance(5_000, () => emu.settle());
    const sup = supP.callSid;
    expect(conf.canHear(agentSid, sup)).toBe(true);
    expect(conf.canHear(caller.sid, sup)).toBe(false);
    expect(conf.canHear(sup, caller.sid)).toBe(true);
    expect(conf.audience(sup)).toEqual([agentSid]);
    const parts = await client.conferences(conf.sid).participants.list();
    expect(parts.map((p) => p.label ?? p.callSid).sort()).toEqual([caller.sid, 'agent', 'sup'].sort());

    await client.conferences(conf.sid).participants(caller.sid).update({ muted: true });
    expect(conf.canHear(agentSid, caller.sid)).toBe(false);
    await client.conferences(conf.sid).participants(caller.sid).update({ muted: false });

    // The agent's talk time (300 s from the start) ends: endConferenceOnExit ends it for everyone.
    const s = await emu.run(caller.ended);
    expect(conf.status).toBe('completed');
    expect(conf.reasonConferenceEnded).toBe('participant-with-end-conference-on-exit-left');
    expect(conf.callSidEndingConference).toBe(agentSid);
    expect(s.heard.at(-1)).toBe('Conference over: answered');
    const done = srv.hitsTo('/twilio/conf-done')[0]!;
    expect(done.params.DialCallStatus).toBe('answered');
    expect(Number(done.params.DialCallDuration)).toBeGreaterThan(300);
    const supCall = emu.calls.get(sup)!;
    expect((await emu.run(supCall.ended)).endedBy).toBe('twilio');

    const events = srv.hitsTo('/twilio/conf-status').map((h) => h.params);
    expect(events.map((e) => e.StatusCallbackEvent)).toEqual([
      'participant-join',
      'participant-join',
      'conference-start',
      'participant-hold',
      'participant-unhold',
      'participant-join',
      'participant-mute',
      'participant-unmute',
      'participant-leave',
      'participant-leave',
      'participant-leave',
      'conference-end',
    ]);
    expect(events.map((e) => Number(e.SequenceNumber))).toEqual(events.map((_, i) => i));
    expect(events.every((e) => e.ConferenceSid === conf.sid && e.FriendlyName === 'room-1' && e.Timestamp)).toBe(true);
    expect(events[0]).toMatchObject({ CallSid: caller.sid, Hold: 'false', Muted: 'false', Coaching: 'false' });
    expect(events[3]).toMatchObject({ CallSid: caller.sid, Hold: 'true' });
    expect(events[5]).toMatchObject({ CallSid: sup, Coaching: 'true', CallSidToCoach: agentSid });
    expect(events[11]).toMatchObject({
      ReasonConferenceEnded: 'participant-with-end-conference-on-exit-left',
      CallSidEndingConference: agentSid,
    });
    expect(srv.hits.every((h) => h.signatureOk)).toBe(true);
    const add = emu.log.rest.find((r) => r.method === 'POST' && r.path.endsWith('/Conferences/room-1/Participants.json'))!;
    expect(add.form).toMatchObject({
      From: OUR_NUMBER,
      To: 'client:agent',
      Label: 'agent',
      StartConferenceOnEnter: 'true',
      EndConferenceOnExit: 'true',
    });
  });

  it('removing participants over REST: a TwiML participant continues with its Dial action, a REST one hangs up', async () => {
    const clock = new VirtualClock();
    const { emu, srv, client, close } = await setup(clock, {
      '/twilio/voice': () =>
        twiml((r) => {
          r.dial().conference({ waitUrl: '' }, 'room-2');
          r.say('After the conference.');
        }),
    });
    cleanup = close;
    emu.registerEndpoint('client:agent', { answer: true, answerDelayMs: 1000 });
    const caller = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER });
    await clock.advance(2000, () => emu.settle());
    const conf = emu.conference('room-2')!;
    const p = await client.conferences(conf.sid).participants.create({ from: OUR_NUMBER, to: 'client:agent' });
    await clock.advance(3000, () => emu.settle());
    expect(conf.status).toBe('in-progress');
    await client.conferences(conf.sid).participants(caller.sid).remove();
    const s = await emu.run(caller.ended);
    expect(s.heard).toEqual(['After the conference.']);
    expect(s.dialResults[0]).toMatchObject({ kind: 'conference', status: 'answered' });
    // The agent is alone; the conference goes on until it is removed too.
    expect(conf.status).toBe('in-progress');
    await client.conferences(conf.sid).participants(p.callSid).remove();
    const sa = await emu.run(emu.calls.get(p.callSid)!.ended);
    expect(sa.endedBy).toBe('server');
    expect(conf.status).toBe('completed');
    expect(conf.reasonConferenceEnded).toBe('last-participant-kicked');
    expect(srv.hits.every((h) => h.signatureOk)).toBe(true);
    const del = emu.log.rest.filter((r) => r.method === 'DELETE');
    expect(del.map((r) => r.status)).toEqual([204, 204]);
  });

  it('ends a conference over REST and reports an unanswered participant', async () => {
    const clock = new VirtualClock();
    const { emu, client, close } = await setup(clock, {
      '/twilio/voice': () => twiml((r) => r.dial().conference('room-3')),
    });
    cleanup = close;
    emu.registerEndpoint('client:away', { answer: false });
    const caller = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER });
    await clock.advance(2000, () => emu.settle());
    const conf = emu.conference('room-3')!;
    const p = await client.conferences(conf.sid).participants.create({ from: OUR_NUMBER, to: 'client:away', timeout: 10 });
    const leg = emu.calls.get(p.callSid)!;
    expect((await emu.run(leg.ended)).status).toBe('no-answer');
    expect(conf.participants.size).toBe(1);
    const updated = await client.conferences(conf.sid).update({ status: 'completed' });
    expect(updated.status).toBe('completed');
    const s = await emu.run(caller.ended);
    expect(s.endedBy).toBe('server');
    expect(conf.reasonConferenceEnded).toBe('conference-ended-via-api');
  });

  it('AnnounceUrl plays to one participant or to the whole conference', async () => {
    const clock = new VirtualClock();
    const { emu, srv, client, close } = await setup(clock, {
      '/twilio/voice': () => twiml((r) => r.dial().conference({ waitUrl: '' }, 'room-4')),
      '/twilio/announce-one': () => twiml((r) => r.say('Only for you.')),
      '/twilio/announce-all': () => twiml((r) => r.say('This call may be recorded.')),
    });
    cleanup = close;
    const a = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER, behaviour: { hangupAfterMs: 60_000 } });
    const b = emu.placeCall({ from: '+15551230002', to: OUR_NUMBER, behaviour: { hangupAfterMs: 60_000 } });
    await clock.advance(5000, () => emu.settle());
    const conf = emu.conference('room-4')!;
    expect(conf.status).toBe('in-progress');
    await client
      .conferences(conf.sid)
      .participants(a.sid)
      .update({ announceUrl: `${PUBLIC_BASE}/twilio/announce-one` });
    await client.conferences(conf.sid).update({ announceUrl: `${PUBLIC_BASE}/twilio/announce-all` });
    await emu.settle();
    expect(a.heard).toEqual(['Only for you.', 'This call may be recorded.']);
    expect(b.heard).toEqual(['This call may be recorded.']);
    expect(srv.hitsTo('/twilio/announce-one')[0]!.params).toMatchObject({ ConferenceSid: conf.sid, CallSid: a.sid });
    expect(srv.hitsTo('/twilio/announce-all')).toHaveLength(1);
    await emu.run(Promise.all([a.ended, b.ended]));
    expect(conf.eventNames().filter((e) => e === 'announcement-end')).toHaveLength(2);
    expect(conf.reasonConferenceEnded).toBe('last-participant-left');
  });

  // Twilio: "Only the value set by the first participant to join the conference is used" (Participant
  // create, conferenceStatusCallback); the emulator keeps the creating participant's callback only.
  const roomDoc = (room: string) => () =>
    twiml((r) => {
      r.dial().conference({ statusCallback: '/twilio/caller-conf-status', statusCallbackEvent: ['start', 'end', 'join', 'leave'] }, room);
    });
  const ok = () => ({ status: 200, body: '', contentType: 'text/plain' });

  it('keeps the conference status callback of the participant that created the conference', async () => {
    const clock = new VirtualClock();
    const { emu, srv, client, close } = await setup(clock, {
      '/twilio/voice': roomDoc('room-5'),
      '/twilio/caller-conf-status': ok,
      '/twilio/agent-conf-status': ok,
    });
    cleanup = close;
    emu.registerEndpoint('client:agent', { answer: true, answerDelayMs: 1000, talkMs: 20_000 });
    const agentP = await client.conferences('room-5').participants.create({
      from: OUR_NUMBER,
      to: 'client:agent',
      endConferenceOnExit: true,
      conferenceStatusCallback: `${PUBLIC_BASE}/twilio/agent-conf-status`,
      conferenceStatusCallbackEvent: ['start', 'end', 'join'],
    });
    const caller = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER });
    await emu.run(caller.ended);
    const conf = emu.conference('room-5')!;
    expect(agentP.conferenceSid).toBe(conf.sid);
    expect(srv.hitsTo('/twilio/caller-conf-status')).toEqual([]);
    const got = srv.hitsTo('/twilio/agent-conf-status').map((h) => h.params.StatusCallbackEvent);
    expect(got).toEqual(['participant-join', 'participant-join', 'conference-start', 'conference-end']);
  });

  it('sends no conference status callback when the creating participant asked for none', async () => {
    const clock = new VirtualClock();
    const { emu, srv, client, close } = await setup(clock, {
      '/twilio/voice': roomDoc('room-6'),
      '/twilio/caller-conf-status': ok,
    });
    cleanup = close;
    emu.registerEndpoint('client:agent', { answer: true, answerDelayMs: 1000, talkMs: 20_000 });
    await client.conferences('room-6').participants.create({ from: OUR_NUMBER, to: 'client:agent', endConferenceOnExit: true });
    const caller = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER });
    await emu.run(caller.ended);
    const conf = emu.conference('room-6')!;
    expect(conf.eventNames()).toEqual([
      'participant-join',
      'participant-join',
      'conference-start',
      'participant-leave',
      'participant-leave',
      'conference-end',
    ]);
    expect(conf.events.every((e) => !e.sent)).toBe(true);
    expect(srv.hitsTo('/twilio/caller-conf-status')).toEqual([]);
  });

  it('faults.statusCallbacks.dropConference delivers no conference status callback at all', async () => {
    const clock = new VirtualClock();
    const { emu, srv, close } = await setup(clock, {
      '/twilio/voice': roomDoc('room-7'),
      '/twilio/caller-conf-status': ok,
    });
    cleanup = close;
    emu.faults.statusCallbacks.dropConference = true;
    const a = emu.placeCall({ from: '+15551230001', to: OUR_NUMBER, behaviour: { hangupAfterMs: 30_000 } });
    const b = emu.placeCall({ from: '+15551230002', to: OUR_NUMBER, behaviour: { hangupAfterMs: 40_000 } });
    await emu.run(Promise.all([a.ended, b.ended]));
    const conf = emu.conference('room-7')!;
    // The caller created the conference and asked for the callback: the events happen and would be sent.
    expect(conf.events.filter((e) => e.sent).map((e) => e.event)).toContain('conference-start');
    expect(srv.hitsTo('/twilio/caller-conf-status')).toEqual([]);
  });
});
