/**
 * Per-call state in Redis with a TTL, so any instance can serve the next webhook of the same call;
 * webhook idempotency records; status-callback ordering; voicemail records.
 */
import type { IvrState } from '../ivr/step.js';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import type { Scripts } from './scripts.js';

export interface VoicemailRecord {
  recordingSid: string;
  callSid: string;
  queue: string;
  url: string;
  durationSeconds: number;
  at: number;
  callerHash: string;
  language: string;
}

export interface CallStore {
  /** The call's state, or null when unknown or expired. */
  get(callSid: string): Promise<IvrState | null>;
  /** Save the call's state and refresh its TTL. */
  put(state: IvrState): Promise<void>;
  /** Save only if no state exists yet; returns the state that is stored. */
  create(state: IvrState): Promise<{ created: boolean; state: IvrState }>;
  /** A stored answer for a retried webhook, by Twilio's idempotency token. */
  cachedAnswer(callSid: string, token: string): Promise<string | null>;
  /** Remember the answer given for an idempotency token. */
  rememberAnswer(callSid: string, token: string, body: string): Promise<void>;
  /** Record a status callback: is it new, and is it the latest by sequence number. */
  statusCallback(callSid: string, seq: number, status: string): Promise<{ isNew: boolean; isLatest: boolean; latestStatus: string }>;
  /** Store a voicemail once (by RecordingSid); returns false when it was already stored. */
  addVoicemail(v: VoicemailRecord): Promise<boolean>;
  /** Newest voicemails first. */
  listVoicemails(limit: number, offset?: number): Promise<VoicemailRecord[]>;
}

/** Build the call store over a client, the key catalogue and the call TTL. */
export function createCallStore(redis: RedisClient, keys: Keys, scripts: Pick<Scripts, 'callStatus'>, ttlSeconds: number): CallStore {
  return {
    async get(callSid) {
      const raw = await redis.get(keys.call(callSid).state);
      return raw ? (JSON.parse(raw) as IvrState) : null;
    },
    async put(state) {
      await redis.set(keys.call(state.callSid).state, JSON.stringify(state), 'EX', ttlSeconds);
    },
    async create(state) {
      const key = keys.call(state.callSid).state;
      const ok = await redis.set(key, JSON.stringify(state), 'EX', ttlSeconds, 'NX');
      if (ok) return { created: true, state };
      const raw = await redis.get(key);
      return { created: false, state: raw ? (JSON.parse(raw) as IvrState) : state };
    },
    async cachedAnswer(callSid, token) {
      return redis.hget(keys.call(callSid).idem, token);
    },
    async rememberAnswer(callSid, token, body) {
      const k = keys.call(callSid).idem;
      await redis.multi().hset(k, token, body).expire(k, ttlSeconds).exec();
    },
    async statusCallback(callSid, seq, status) {
      const r = await scripts.callStatus([keys.call(callSid).statusSeq], [seq, status, ttlSeconds]);
      return { isNew: r[0] === 1, isLatest: r[1] === 1, latestStatus: r[2] };
    },
    async addVoicemail(v) {
      // The voicemail list is one key under the {x} tag; the seen-set shares it.
      const seen = `${keys.voicemails}:seen`;
      const added = await redis.sadd(seen, v.recordingSid);
      if (added === 0) return false;
      await redis.multi().lpush(keys.voicemails, JSON.stringify(v)).ltrim(keys.voicemails, 0, 9999).exec();
      return true;
    },
    async listVoicemails(limit, offset = 0) {
      const rows = await redis.lrange(keys.voicemails, offset, offset + limit - 1);
      return rows.map((r) => JSON.parse(r) as VoicemailRecord);
    },
  };
}
