/**
 * The Conference and Participant resources over REST.
 *
 * Rules: a conference is read, listed (filters FriendlyName, Status) and updated with Status=completed (end
 * it) or AnnounceUrl (https://www.twilio.com/docs/voice/api/conference-resource); a participant is created on
 * a conference SID or, to create the conference, its friendly name, with To and From required, Label, Muted,
 * Beep, StartConferenceOnEnter (default true), EndConferenceOnExit (default false), WaitUrl, Coaching,
 * CallSidToCoach, ConferenceStatusCallback (+ Method, Event, default "start end"), ConferenceRecord and
 * ConferenceRecordingStatusCallback (+ Method, Event; see recordings.ts), StatusCallback for the
 * participant's call and Timeout (5 to 600 s, default 60); read (filters Muted, Hold, Coaching), updated
 * (Hold, HoldUrl, Muted, Coaching, CallSidToCoach, EndConferenceOnExit, AnnounceUrl, ...) and removed
 * (https://www.twilio.com/docs/voice/api/conference-participant-resource; the parameter descriptions in
 * node_modules/twilio/lib/rest/api/v2010/account/conference/participant.d.ts).
 *
 * Decided here: removing a participant still being dialed cancels its call.
 */
import type { Call } from './call.js';
import { eventList, type Conference, type JoinOptions, type ParticipantChanges } from './conference.js';
import type { TwilioEmulator } from './emulator.js';
import { conferenceJson, participantJson } from './resources.js';
import { recordingRoutes } from './rest-recordings.js';
import { absUrl, bool, method, notFound, one, page, RestError, statusEvents, type Form, type Reply } from './rest-form.js';

/** `/Conferences…` below the account: `segs` are the path segments after it (Conferences, id, …). */
export function conferenceRoutes(emu: TwilioEmulator, verb: string, path: string, segs: string[], form: Form, query: Form): Reply {
  const [, id0, r1, id1] = segs;
  const n = segs.length;
  if (n === 1 && verb === 'GET') return listConferences(emu, path, query);
  if (!id0) throw notFound(path);
  if (r1 === 'Participants' && n === 3 && verb === 'POST') return createParticipant(emu, path, id0, form);
  const conf = emu.conferenceRegistry.get(id0);
  if (!conf) throw notFound(path);
  if (n === 2) {
    if (verb === 'GET') return { status: 200, body: conferenceJson(emu.accountSid, conf) };
    if (verb === 'POST') return updateConference(emu, conf, form);
  }
  if (r1 === 'Recordings' && n <= 4) return recordingRoutes(emu, verb, path, conf.recordings, id1, form, query);
  if (r1 !== 'Participants') throw notFound(path);
  if (n === 3 && verb === 'GET') {
    let ps = [...conf.participants.values()];
    const f = (k: string) => bool(query[k]);
    if (f('Muted') !== undefined) ps = ps.filter((p) => p.muted === f('Muted'));
    if (f('Hold') !== undefined) ps = ps.filter((p) => p.hold === f('Hold'));
    if (f('Coaching') !== undefined) ps = ps.filter((p) => p.coaching === f('Coaching'));
    return page(
      path,
      query,
      'participants',
      ps.map((p) => participantJson(emu.accountSid, p)),
    );
  }
  const p = id1 ? conf.find(id1) : undefined;
  if (n === 4 && p) {
    if (verb === 'GET') return { status: 200, body: participantJson(emu.accountSid, p) };
    if (verb === 'POST') {
      emu.conferenceRegistry.update(p, participantChanges(form));
      return { status: 200, body: participantJson(emu.accountSid, p) };
    }
    if (verb === 'DELETE') {
      if (p.status === 'connected') emu.conferenceRegistry.leave(p, 'kicked');
      else {
        emu.conferenceRegistry.dropPending(p);
        p.call.hangup('server', 'canceled');
      }
      return { status: 204 };
    }
  }
  throw notFound(path);
}

function listConferences(emu: TwilioEmulator, path: string, query: Form): Reply {
  let cs = emu.conferenceRegistry.list();
  const name = one(query.FriendlyName);
  const st = one(query.Status);
  if (name !== undefined) cs = cs.filter((c) => c.friendlyName === name);
  if (st !== undefined) cs = cs.filter((c) => c.status === st);
  cs.reverse();
  return page(
    path,
    query,
    'conferences',
    cs.map((c) => conferenceJson(emu.accountSid, c)),
  );
}

function updateConference(emu: TwilioEmulator, conf: Conference, form: Form): Reply {
  const st = one(form.Status);
  const announce = absUrl(form, 'AnnounceUrl');
  if (st === 'completed') emu.conferenceRegistry.end(conf, 'conference-ended-via-api');
  else if (st !== undefined) throw new RestError(400, 21218, `Invalid Status: ${st}`);
  if (announce && conf.status !== 'completed') void emu.conferenceRegistry.announce(conf, announce, method(form.AnnounceMethod, 'POST'));
  return { status: 200, body: conferenceJson(emu.accountSid, conf) };
}

function participantChanges(form: Form): ParticipantChanges {
  return {
    hold: bool(form.Hold),
    holdUrl: absUrl(form, 'HoldUrl'),
    holdMethod: form.HoldMethod !== undefined ? method(form.HoldMethod, 'GET') : undefined,
    muted: bool(form.Muted),
    coaching: bool(form.Coaching),
    callSidToCoach: one(form.CallSidToCoach),
    endConferenceOnExit: bool(form.EndConferenceOnExit),
    beepOnExit: bool(form.BeepOnExit),
    waitUrl: absUrl(form, 'WaitUrl'),
    waitMethod: form.WaitMethod !== undefined ? method(form.WaitMethod, 'POST') : undefined,
    announceUrl: absUrl(form, 'AnnounceUrl'),
    announceMethod: form.AnnounceMethod !== undefined ? method(form.AnnounceMethod, 'POST') : undefined,
  };
}

function joinOptions(form: Form): JoinOptions {
  const beep = one(form.Beep);
  const csc = absUrl(form, 'ConferenceStatusCallback');
  const crsc = absUrl(form, 'ConferenceRecordingStatusCallback');
  const waitUrl = one(form.WaitUrl);
  return {
    label: one(form.Label),
    muted: bool(form.Muted) ?? false,
    coaching: bool(form.Coaching) ?? false,
    callSidToCoach: one(form.CallSidToCoach),
    startConferenceOnEnter: bool(form.StartConferenceOnEnter) ?? true,
    endConferenceOnExit: bool(form.EndConferenceOnExit) ?? false,
    beep: beep === 'false' || beep === 'onEnter' || beep === 'onExit' ? beep : 'true',
    waitUrl: waitUrl === '' ? '' : absUrl(form, 'WaitUrl'),
    waitMethod: method(form.WaitMethod, 'POST'),
    statusCallback: csc
      ? {
          url: csc,
          method: method(form.ConferenceStatusCallbackMethod, 'POST'),
          events: eventList(form.ConferenceStatusCallbackEvent, ['start', 'end']),
        }
      : undefined,
    source: 'rest',
    recordFromStart: one(form.ConferenceRecord) === 'record-from-start',
    recordingCallback: crsc
      ? {
          url: crsc,
          method: method(form.ConferenceRecordingStatusCallbackMethod, 'POST'),
          events: eventList(form.ConferenceRecordingStatusCallbackEvent, ['completed']),
        }
      : undefined,
  };
}

function createParticipant(emu: TwilioEmulator, path: string, sidOrName: string, form: Form): Reply {
  const reg = emu.conferenceRegistry;
  let conf = reg.get(sidOrName) ?? reg.liveByName(sidOrName);
  if (!conf) {
    if (/^CF[0-9a-fA-F]{32}$/.test(sidOrName)) throw notFound(path);
    conf = reg.getOrCreate(sidOrName);
  }
  if (conf.status === 'completed') throw notFound(path);
  const to = one(form.To);
  const from = one(form.From);
  if (!to) throw new RestError(400, 21201, "Required parameter 'To' missing.");
  if (!from) throw new RestError(400, 21213, "Required parameter 'From' missing.");
  const opts = joinOptions(form);
  const sc = absUrl(form, 'StatusCallback');
  const timeoutS = Math.max(5, Math.min(600, Number(one(form.Timeout) ?? 60) || 60));
  const target = conf;
  const holder: { call?: Call } = {};
  const call = emu.createOutboundCall({
    to,
    from,
    timeoutS,
    statusCallback: sc
      ? { url: sc, method: method(form.StatusCallbackMethod, 'POST'), events: statusEvents(form.StatusCallbackEvent) }
      : undefined,
    target: {
      kind: 'internal',
      name: 'conference-participant',
      run: async (scope) => {
        const c = holder.call;
        if (!c) return { kind: 'end', by: 'twilio' };
        const room = target.status === 'completed' ? reg.getOrCreate(target.friendlyName) : target;
        const reason = await c.inConference(room, opts, scope);
        return { kind: 'end', by: reason === 'kicked' ? 'server' : 'twilio' };
      },
    },
  });
  holder.call = call;
  const p = reg.addPending(conf, call, opts);
  void call.ringOutcome.promise.then((o) => {
    if (o !== 'answered') reg.dropPending(p);
  });
  return { status: 201, body: participantJson(emu.accountSid, p) };
}
