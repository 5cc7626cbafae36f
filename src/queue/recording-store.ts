/**
 * The calls' conference recordings in Redis: one hash per call (its current recording's SID, conference,
 * queue and status, and the callbacks already applied), changed only by recordingState-1.lua, with the
 * call's TTL. Used by recording.ts.
 */
import type { Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis.js';
import type { Scripts } from '../store/scripts.js';

export type RecordingStatus = 'in-progress' | 'paused' | 'completed' | 'failed' | 'absent';
type Change = 'in-progress' | 'completed' | 'failed' | 'absent' | 'paused' | 'resumed';

/** The call's current recording as stored. */
export interface CallRecording {
  sid: string;
  conferenceSid: string | null;
  queue: string | null;
  status: RecordingStatus;
}

export interface RecordingStore {
  get(callSid: string): Promise<CallRecording | null>;
  /** Apply one change (recordingState-1.lua): whether it changed anything, and the status afterwards. */
  change(
    callSid: string,
    c: {
      recordingSid: string;
      change: Change;
      conferenceSid?: string;
      queue?: string;
      durationSeconds?: number;
      url?: string;
      now: number;
    },
  ): Promise<{ changed: boolean; status: string }>;
}

/** Build the recording store (one hash per call under the call's hash tag, with the call's TTL). */
export function createRecordingStore(
  redis: RedisClient,
  keys: Keys,
  scripts: Pick<Scripts, 'recordingState'>,
  ttlSeconds: number,
): RecordingStore {
  return {
    async get(callSid) {
      const [sid, conferenceSid, queue, status] = await redis.hmget(
        keys.call(callSid).recording,
        'sid',
        'conferenceSid',
        'queue',
        'status',
      );
      if (!sid || !status) return null;
      return { sid, conferenceSid: conferenceSid ?? null, queue: queue ?? null, status: status as RecordingStatus };
    },
    async change(callSid, c) {
      const [changed, status] = await scripts.recordingState(
        [keys.call(callSid).recording],
        [c.recordingSid, c.change, c.conferenceSid ?? '', c.queue ?? '', c.durationSeconds ?? '', c.url ?? '', c.now, ttlSeconds],
      );
      return { changed: changed === 1, status };
    },
  };
}
