/**
 * Call records in Redis: each domain event about a call is folded into the call's working record by one
 * script (recordFold), which also (re)appends the record to the call-records stream once the call has
 * ended; and the query behind GET /api/call-records, newest first, with filters and a cursor.
 *
 * Several instances: an event is published on the bus of the one instance that made it, so each event is
 * folded once; the script also skips an event it has already folded (same digest). Events of one call
 * made on different instances may arrive in any order: every operation is order-independent (first or
 * latest fact by rank, sums, lists).
 */
import type { DomainEvent } from '../events.js';
import type { Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis.js';
import type { Scripts } from '../store/scripts.js';
import { eventId, foldOps, type FoldOp } from './fold.js';
import { fromEntry, type CallRecord, type RecordOutcome } from './record.js';

export interface RecordFilter {
  /** Calls that started at or after `from` and at or before `to` (ms). */
  from?: number | undefined;
  to?: number | undefined;
  queue?: string | undefined;
  outcome?: RecordOutcome | undefined;
  /** The agent who answered or any agent who handled the call. */
  agent?: string | undefined;
  callerKey?: string | undefined;
  minWaitSeconds?: number | undefined;
}

export interface RecordPage {
  records: CallRecord[];
  /** Pass back as `cursor` for the next (older) page; null when there is nothing older. */
  nextCursor: string | null;
}

export interface RecordStore {
  /** Fold one event; resolves to the stream entry id when the record was (re)appended. */
  fold(e: DomainEvent): Promise<string | null>;
  /**
   * Fold events published together (in order), one script call per call they are about: a call's record
   * gets at most one new revision for them. Resolves when all are folded.
   */
  foldAll(events: readonly DomainEvent[]): Promise<void>;
  /** Newest records first (by last update), filtered; at most `limit`, examining at most `maxScan` entries. */
  list(filter: RecordFilter, o: { limit: number; cursor?: string | undefined; maxScan?: number }): Promise<RecordPage>;
}

/** The event's id for the script: only events with add or push ops need one (the others fold idempotently). */
const foldId = (e: DomainEvent, ops: FoldOp[]): string => (ops.some((op) => op[0] === 'add' || op[0] === 'push') ? eventId(e) : '');

const BATCH = 200;
const CURSOR = /^\d{1,16}-\d{1,16}$/;
export const isCursor = (s: string): boolean => CURSOR.test(s);

export function createRecordStore(o: {
  redis: RedisClient;
  keys: Keys;
  scripts: Pick<Scripts, 'recordFold'>;
  now: () => number;
  retentionDays: number;
  /** How long a call's working record lives after its last event (its wrap-up and survey must fit). */
  workingTtlSeconds: number;
}): RecordStore {
  const stream = o.keys.records.stream;
  const retentionMs = Math.round(o.retentionDays * 86_400_000);

  /** One call's events (id and operations' JSON, in order) in one script call. */
  async function foldCall(callSid: string, events: string[]): Promise<string | null> {
    const id = await o.scripts.recordFold(
      [o.keys.records.call(callSid), stream, o.keys.records.legacyCall(callSid)],
      [o.now(), retentionMs, o.workingTtlSeconds, callSid, ...events],
    );
    return typeof id === 'string' ? id : null;
  }

  return {
    async fold(e) {
      const f = foldOps(e);
      return f ? foldCall(f.callSid, [foldId(e, f.ops), JSON.stringify(f.ops)]) : null;
    },

    async foldAll(events) {
      const byCall = new Map<string, string[]>();
      for (const e of events) {
        const f = foldOps(e);
        if (!f) continue;
        const list = byCall.get(f.callSid);
        if (list) list.push(foldId(e, f.ops), JSON.stringify(f.ops));
        else byCall.set(f.callSid, [foldId(e, f.ops), JSON.stringify(f.ops)]);
      }
      await Promise.all([...byCall].map(([callSid, list]) => foldCall(callSid, list)));
    },

    async list(filter, { limit, cursor, maxScan = 5000 }) {
      const out: CallRecord[] = [];
      // Entry ids are the record's last update, never before the call started: `from` bounds the scan.
      const start = filter.from !== undefined ? String(filter.from) : '-';
      let end = cursor ? `(${cursor}` : '+';
      let scanned = 0;
      let last: string | null = null;
      let exhausted = false;
      while (out.length < limit && scanned < maxScan) {
        const batch = await o.redis.xrevrange(stream, end, start, 'COUNT', BATCH);
        let used = 0;
        for (const [id, flat] of batch) {
          used++;
          scanned++;
          last = id;
          const r = fromEntry(flat);
          if (matches(r, filter)) out.push(r);
          if (out.length >= limit || scanned >= maxScan) break;
        }
        // A short batch read to its end is the oldest entry in range: nothing older to page to.
        if (used === batch.length && batch.length < BATCH) {
          exhausted = true;
          break;
        }
        end = `(${last}`;
      }
      return { records: out, nextCursor: exhausted || !last ? null : last };
    },
  };
}

function matches(r: CallRecord, f: RecordFilter): boolean {
  const started = r.startedAt ? Date.parse(r.startedAt) : Date.parse(r.updatedAt);
  if (f.from !== undefined && started < f.from) return false;
  if (f.to !== undefined && started > f.to) return false;
  if (f.queue !== undefined && r.queue !== f.queue) return false;
  if (f.outcome !== undefined && r.outcome !== f.outcome) return false;
  if (f.agent !== undefined && r.agent !== f.agent && !r.agents.includes(f.agent)) return false;
  if (f.callerKey !== undefined && r.callerKey !== f.callerKey) return false;
  if (f.minWaitSeconds !== undefined && (r.waitSeconds ?? 0) < f.minWaitSeconds) return false;
  return true;
}
