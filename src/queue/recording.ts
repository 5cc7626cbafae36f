/**
 * Call recording (a queue's `recording:` in the call-center file). The conference of a call is recorded
 * from its start, asked for by the agent's leg that creates it (bridge.ts); Twilio reports the recording's
 * status to the conference recording callback, whose URL names the caller's call and the queue. This module
 * keeps the call's current recording in Redis (one hash per call, changed only by recordingState-1.lua),
 * turns Twilio's callbacks into domain events once each, and pauses or resumes the recording for the agent
 * on the call or a supervisor (Twilio's Recording update, Status=paused|in-progress, with the queue's
 * PauseBehavior).
 */
import type { RecordingActor } from '../events.js';
import { sbError, type SwitchboardError } from '../errors.js';
import type { QueueContext } from './context.js';
import type { CallRecording, RecordingStore } from './recording-store.js';
import { RestError } from './twilio-rest.js';

/** What Twilio's conference recording status callback says (validated by the route). */
export interface RecordingCallback {
  /** The caller's CallSid (from the callback URL we gave), and the queue whose call it is. */
  callSid: string;
  queue: string;
  recordingSid: string;
  conferenceSid: string;
  status: 'in-progress' | 'completed' | 'failed' | 'absent';
  url: string;
  durationSeconds: number;
}

export interface RecordingControl {
  action: 'pause' | 'resume';
  by: RecordingActor;
  /** The agent asking: refused unless the call is the one they are talking on. */
  agentId?: string;
  /** The supervisor asking (for the log; the audit is written by the API route). */
  supervisorId?: string;
}

export interface Recordings {
  /** A recording status callback: stored, and its domain event published once. */
  statusCallback(p: RecordingCallback): Promise<void>;
  /** Pause or resume the call's recording; refused (catalogue errors) when there is none to change. */
  control(callSid: string, c: RecordingControl): Promise<{ queue: string; recordingSid: string; status: 'paused' | 'in-progress' }>;
  /** The call's current recording, if any. */
  current(callSid: string): Promise<CallRecording | null>;
}

/** Build the recording handling over the queue context. */
export function createRecordings(ctx: QueueContext, store: RecordingStore): Recordings {
  const { clock, agents, offers, rest } = ctx;

  async function statusCallback(p: RecordingCallback): Promise<void> {
    const now = clock.now();
    const r = await store.change(p.callSid, {
      recordingSid: p.recordingSid,
      change: p.status,
      conferenceSid: p.conferenceSid,
      queue: p.queue,
      ...(p.status === 'completed' ? { durationSeconds: p.durationSeconds, url: p.url } : {}),
      now,
    });
    if (!r.changed) return;
    if (r.status === p.status) await tell(p.callSid, p.status === 'in-progress' ? 'in-progress' : 'ended');
    const base = { at: now, callSid: p.callSid, queue: p.queue, recordingSid: p.recordingSid };
    if (p.status === 'in-progress') ctx.publish([{ type: 'recording.started', ...base }]);
    else if (p.status === 'completed')
      ctx.publish([{ type: 'recording.completed', ...base, url: p.url, durationSeconds: p.durationSeconds }]);
    else ctx.publish([{ type: 'recording.failed', ...base, status: p.status }]);
  }

  /** Tell the agent on the call (the latest offer's) what became of its recording. */
  async function tell(callSid: string, status: 'in-progress' | 'paused' | 'ended', by?: RecordingActor): Promise<void> {
    const offer = await offers.forCall(callSid);
    if (offer) await ctx.send(offer.agentId, { type: 'recording', callSid, status, ...(by ? { by } : {}) });
  }

  /**
   * The call's live recording: as stored, or, when none is (its in-progress callback not arrived yet, or
   * lost while Redis was away), asked of Twilio (the conference's Recordings list) for a call whose queue
   * records, and stored; its start is then published here (the late callback is a duplicate).
   */
  async function liveRecording(callSid: string): Promise<CallRecording | null> {
    const rec = await store.get(callSid);
    if (rec && (rec.status === 'in-progress' || rec.status === 'paused')) return rec;
    const offer = await offers.forCall(callSid);
    if (!offer?.conferenceSid || !ctx.center.queues[offer.queue]?.recording.enabled) return rec;
    const live = await rest.liveRecording(offer.conferenceSid).catch(() => {
      throw sbError('unavailable', 'callSid', 'Twilio did not say whether the call is being recorded; try again');
    });
    if (!live) return rec;
    const now = clock.now();
    const at = { conferenceSid: offer.conferenceSid, queue: offer.queue, now };
    const r = await store.change(callSid, { recordingSid: live.sid, change: 'in-progress', ...at });
    if (r.changed) ctx.publish([{ type: 'recording.started', at: now, callSid, queue: offer.queue, recordingSid: live.sid }]);
    if (live.status === 'paused') await store.change(callSid, { recordingSid: live.sid, change: 'paused', now });
    return store.get(callSid);
  }

  /** Why the call's recording cannot be changed now, as the error the client sees. */
  async function refusal(callSid: string, rec: CallRecording | null): Promise<SwitchboardError> {
    const queue = rec?.queue ?? (await offers.forCall(callSid))?.queue;
    if (!rec && queue && !ctx.center.queues[queue]?.recording.enabled)
      return sbError('recording_off', 'callSid', `queue ${queue} does not record its calls`);
    if (rec && !(rec.status === 'in-progress' || rec.status === 'paused'))
      return sbError('no_recording', 'callSid', `the call's recording has ended (${rec.status})`);
    return sbError('no_recording', 'callSid', 'the call has no recording yet; it starts when the caller is connected');
  }

  async function control(callSid: string, c: RecordingControl) {
    if (c.agentId !== undefined) {
      const a = await agents.get(c.agentId);
      if (!a || a.state !== 'on_call' || a.callSid !== callSid) throw sbError('not_your_call', 'callSid', 'not a call you are talking on');
    } else {
      const offer = await offers.forCall(callSid);
      const a = offer ? await agents.get(offer.agentId) : null;
      if (!a || a.state !== 'on_call' || a.callSid !== callSid)
        throw sbError('not_found', 'callSid', 'no connected call with this CallSid');
    }
    const rec = await liveRecording(callSid);
    if (!rec || !rec.conferenceSid || (rec.status !== 'in-progress' && rec.status !== 'paused')) throw await refusal(callSid, rec);
    const queue = rec.queue ?? '';
    const to = c.action === 'pause' ? 'paused' : 'in-progress';
    if (rec.status !== to) {
      const pauseBehavior = ctx.center.queues[queue]?.recording.pauseBehavior ?? 'silence';
      try {
        await rest.updateRecording(rec.conferenceSid, rec.sid, to, pauseBehavior);
      } catch (err) {
        // 21220 / 404: the recording (or its conference) has ended meanwhile.
        if (err instanceof RestError && err.permanent) throw sbError('no_recording', 'callSid', `the call's recording has ended`);
        throw sbError('unavailable', 'callSid', 'Twilio did not take the request; try again');
      }
      const r = await store.change(callSid, {
        recordingSid: rec.sid,
        change: c.action === 'pause' ? 'paused' : 'resumed',
        now: clock.now(),
      });
      if (r.changed) {
        const type = c.action === 'pause' ? 'recording.paused' : 'recording.resumed';
        ctx.publish([{ type, at: clock.now(), callSid, queue, recordingSid: rec.sid, by: c.by }]);
        await tell(callSid, to, c.by);
      }
    }
    ctx.log.info(
      { callSid, queue, action: c.action, by: c.by, agentId: c.agentId, supervisor: c.supervisorId },
      'recording paused or resumed',
    );
    return { queue, recordingSid: rec.sid, status: to } as const;
  }

  return { statusCallback, control, current: (callSid) => store.get(callSid) };
}
