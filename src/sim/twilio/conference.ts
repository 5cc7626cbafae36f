/**
 * Conferences: one live conference per friendly name while it has participants
 * (https://www.twilio.com/docs/voice/twiml/conference: startConferenceOnEnter, endConferenceOnExit, waitUrl,
 * muted, coach; https://www.twilio.com/docs/voice/api/conference-resource and
 * https://www.twilio.com/docs/voice/api/conference-participant-resource: hold, HoldUrl, removal, Status=completed).
 * Status callbacks are in conference-events.ts, announcements in announce.ts.
 *
 * Decisions where Twilio documents nothing precise (tested in test/sim):
 * - The conference starts when at least two participants are connected and one of them has
 *   startConferenceOnEnter=true. Until then everyone hears the waitUrl (default: hold music, not fetched).
 *   A conference waitUrl / HoldUrl document runs once (use `loop="0"` or a Redirect to repeat it).
 * - It ends when a participant with endConferenceOnExit leaves (hang-up, redirect or REST removal), when the
 *   last participant leaves, or on REST `Status=completed`. Remaining participants get participant-leave
 *   events; a participant that joined with TwiML continues after its `<Dial>` (its action is requested with
 *   DialCallStatus=answered, as https://www.twilio.com/docs/voice/twiml/dial lists for a conference); one added over REST hangs up. Participants still being
 *   dialed are canceled. conference-end is sent only if conference-start was.
 * - Event order on a join that starts the conference: participant-join, then conference-start.
 * - The conference status callback is the one given by the participant that creates the conference (the first
 *   added: over REST `ConferenceStatusCallback`, or with TwiML `<Conference statusCallback>`); what later
 *   participants give is ignored, even when the first gave none. Twilio's Participant create
 *   (node_modules/twilio/lib/rest/api/v2010/account/conference/participant.d.ts, conferenceStatusCallback;
 *   https://www.twilio.com/docs/voice/api/conference-participant-resource): "Only the value set by the first
 *   participant to join the conference is used. Subsequent `conference_status_callback` values are ignored."
 *   Its events default to "start end". SequenceNumber counts from 0 per conference.
 * - Audio model for assertions: `canHear(listener, speaker)`. Nobody hears anyone before the conference
 *   starts; a held participant hears only hold music and is heard by nobody; a muted participant is heard by
 *   nobody; a coaching participant is heard only by the call it coaches (and hears everyone).
 */
import type { Call } from './call.js';
import { announce } from './announce.js';
import { emitConferenceEvent } from './conference-events.js';
import type { Core } from './core.js';
import type { EmuRecording, RecordingCallback, RecordingRequest } from './recordings.js';
import { deferred, type Deferred, type Scope } from './scope.js';
import type { HttpMethod } from './types.js';

export type LeaveReason = 'conference-ended' | 'kicked' | 'hangup' | 'redirected';
export type ParticipantStatus = 'queued' | 'connecting' | 'ringing' | 'connected' | 'complete' | 'failed';

export interface ConferenceCallback {
  url: string;
  method: HttpMethod;
  events: string[];
}

export interface JoinOptions {
  label?: string;
  muted: boolean;
  coaching: boolean;
  callSidToCoach?: string;
  startConferenceOnEnter: boolean;
  endConferenceOnExit: boolean;
  beep: 'true' | 'false' | 'onEnter' | 'onExit';
  /** undefined = default hold music; '' = silence; else an absolute URL. */
  waitUrl?: string;
  waitMethod: HttpMethod;
  statusCallback?: ConferenceCallback;
  source: 'twiml' | 'rest';
  /** Record the conference from its start (recordings.ts), reporting to `recordingCallback`. */
  recordFromStart?: boolean;
  recordingCallback?: RecordingCallback;
}

export class Participant {
  status: ParticipantStatus = 'queued';
  label?: string;
  muted: boolean;
  hold = false;
  coaching: boolean;
  callSidToCoach?: string;
  startConferenceOnEnter: boolean;
  endConferenceOnExit: boolean;
  beep: JoinOptions['beep'];
  waitUrl?: string;
  waitMethod: HttpMethod;
  /** undefined = default hold music. */
  holdUrl?: string;
  holdMethod: HttpMethod = 'GET';
  readonly source: 'twiml' | 'rest';
  readonly dateCreated: number;
  dateUpdated: number;
  joinedAt?: number;
  leftAt?: number;
  readonly left: Deferred<LeaveReason> = deferred<LeaveReason>();
  /** What the participant currently hears. */
  audio: 'none' | 'wait' | 'hold' | 'live' = 'none';
  scope?: Scope;
  audioScope?: Scope;
  talkCancel?: () => void;

  constructor(
    readonly call: Call,
    readonly conference: Conference,
    opts: JoinOptions,
    now: number,
  ) {
    this.label = opts.label;
    this.muted = opts.muted;
    this.coaching = opts.coaching;
    this.callSidToCoach = opts.callSidToCoach;
    this.startConferenceOnEnter = opts.startConferenceOnEnter;
    this.endConferenceOnExit = opts.endConferenceOnExit;
    this.beep = opts.beep;
    this.waitUrl = opts.waitUrl;
    this.waitMethod = opts.waitMethod;
    this.source = opts.source;
    this.dateCreated = now;
    this.dateUpdated = now;
  }

  get callSid(): string {
    return this.call.sid;
  }
}

export interface ConferenceEvent {
  event: string;
  at: number;
  callSid?: string;
  sequenceNumber: number;
  /** Whether a status callback was sent for it (the callback subscribes to it). */
  sent: boolean;
}

export class Conference {
  status: 'init' | 'in-progress' | 'completed' = 'init';
  readonly participants = new Map<string, Participant>();
  callback?: ConferenceCallback;
  /** The first participant has been added: the status callback (or its absence) is settled. */
  callbackSettled = false;
  startedAt?: number;
  endedAt?: number;
  updatedAt: number;
  callSidEndingConference?: string;
  reasonConferenceEnded?: string;
  readonly events: ConferenceEvent[] = [];
  /** The first participant's request to record from the start (recordings.ts). */
  recordingRequest?: RecordingRequest;
  /** Recordings of this conference. */
  readonly recordings: EmuRecording[] = [];
  /** Announcement texts played to the whole conference. */
  readonly announcements: string[] = [];
  seq = 0;

  constructor(
    readonly sid: string,
    readonly friendlyName: string,
    readonly createdAt: number,
  ) {
    this.updatedAt = createdAt;
  }

  connected(): Participant[] {
    return [...this.participants.values()].filter((p) => p.status === 'connected');
  }

  /** By CallSid or Label. */
  find(callSidOrLabel: string): Participant | undefined {
    return (
      this.participants.get(callSidOrLabel) ??
      [...this.participants.values()].find((p) => p.label !== undefined && p.label === callSidOrLabel)
    );
  }

  canHear(listenerSid: string, speakerSid: string): boolean {
    const l = this.participants.get(listenerSid);
    const s = this.participants.get(speakerSid);
    if (!l || !s || l === s) return false;
    if (this.status !== 'in-progress') return false;
    if (l.status !== 'connected' || s.status !== 'connected') return false;
    if (l.hold || s.hold || s.muted) return false;
    if (s.coaching) return s.callSidToCoach === l.callSid;
    return true;
  }

  /** CallSids that hear this speaker. */
  audience(speakerSid: string): string[] {
    return this.connected()
      .map((p) => p.callSid)
      .filter((sid) => this.canHear(sid, speakerSid));
  }

  /** Names of the events sent so far, in order. */
  eventNames(): string[] {
    return this.events.map((e) => e.event);
  }
}

export interface ParticipantChanges {
  hold?: boolean;
  holdUrl?: string;
  holdMethod?: HttpMethod;
  muted?: boolean;
  coaching?: boolean;
  callSidToCoach?: string;
  endConferenceOnExit?: boolean;
  beepOnExit?: boolean;
  waitUrl?: string;
  waitMethod?: HttpMethod;
  announceUrl?: string;
  announceMethod?: HttpMethod;
}

export class ConferenceRegistry {
  private readonly all = new Map<string, Conference>();
  private readonly live = new Map<string, Conference>();

  constructor(private readonly core: Core) {}

  /** Every conference ever created, by SID (completed ones included). */
  get map(): ReadonlyMap<string, Conference> {
    return this.all;
  }

  get(sid: string): Conference | undefined {
    return this.all.get(sid);
  }

  /** The live (not completed) conference with this friendly name. */
  liveByName(name: string): Conference | undefined {
    return this.live.get(name);
  }

  /** The latest conference with this friendly name, live or not. */
  latestByName(name: string): Conference | undefined {
    let found: Conference | undefined;
    for (const c of this.all.values()) if (c.friendlyName === name) found = c;
    return found;
  }

  list(): Conference[] {
    return [...this.all.values()];
  }

  getOrCreate(name: string): Conference {
    const existing = this.live.get(name);
    if (existing) return existing;
    const c = new Conference(this.core.sids.sid('CF'), name, this.core.clock.now());
    this.all.set(c.sid, c);
    this.live.set(name, c);
    return c;
  }

  /** A participant being dialed over REST (not connected yet). */
  addPending(conf: Conference, call: Call, opts: JoinOptions): Participant {
    const p = new Participant(call, conf, opts, this.core.clock.now());
    conf.participants.set(call.sid, p);
    this.settleCallback(conf, opts);
    this.requestRecording(conf, call.sid, opts);
    return p;
  }

  /** A participant asking to record from the start, before the start: the first one's callback is kept. */
  private requestRecording(conf: Conference, callSid: string, opts: JoinOptions): void {
    if (!opts.recordFromStart || conf.status !== 'init' || conf.recordingRequest) return;
    conf.recordingRequest = { callSid, callback: opts.recordingCallback };
  }

  /** The first participant added decides the conference status callback; later ones are ignored (see top). */
  private settleCallback(conf: Conference, opts: JoinOptions): void {
    if (conf.callbackSettled) return;
    conf.callbackSettled = true;
    conf.callback = opts.statusCallback;
  }

  /** The pending participant's call was not answered. */
  dropPending(p: Participant): void {
    const conf = p.conference;
    if (p.status === 'connected' || p.status === 'complete') return;
    p.status = 'failed';
    conf.participants.delete(p.callSid);
    if (conf.participants.size === 0 && conf.status === 'init') this.retire(conf);
  }

  join(conf: Conference, call: Call, opts: JoinOptions, scope: Scope): Participant {
    const now = this.core.clock.now();
    let p = conf.participants.get(call.sid);
    if (!p) {
      p = new Participant(call, conf, opts, now);
      conf.participants.set(call.sid, p);
    }
    this.settleCallback(conf, opts);
    this.requestRecording(conf, call.sid, opts);
    p.status = 'connected';
    p.joinedAt = now;
    p.dateUpdated = now;
    p.scope = scope;
    conf.updatedAt = now;
    this.emit(conf, 'participant-join', p);
    if (conf.status === 'init') {
      const connected = conf.connected();
      if (connected.length >= 2 && connected.some((x) => x.startConferenceOnEnter)) {
        conf.status = 'in-progress';
        conf.startedAt = now;
        this.emit(conf, 'conference-start');
        this.core.recordingRegistry.conferenceStarted(conf);
        for (const x of connected) this.refreshAudio(x);
        return p;
      }
    }
    this.refreshAudio(p);
    return p;
  }

  leave(p: Participant, reason: LeaveReason): void {
    const conf = p.conference;
    if (p.status === 'complete' || p.status === 'failed') return;
    if (p.status !== 'connected') {
      this.dropPending(p);
      p.left.resolve(reason);
      return;
    }
    const now = this.core.clock.now();
    p.status = 'complete';
    p.leftAt = now;
    p.dateUpdated = now;
    this.stopAudio(p);
    p.talkCancel?.();
    p.talkCancel = undefined;
    this.emit(conf, 'participant-leave', p);
    conf.participants.delete(p.callSid);
    conf.updatedAt = now;
    p.left.resolve(reason);
    if (conf.status === 'completed') return;
    if (p.endConferenceOnExit)
      this.end(
        conf,
        reason === 'kicked' ? 'participant-with-end-conference-on-exit-kicked' : 'participant-with-end-conference-on-exit-left',
        p.callSid,
      );
    else if (conf.connected().length === 0)
      this.end(conf, reason === 'kicked' ? 'last-participant-kicked' : 'last-participant-left', p.callSid);
  }

  end(conf: Conference, reason: string, endingCallSid?: string): void {
    if (conf.status === 'completed') return;
    const started = conf.status === 'in-progress';
    conf.status = 'completed';
    conf.endedAt = this.core.clock.now();
    conf.updatedAt = conf.endedAt;
    conf.reasonConferenceEnded = reason;
    conf.callSidEndingConference = endingCallSid;
    this.retire(conf);
    for (const p of [...conf.participants.values()]) {
      if (p.status === 'connected') this.leave(p, 'conference-ended');
      else {
        this.dropPending(p);
        p.call.hangup('twilio', 'canceled');
      }
    }
    this.core.recordingRegistry.conferenceEnded(conf);
    if (started) this.emit(conf, 'conference-end');
  }

  update(p: Participant, ch: ParticipantChanges): void {
    const conf = p.conference;
    p.dateUpdated = this.core.clock.now();
    if (ch.holdUrl !== undefined) p.holdUrl = ch.holdUrl;
    if (ch.holdMethod !== undefined) p.holdMethod = ch.holdMethod;
    if (ch.waitUrl !== undefined) p.waitUrl = ch.waitUrl;
    if (ch.waitMethod !== undefined) p.waitMethod = ch.waitMethod;
    const connected = p.status === 'connected';
    if (ch.hold !== undefined && ch.hold !== p.hold) {
      p.hold = ch.hold;
      if (connected) {
        this.emit(conf, p.hold ? 'participant-hold' : 'participant-unhold', p);
        this.refreshAudio(p);
      }
    }
    if (ch.muted !== undefined && ch.muted !== p.muted) {
      p.muted = ch.muted;
      if (connected) this.emit(conf, p.muted ? 'participant-mute' : 'participant-unmute', p);
    }
    let modified = false;
    if (ch.coaching !== undefined && ch.coaching !== p.coaching) {
      p.coaching = ch.coaching;
      modified = true;
    }
    if (ch.callSidToCoach !== undefined && ch.callSidToCoach !== p.callSidToCoach) {
      p.callSidToCoach = ch.callSidToCoach;
      modified = true;
    }
    if (ch.endConferenceOnExit !== undefined && ch.endConferenceOnExit !== p.endConferenceOnExit) {
      p.endConferenceOnExit = ch.endConferenceOnExit;
      modified = true;
    }
    if (modified && connected) this.emit(conf, 'participant-modify', p);
    if (ch.announceUrl) void this.announce(conf, ch.announceUrl, ch.announceMethod ?? 'POST', [p]);
  }

  /** Play an announcement to the given participants (all connected ones when omitted); see announce.ts. */
  announce(conf: Conference, url: string, method: HttpMethod, targets?: Participant[]): Promise<void> {
    return announce(this.core, conf, url, method, targets);
  }

  private retire(conf: Conference): void {
    if (this.live.get(conf.friendlyName) === conf) this.live.delete(conf.friendlyName);
    if (conf.status !== 'completed') {
      conf.status = 'completed';
      conf.endedAt = this.core.clock.now();
    }
  }

  private stopAudio(p: Participant): void {
    p.audioScope?.abort({ type: 'stop', why: 'audio change' });
    p.audioScope = undefined;
    p.audio = 'none';
  }

  /** Start what the participant should hear now: hold music, wait music, or the live conference. */
  private refreshAudio(p: Participant): void {
    if (p.status !== 'connected' || !p.scope) return;
    const conf = p.conference;
    const want = p.hold ? 'hold' : conf.status === 'in-progress' ? 'live' : 'wait';
    if (p.audio === want) return;
    this.stopAudio(p);
    p.audio = want;
    if (want === 'live') {
      if (!p.talkCancel) p.talkCancel = p.call.startTalkTimer();
      return;
    }
    const url = want === 'hold' ? p.holdUrl : p.waitUrl;
    if (url === '') return; // silence
    const s = p.scope.child();
    p.audioScope = s;
    const params = { ConferenceSid: conf.sid, FriendlyName: conf.friendlyName };
    p.call
      .playSideDoc(url, want === 'hold' ? p.holdMethod : p.waitMethod, params, {
        context: want === 'hold' ? 'hold' : 'conferenceWait',
        kind: want === 'hold' ? 'hold' : 'conference-wait',
        scope: s,
        externalForever: true,
      })
      .catch(() => {});
  }

  private emit(conf: Conference, event: string, p?: Participant): void {
    emitConferenceEvent(this.core, conf, event, p);
  }
}

export { eventList } from './conference-events.js';
