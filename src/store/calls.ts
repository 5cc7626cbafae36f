/**
 * Per-call state in Redis with a TTL, so any instance can serve the next webhook of the same call, with the
 * call's last idempotent answer in the same hash (src/store/call-state.ts); status-callback ordering;
 * voicemail records.
 */
import type { IvrState } from '../ivr/step.js';
import { decodeLast, decodeState, encodeLast, encodeState, STATE_FIELDS, type LastAnswer } from './call-state.js';
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
  /** The call's state and its last idempotent answer, in one read. */
  load(callSid: string): Promise<{ state: IvrState | null; last: LastAnswer | null }>;
  /**
   * Save the call's state and refresh its TTL; with `last`, remember the idempotent answer in the same
   * write (without it, the remembered answer stays).
   */
  put(state: IvrState, last?: LastAnswer): Promise<void>;
  /** Save only if no state exists yet (with the answer to remember); else the stored state and answer. */
  create(state: IvrState, last?: LastAnswer): Promise<{ created: true } | { created: false; state: IvrState; last: LastAnswer | null }>;
  /**
   * Record a status callback: is it new, and is it the latest by sequence number. With `readState`, a new
   * callback also reads the call's state in the same script (null: unknown call).
   */
  statusCallback(
    callSid: string,
    seq: number,
    status: string,
    readState?: boolean,
  ): Promise<{ isNew: boolean; isLatest: boolean; latestStatus: string; state?: IvrState | null }>;
  /** Store a voicemail once (by RecordingSid); returns false when it was already stored. */
  addVoicemail(v: VoicemailRecord): Promise<boolean>;
  /** Newest voicemails first. */
  listVoicemails(limit: number, offset?: number): Promise<VoicemailRecord[]>;
}

/** Field/value array (HGETALL-style) to a record. */
function toRecord(flat: readonly string[], from = 0): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = from; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

/** Build the call store over a client, the key catalogue and the call TTL. */
export function createCallStore(
  redis: RedisClient,
  keys: Keys,
  scripts: Pick<Scripts, 'callStatus' | 'callCreate' | 'callSave'>,
  ttlSeconds: number,
): CallStore {
  /** The hash, or for a call that started before the hash format, its JSON state (no answer remembered). */
  async function load(callSid: string): Promise<{ state: IvrState | null; last: LastAnswer | null }> {
    const k = keys.call(callSid);
    const h = await redis.hgetall(k.ivr);
    const state = decodeState(callSid, h);
    if (state) return { state, last: decodeLast(h) };
    const raw = await redis.get(k.legacyState);
    return { state: raw ? (JSON.parse(raw) as IvrState) : null, last: null };
  }
  return {
    load,
    async get(callSid) {
      return (await load(callSid)).state;
    },
    async put(state, last) {
      const k = keys.call(state.callSid);
      const set = encodeState(state);
      const del = STATE_FIELDS.filter((f) => !set.some((x, i) => i % 2 === 0 && x === f));
      if (last) set.push(...encodeLast(last));
      await scripts.callSave([k.ivr, k.legacyState], [ttlSeconds, del.length, ...del, ...set]);
    },
    async create(state, last) {
      const k = keys.call(state.callSid);
      const set = encodeState(state);
      if (last) set.push(...encodeLast(last));
      const r = await scripts.callCreate([k.ivr, k.legacyState], [ttlSeconds, ...set]);
      if (r[0] === 'created') return { created: true };
      if (r[0] === 'legacy') return { created: false, state: JSON.parse(r[1] ?? '{}') as IvrState, last: null };
      const h = toRecord(r, 1);
      return { created: false, state: decodeState(state.callSid, h) ?? state, last: decodeLast(h) };
    },
    async statusCallback(callSid, seq, status, readState = false) {
      const k = keys.call(callSid);
      const r = await scripts.callStatus([k.statusSeq, k.ivr, k.legacyState], [seq, status, ttlSeconds, readState ? '1' : '0']);
      const out = { isNew: r[0] === 1, isLatest: r[1] === 1, latestStatus: r[2] };
      if (r[3] === undefined) return out;
      const state =
        r[3] === 'hash'
          ? decodeState(callSid, toRecord(r.slice(4) as string[]))
          : r[3] === 'legacy'
            ? (JSON.parse(r[4] ?? '{}') as IvrState)
            : null;
      return { ...out, state };
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
