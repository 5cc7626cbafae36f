/**
 * The REST calls a queue server makes to Twilio (docs/twilio.md section 5 and 6), through the `twilio`
 * package, each with bounded retries and time limits (twilio-client.ts). Errors that retrying cannot fix
 * (the call has ended: 21220, unknown resource: 20404, other 4xx) fail at once.
 */
import { createRetryingClient, type TwilioRestOptions } from './twilio-client.js';

export { isNotFound, isPermanent, RestError, retryAfterMs, type TwilioRestOptions } from './twilio-client.js';

export interface ParticipantOptions {
  from: string;
  to: string;
  label: string;
  statusCallback: string;
  startConferenceOnEnter: boolean;
  endConferenceOnExit: boolean;
  timeoutSeconds: number;
  muted?: boolean;
  coaching?: boolean;
  callSidToCoach?: string;
  beep?: boolean;
  /**
   * The conference's status callback. Twilio keeps only the one given by the participant that creates the
   * conference (participant.d.ts, conferenceStatusCallback: "Only the value set by the first participant to
   * join the conference is used"), so it is given on the leg that creates it: the agent's.
   */
  conferenceStatusCallback?: { url: string; events: string[] };
  /**
   * Record the conference from its start (conferenceRecord `record-from-start`, participant.d.ts) and
   * report the recording's status (conferenceRecordingStatusCallback + Event: in-progress, completed,
   * failed, absent). Given, like the status callback, on the leg that creates the conference.
   */
  conferenceRecording?: { url: string; events: string[] };
}

/** A participant dialed in: its CallSid, and the ConferenceSid of the conference it was added to. */
export interface AddedParticipant {
  callSid: string;
  /** Null when the answer was lost and a retry found the leg through `settled` (then only the CallSid is known). */
  conferenceSid: string | null;
}

/**
 * How to tell, before a retry and after the last failure, that an earlier attempt was carried out although
 * its answer was lost (a timeout after Twilio acted): a create returns the CallSid Twilio already told us
 * about in a status callback, a dequeue returns true once the caller requested the `url`. Without this a
 * retry would ring a second phone, or give up a bridge that stands.
 */
export interface Settled<T> {
  settled?: () => Promise<T | null>;
}

export interface TwilioRest {
  /** Take one caller out of a Twilio queue and run `url` on it. */
  dequeue(queueSid: string, callSid: string, url: string, o?: Settled<true>): Promise<void>;
  /** Redirect a live call to new TwiML. */
  redirect(callSid: string, url: string): Promise<void>;
  /** End a live call. */
  hangup(callSid: string): Promise<void>;
  /** Place an outbound call (callbacks) and return its CallSid. */
  createCall(
    o: { to: string; from: string; url: string; statusCallback: string; timeoutSeconds: number },
    s?: Settled<string>,
  ): Promise<string>;
  /** Dial someone into a conference (by friendly name or SID); `settled` answers a CallSid already known. */
  addParticipant(conference: string, o: ParticipantOptions, s?: Settled<string>): Promise<AddedParticipant>;
  /** Change a participant: hold, mute, coaching. */
  updateParticipant(
    conferenceSid: string,
    callSid: string,
    o: { hold?: boolean; holdUrl?: string; muted?: boolean; coaching?: boolean; callSidToCoach?: string; endConferenceOnExit?: boolean },
  ): Promise<void>;
  /**
   * Pause or resume a conference's recording (Recording update, Status=paused|in-progress; PauseBehavior
   * skip|silence applies to a pause: conference/recording.d.ts).
   */
  updateRecording(
    conferenceSid: string,
    recordingSid: string,
    status: 'paused' | 'in-progress',
    pauseBehavior?: 'skip' | 'silence',
  ): Promise<void>;
  /** The conference's recording that is in progress or paused, if any (the conference's Recordings list). */
  liveRecording(conferenceSid: string): Promise<{ sid: string; status: 'in-progress' | 'paused' } | null>;
  /** Remove a participant from a conference. */
  removeParticipant(conferenceSid: string, callSid: string): Promise<void>;
  /** A call's status and, once it has ended, when (Twilio's Call resource, GET .../Calls/{Sid}.json). */
  fetchCall(callSid: string): Promise<CallFacts>;
  /**
   * Make Twilio's queue named `name` hold `maxSize` calls: `<Enqueue>` creates a missing queue with room for
   * 1,000 calls, and a full queue answers QueueResult=queue-full (queue.d.ts: "The default is 1000. The
   * maximum is 5000."). Creates the queue (FriendlyName, MaxSize) or updates its MaxSize; answers the
   * size Twilio now reports.
   */
  ensureQueueSize(name: string, maxSize: number): Promise<number>;
}

export interface CallFacts {
  /** queued | ringing | in-progress | completed | busy | failed | no-answer | canceled */
  status: string;
  /** end_time in ms, null while the call is live (or when Twilio does not say). */
  endedAt: number | null;
}

/** Build the REST client wrapper. */
export function createTwilioRest(o: TwilioRestOptions): TwilioRest {
  const { run: withRetry } = createRetryingClient(o);

  return {
    ensureQueueSize: (name, maxSize) =>
      withRetry('queue size', async (client) => {
        const found = (await client.queues.list({ pageSize: 1000 })).find((q) => q.friendlyName === name);
        if (!found) return (await client.queues.create({ friendlyName: name, maxSize })).maxSize;
        if (found.maxSize === maxSize) return found.maxSize;
        return (await client.queues(found.sid).update({ maxSize })).maxSize;
      }),
    dequeue: (queueSid, callSid, url, s) =>
      withRetry(
        'dequeue',
        async (client) => {
          await client.queues(queueSid).members(callSid).update({ url, method: 'POST' });
          return true as const;
        },
        s?.settled,
      ).then(() => undefined),
    redirect: (callSid, url) =>
      withRetry('redirect', async (client) => {
        await client.calls(callSid).update({ url, method: 'POST' });
      }),
    hangup: (callSid) =>
      withRetry('hangup', async (client) => {
        await client.calls(callSid).update({ status: 'completed' });
      }),
    createCall: (c, s) =>
      withRetry(
        'create_call',
        async (client) => {
          const call = await client.calls.create({
            to: c.to,
            from: c.from,
            url: c.url,
            method: 'POST',
            statusCallback: c.statusCallback,
            statusCallbackMethod: 'POST',
            statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
            timeout: c.timeoutSeconds,
          });
          return call.sid;
        },
        s?.settled,
      ),
    addParticipant: (conference, p, s) => {
      const settled = s?.settled;
      return withRetry<AddedParticipant>(
        'add_participant',
        async (client) => {
          const r = await client.conferences(conference).participants.create({
            from: p.from,
            to: p.to,
            label: p.label,
            statusCallback: p.statusCallback,
            statusCallbackMethod: 'POST',
            statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
            startConferenceOnEnter: p.startConferenceOnEnter,
            endConferenceOnExit: p.endConferenceOnExit,
            timeout: p.timeoutSeconds,
            ...(p.muted !== undefined ? { muted: p.muted } : {}),
            ...(p.coaching !== undefined ? { coaching: p.coaching } : {}),
            ...(p.callSidToCoach ? { callSidToCoach: p.callSidToCoach } : {}),
            beep: p.beep === undefined ? 'false' : String(p.beep),
            ...(p.conferenceStatusCallback
              ? {
                  conferenceStatusCallback: p.conferenceStatusCallback.url,
                  conferenceStatusCallbackMethod: 'POST',
                  conferenceStatusCallbackEvent: p.conferenceStatusCallback.events,
                }
              : {}),
            ...(p.conferenceRecording
              ? {
                  conferenceRecord: 'record-from-start',
                  conferenceRecordingStatusCallback: p.conferenceRecording.url,
                  conferenceRecordingStatusCallbackMethod: 'POST',
                  conferenceRecordingStatusCallbackEvent: p.conferenceRecording.events,
                }
              : {}),
          });
          return { callSid: r.callSid, conferenceSid: r.conferenceSid || null };
        },
        settled
          ? async () => {
              const callSid = await settled();
              return callSid ? { callSid, conferenceSid: null } : null;
            }
          : undefined,
      );
    },
    updateParticipant: (conferenceSid, callSid, u) =>
      withRetry('update_participant', async (client) => {
        await client
          .conferences(conferenceSid)
          .participants(callSid)
          .update({
            ...(u.hold !== undefined ? { hold: u.hold } : {}),
            ...(u.holdUrl ? { holdUrl: u.holdUrl, holdMethod: 'POST' } : {}),
            ...(u.muted !== undefined ? { muted: u.muted } : {}),
            ...(u.coaching !== undefined ? { coaching: u.coaching } : {}),
            ...(u.callSidToCoach ? { callSidToCoach: u.callSidToCoach } : {}),
            ...(u.endConferenceOnExit !== undefined ? { endConferenceOnExit: u.endConferenceOnExit } : {}),
          });
      }),
    updateRecording: (conferenceSid, recordingSid, status, pauseBehavior) =>
      withRetry('update_recording', async (client) => {
        await client
          .conferences(conferenceSid)
          .recordings(recordingSid)
          .update({ status, ...(status === 'paused' && pauseBehavior ? { pauseBehavior } : {}) });
      }),
    liveRecording: (conferenceSid) =>
      withRetry('list_recordings', async (client) => {
        const all = await client.conferences(conferenceSid).recordings.list({ limit: 20 });
        const live = all.find((r) => r.status === 'in-progress' || r.status === 'paused');
        return live ? { sid: live.sid, status: live.status as 'in-progress' | 'paused' } : null;
      }),
    removeParticipant: (conferenceSid, callSid) =>
      withRetry('remove_participant', async (client) => {
        await client.conferences(conferenceSid).participants(callSid).remove();
      }),
    fetchCall: (callSid) =>
      withRetry('fetch_call', async (client) => {
        const c = await client.calls(callSid).fetch();
        const end = c.endTime instanceof Date ? c.endTime.getTime() : NaN;
        return { status: String(c.status), endedAt: Number.isFinite(end) ? end : null };
      }),
  };
}
