/**
 * `<Dial><Conference>` and REST participants on a call: join the named conference with the noun's options
 * (https://www.twilio.com/docs/voice/twiml/conference: muted, beep, startConferenceOnEnter,
 * endConferenceOnExit, waitUrl, maxParticipants default 250, coach, statusCallback with its events,
 * participantLabel; record and recordingStatusCallback, see recordings.ts) and stay until the conference lets go or the call stops running this TwiML. The Dial
 * action then gets DialCallStatus=answered ("when calling a conference", https://www.twilio.com/docs/voice/
 * twiml/dial, DialCallStatus values) and DialCallDuration. Conference behaviour itself is in conference.ts.
 *
 * Decided here: a conference already at maxParticipants answers DialCallStatus=failed at once.
 */
import type { Call } from './call.js';
import type { Conference, JoinOptions, LeaveReason } from './conference.js';
import type { DialOutcome, NotifyAction } from './dial.js';
import { Aborted, race, type Scope } from './scope.js';
import type { ExecCtx } from './target.js';
import type { ConferenceNoun } from './twiml.js';

export async function dialConference(
  call: Call,
  noun: ConferenceNoun,
  ctx: ExecCtx,
  scope: Scope,
  notifyAction: NotifyAction,
): Promise<DialOutcome> {
  const conf = call.core.conferenceRegistry.getOrCreate(noun.name);
  if (conf.connected().length >= noun.maxParticipants) {
    return { params: { DialCallStatus: 'failed' }, record: { kind: 'conference', status: 'failed', bridged: false } };
  }
  const opts: JoinOptions = {
    label: noun.participantLabel,
    muted: noun.muted,
    coaching: noun.coach !== undefined,
    callSidToCoach: noun.coach,
    startConferenceOnEnter: noun.startConferenceOnEnter,
    endConferenceOnExit: noun.endConferenceOnExit,
    beep: noun.beep,
    waitUrl: noun.waitUrl === undefined || noun.waitUrl === '' ? noun.waitUrl : call.resolveUrl(noun.waitUrl, ctx),
    waitMethod: noun.waitMethod,
    statusCallback: noun.statusCallback
      ? { url: call.resolveUrl(noun.statusCallback, ctx), method: noun.statusCallbackMethod, events: noun.statusCallbackEvents }
      : undefined,
    source: 'twiml',
    recordFromStart: noun.recordFromStart,
    recordingCallback: noun.recordingStatusCallback
      ? {
          url: call.resolveUrl(noun.recordingStatusCallback, ctx),
          method: noun.recordingStatusCallbackMethod,
          events: noun.recordingStatusCallbackEvents,
        }
      : undefined,
  };
  const joinedAt = call.clock.now();
  const duration = (): string => String(Math.round((call.clock.now() - joinedAt) / 1000));
  try {
    await joinConference(call, conf, opts, scope);
  } catch (e) {
    const d = duration();
    notifyAction(
      { DialCallStatus: 'answered', DialCallDuration: d },
      { kind: 'conference', status: 'answered', durationS: Number(d), bridged: true },
    );
    throw e;
  }
  const d = duration();
  return {
    params: { DialCallStatus: 'answered', DialCallDuration: d },
    record: { kind: 'conference', status: 'answered', durationS: Number(d), bridged: true },
  };
}

/** Be a participant of `conf` until the conference lets go (ended, kicked) or this call is interrupted. */
export async function joinConference(call: Call, conf: Conference, opts: JoinOptions, scope: Scope): Promise<LeaveReason> {
  const pScope = scope.child();
  const confs = call.core.conferenceRegistry;
  const p = confs.join(conf, call, opts, pScope);
  call.conference = conf;
  call.activity = 'conference';
  try {
    return await race(p.left.promise, pScope);
  } catch (e) {
    if (e instanceof Aborted) confs.leave(p, call.root.aborted ? 'hangup' : 'redirected');
    throw e;
  } finally {
    pScope.abort({ type: 'stop', why: 'left the conference' });
    call.conference = undefined;
    if (call.live) call.activity = 'twiml';
  }
}
