/**
 * Conference status callbacks: each event is recorded on the conference (`conference.events`) and sent to the
 * conference's status callback when it subscribes to it. Events and their filter names (start, end, join,
 * leave, mute, hold, modify, announcement), and the parameters (AccountSid, ConferenceSid,
 * FriendlyName, StatusCallbackEvent, Timestamp, SequenceNumber, and for a participant CallSid, Muted, Hold,
 * Coaching, EndConferenceOnExit, StartConferenceOnEnter, CallSidToCoach, ParticipantLabel; on
 * conference-end CallSidEndingConference and ReasonConferenceEnded):
 * https://www.twilio.com/docs/voice/twiml/conference (attribute statusCallbackEvent) and
 * https://www.twilio.com/docs/voice/api/conference-resource (status callback parameters).
 */
import type { Conference, Participant } from './conference.js';
import { rfc2822, type Core } from './core.js';

const EVENT_FILTER: Record<string, string> = {
  'conference-start': 'start',
  'conference-end': 'end',
  'participant-join': 'join',
  'participant-leave': 'leave',
  'participant-mute': 'mute',
  'participant-unmute': 'mute',
  'participant-hold': 'hold',
  'participant-unhold': 'hold',
  'participant-modify': 'modify',
  'announcement-end': 'announcement',
};

export function emitConferenceEvent(core: Core, conf: Conference, event: string, p?: Participant): void {
  const now = core.clock.now();
  const seq = conf.seq++;
  const cb = conf.callback;
  const filter = EVENT_FILTER[event];
  const sent = !!cb && filter !== undefined && cb.events.includes(filter);
  conf.events.push({ event, at: now, callSid: p?.callSid, sequenceNumber: seq, sent });
  if (!sent || !cb) return;
  const params: Record<string, string> = {
    AccountSid: core.accountSid,
    ConferenceSid: conf.sid,
    FriendlyName: conf.friendlyName,
    StatusCallbackEvent: event,
    Timestamp: rfc2822(now),
    SequenceNumber: String(seq),
  };
  if (p) {
    params.CallSid = p.callSid;
    params.Muted = String(p.muted);
    params.Hold = String(p.hold);
    params.Coaching = String(p.coaching);
    params.EndConferenceOnExit = String(p.endConferenceOnExit);
    params.StartConferenceOnEnter = String(p.startConferenceOnEnter);
    if (p.callSidToCoach) params.CallSidToCoach = p.callSidToCoach;
    if (p.label) params.ParticipantLabel = p.label;
  }
  if (event === 'conference-end') {
    if (conf.callSidEndingConference) params.CallSidEndingConference = conf.callSidEndingConference;
    if (conf.reasonConferenceEnded) params.ReasonConferenceEnded = conf.reasonConferenceEnded;
  }
  const track = p ? (x: Promise<unknown>) => p.call.track(x) : () => {};
  core.sendStatusCallback({ kind: 'conference-status', url: cb.url, method: cb.method, params, callSid: p?.callSid }, track);
}

/** Parse `StatusCallbackEvent`-style values: repeated fields and/or space-separated lists. */
export function eventList(v: string | string[] | undefined, dflt: string[]): string[] {
  if (v === undefined) return dflt;
  const parts = (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(/[\s,]+/)).filter(Boolean);
  return parts.length ? parts : dflt;
}
