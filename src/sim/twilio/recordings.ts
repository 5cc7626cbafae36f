/**
 * Recordings of conferences, and pausing them.
 *
 * Rules:
 * - A conference is recorded from the start when a participant asks for it: `<Conference
 *   record="record-from-start">` (https://www.twilio.com/docs/voice/twiml/conference, attribute record: the
 *   whole conference, from when it starts) or `ConferenceRecord=record-from-start` on the Participant create
 *   (node_modules/twilio/lib/rest/api/v2010/account/conference/participant.d.ts, conferenceRecord: "Whether to
 *   record the conference the participant is joining"). The recording ends with the conference.
 * - Its status callback is `recordingStatusCallback` (+ Method, default POST; `recordingStatusCallbackEvent`
 *   in-progress, completed, absent, default completed) on `<Conference>`, or
 *   `ConferenceRecordingStatusCallback` (+ Method, Event) on the Participant create (participant.d.ts). The
 *   request carries AccountSid, CallSid, ConferenceSid, RecordingSid, RecordingUrl, RecordingStatus,
 *   RecordingDuration, RecordingChannels, RecordingStartTime and RecordingSource (Conference)
 *   (https://www.twilio.com/docs/voice/twiml/recording, recordingStatusCallback parameters; source values in
 *   node_modules/twilio/lib/rest/api/v2010/account/conference/recording.d.ts, RecordingSource). Like every
 *   request Twilio makes, it is signed.
 * - A recording is read at /Recordings/{Sid}, /Conferences/{ConferenceSid}/Recordings[/{Sid}] and
 *   /Calls/{CallSid}/Recordings[/{Sid}], and updated there with Status=paused|in-progress|stopped and
 *   PauseBehavior skip|silence (default silence: the pause is replaced by silence, skip leaves it out of the
 *   recording); `Twilio.CURRENT` names the active recording (recording.d.ts RecordingContextUpdateOptions;
 *   https://www.twilio.com/docs/voice/api/recording, update a recording). Its JSON fields are those of
 *   recording.d.ts RecordingResource; status is in-progress, paused, stopped, processing, completed or absent.
 *
 * Decided here (tested in test/sim/recording.test.ts):
 * - The first participant asking for a recording settles its status callback (as the conference status
 *   callback); later requests only switch recording on. A request after the conference started is ignored
 *   (it cannot be "from start").
 * - The recording is processed 1 s (clock time) after it stops, then it is completed and the completed
 *   callback is sent; a recording shorter than 1 s is absent (error 16101 "too short", no completed).
 * - The recording's CallSid is the participant that asked for it; its JSON duration is -1 until it stops.
 * - Updating a recording to the status it has is a no-op (200); updating one that stopped is 400 code 21220.
 *   Status=stopped ends it as the conference ending would.
 */
import type { Conference } from './conference.js';
import { rfc2822, type Core } from './core.js';
import { accountPath } from './resources.js';
import type { HttpMethod } from './types.js';

export type RecordingStatus = 'in-progress' | 'paused' | 'stopped' | 'processing' | 'completed' | 'absent';

export interface RecordingCallback {
  url: string;
  method: HttpMethod;
  events: string[];
}

/** What a participant asked for when joining: record the conference from its start, and where to report. */
export interface RecordingRequest {
  callSid: string;
  callback?: RecordingCallback;
}

export class EmuRecording {
  status: RecordingStatus = 'in-progress';
  readonly startedAt: number;
  updatedAt: number;
  stoppedAt?: number;
  /** Clock ms left out of the recording (paused with PauseBehavior=skip). */
  skippedMs = 0;
  pausedAt?: number;
  pauseBehavior: 'skip' | 'silence' = 'silence';
  errorCode?: number;
  /** Status changes in order, e.g. in-progress, paused, in-progress, stopped, processing, completed. */
  readonly history: RecordingStatus[] = ['in-progress'];

  constructor(
    readonly sid: string,
    readonly conference: Conference,
    readonly callSid: string,
    readonly callback: RecordingCallback | undefined,
    now: number,
  ) {
    this.startedAt = now;
    this.updatedAt = now;
  }

  get live(): boolean {
    return this.status === 'in-progress' || this.status === 'paused';
  }

  /** Seconds of audio in the recording so far (paused-with-skip time left out). */
  durationS(now: number): number {
    const end = this.stoppedAt ?? now;
    const skippingNow = this.status === 'paused' && this.pauseBehavior === 'skip' && this.pausedAt !== undefined ? end - this.pausedAt : 0;
    return Math.max(0, Math.round((end - this.startedAt - this.skippedMs - skippingNow) / 1000));
  }
}

export class RecordingError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const PROCESSING_MS = 1000;
const MIN_MS = 1000;

export class RecordingRegistry {
  private readonly all = new Map<string, EmuRecording>();

  constructor(private readonly core: Core) {}

  get(sid: string): EmuRecording | undefined {
    return this.all.get(sid);
  }

  list(): EmuRecording[] {
    return [...this.all.values()];
  }

  /** The conference started: record it if a participant asked to record from the start. */
  conferenceStarted(conf: Conference): void {
    const req = conf.recordingRequest;
    if (!req || conf.recordings.length > 0) return;
    const rec = new EmuRecording(this.core.sids.sid('RE'), conf, req.callSid, req.callback, this.core.clock.now());
    this.all.set(rec.sid, rec);
    conf.recordings.push(rec);
    this.notify(rec, 'in-progress');
  }

  /** The conference ended: its live recordings stop and are processed. */
  conferenceEnded(conf: Conference): void {
    for (const rec of conf.recordings) if (rec.live) this.stop(rec);
  }

  /** REST update: Status=paused|in-progress|stopped (PauseBehavior for paused). */
  update(rec: EmuRecording, status: string | undefined, pauseBehavior: string | undefined): void {
    if (status !== 'paused' && status !== 'in-progress' && status !== 'stopped')
      throw new RecordingError(400, 21218, `Invalid Status: ${status ?? '(missing)'}; one of paused, in-progress, stopped`);
    if (pauseBehavior !== undefined && pauseBehavior !== 'skip' && pauseBehavior !== 'silence')
      throw new RecordingError(400, 21218, `Invalid PauseBehavior: ${pauseBehavior}; one of skip, silence`);
    if (!rec.live) {
      if (status === 'stopped') return;
      throw new RecordingError(400, 21220, `Recording ${rec.sid} is ${rec.status}; it cannot be ${status}`);
    }
    const now = this.core.clock.now();
    if (status === rec.status) return;
    if (status === 'stopped') return this.stop(rec);
    if (status === 'paused') {
      rec.pauseBehavior = pauseBehavior === 'skip' ? 'skip' : 'silence';
      rec.pausedAt = now;
    } else {
      if (rec.pauseBehavior === 'skip' && rec.pausedAt !== undefined) rec.skippedMs += now - rec.pausedAt;
      rec.pausedAt = undefined;
    }
    this.setStatus(rec, status, now);
  }

  private stop(rec: EmuRecording): void {
    const now = this.core.clock.now();
    if (rec.status === 'paused' && rec.pauseBehavior === 'skip' && rec.pausedAt !== undefined) rec.skippedMs += now - rec.pausedAt;
    rec.pausedAt = undefined;
    rec.stoppedAt = now;
    this.setStatus(rec, 'stopped', now);
    this.setStatus(rec, 'processing', now);
    this.core.clock.setTimer(PROCESSING_MS, () => {
      const at = this.core.clock.now();
      if (now - rec.startedAt - rec.skippedMs < MIN_MS) {
        rec.errorCode = 16101;
        this.setStatus(rec, 'absent', at);
        this.notify(rec, 'absent');
        return;
      }
      this.setStatus(rec, 'completed', at);
      this.notify(rec, 'completed');
    });
  }

  private setStatus(rec: EmuRecording, status: RecordingStatus, now: number): void {
    rec.status = status;
    rec.updatedAt = now;
    rec.history.push(status);
  }

  private notify(rec: EmuRecording, event: 'in-progress' | 'completed' | 'absent'): void {
    const cb = rec.callback;
    if (!cb || !cb.events.includes(event)) return;
    const core = this.core;
    if (core.statusFaults.dropRecording?.includes(event)) return; // fault injection: a lost callback
    const params: Record<string, string> = {
      AccountSid: core.accountSid,
      CallSid: rec.callSid,
      ConferenceSid: rec.conference.sid,
      RecordingSid: rec.sid,
      RecordingUrl: recordingUrl(core.accountSid, rec.sid),
      RecordingStatus: event,
      RecordingDuration: String(rec.durationS(core.clock.now())),
      RecordingChannels: '1',
      RecordingStartTime: rfc2822(rec.startedAt),
      RecordingSource: 'Conference',
    };
    if (rec.errorCode !== undefined) params.ErrorCode = String(rec.errorCode);
    const p = core.hooks.send({ kind: 'recording-status', url: cb.url, method: cb.method, params, callSid: rec.callSid }).then((res) => {
      if (!res.ok || res.status < 200 || res.status > 299)
        core.recordError({
          code: 11200,
          level: 'warning',
          kind: 'notification',
          url: cb.url,
          callSid: rec.callSid,
          message: `recording-status request failed: ${res.ok ? `HTTP ${res.status}` : res.message}`,
        });
    });
    core.calls.get(rec.callSid)?.track(p);
  }
}

/** The recording's media URL (without extension), as Twilio gives it in RecordingUrl. */
export function recordingUrl(accountSid: string, sid: string): string {
  return `https://api.twilio.com${accountPath(accountSid)}/Recordings/${sid}`;
}

/** The Recording resource's JSON (recording.d.ts RecordingResource). */
export function recordingJson(accountSid: string, rec: EmuRecording, now: number): Record<string, unknown> {
  const done = rec.status === 'completed' || rec.status === 'absent';
  return {
    account_sid: accountSid,
    api_version: '2010-04-01',
    call_sid: rec.callSid,
    conference_sid: rec.conference.sid,
    date_created: rfc2822(rec.startedAt),
    date_updated: rfc2822(rec.updatedAt),
    start_time: rfc2822(rec.startedAt),
    duration: done || rec.status === 'processing' ? String(rec.durationS(now)) : '-1',
    sid: rec.sid,
    price: null,
    price_unit: 'USD',
    status: rec.status,
    channels: 1,
    source: 'Conference',
    error_code: rec.errorCode ?? null,
    encryption_details: null,
    uri: `${accountPath(accountSid)}/Conferences/${rec.conference.sid}/Recordings/${rec.sid}.json`,
  };
}
