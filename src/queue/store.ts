/**
 * The queue store: callers waiting in a queue, in Redis, one Lua script per state change
 * (src/store/lua/queue*.lua). Each script appends the domain events it causes to the queue's event stream
 * and returns them; the functions here return them as `events` for the caller to publish on the bus.
 *
 * Data per queue (all keys share the `{q:<name>}` tag, see keys.ts):
 *   ready     ZSET callSid → band·2^40 + seq (band = (9 − priority)·2 + (front ? 0 : 1)) of the entries that
 *             can be claimed now (state waiting | callback): claimNext is one ZRANGE 0 0, however many
 *             callers are being offered.
 *   held      ZSET the other entries (offered, callback_offered, bridging), same scores. `ready` and
 *             `held` together are the queue, exact FIFO within a priority: position = the entries with a
 *             lower score in both + 1 (include/queue-entry.lua). Callers on the line and callbacks holding
 *             their place. (The format before kept them all in a third ZSET, `waiting`, beside `ready`:
 *             queueUpgrade moves its entries being offered into `held` at start-up.)
 *   offering  SET callers being offered right now; callbacks SET; since ZSET callSid → enqueuedAt of
 *             callers on the line (longest wait); tally HASH; handleTimes LIST; arrivals HASH of
 *             10-second buckets (a week); events STREAM (the newest ~10,000 events).
 *   caller(callSid) HASH, one-letter field names (every queue script reads it; the hash stays a small
 *             listpack): s state, c callerHash, t enqueuedAt (ms), r priority (absent = 0), i contactId
 *             (absent = the callSid, which the key holds), n '0' for an entry that is not an offer (a
 *             re-entry; absent = counted), l language, p ivrPath, Q Twilio's QueueSid, e the first estimate
 *             told (s), b '1' for a callback and B when it was asked for; while offered o offerId, a agentId,
 *             d offer deadline, O offered at, g bridging since, W the offer awaiting the QueueSid; meta as
 *             `m:<name>` (`>f` callbackTo, `>n` calledNumber). After leaving it becomes a tombstone {s: 'left', u: outcome, R: reason} for a day.
 *             Entries of the format before (long names: state, callerHash, ...) are rewritten at start-up
 *             (`upgradeEntries`, queueUpgrade.lua); its tombstones are read by the enqueue as they are.
 *
 * Conservation (tally): offered = answered + abandoned + overflow + callback + in_queue, where in_queue is
 * the counted entries still on the line. Re-entries (countOffer false: transfers, callback re-entries) are
 * the same contact, not new offers: counted in `reentered` only, with no queue.offered and no queue.left.
 */
import type { Clock } from '../clock.js';
import { invalid } from '../errors.js';
import type { DomainEvent } from '../events.js';
import type { CallerState, QueueStore } from './store-types.js';
import type { Keys, QueueKeys } from '../store/keys.js';
import type { RedisClient } from '../store/redis.js';
import { createScripts, type Scripts } from '../store/scripts.js';

/** A tombstone keeps a departed caller from being queued again by a late, retried webhook. */
const TOMBSTONE_TTL_SECONDS = 24 * 3600;
/** The capacity window keeps a week of arrivals. */
const ARRIVALS_KEEP_MS = 7 * 24 * 3600 * 1000;
const HANDLE_TIMES_KEPT = 200;
const MAX_PRIORITY = 9;

export type * from './store-types.js';

function requireName(value: string, field: string): void {
  if (typeof value !== 'string' || value.length === 0) throw invalid(field, 'must be a non-empty string');
}

function requireNumber(value: number, field: string, min = 0): void {
  if (!Number.isFinite(value) || value < min) throw invalid(field, `must be a finite number >= ${min}`);
}

function reply(raw: unknown, what: string): unknown[] {
  if (!Array.isArray(raw)) throw new Error(`${what}: unexpected script reply`);
  return raw as unknown[];
}

function parseEvents(raw: unknown): DomainEvent[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((e) => JSON.parse(String(e)) as DomainEvent);
}

/** Field/value array (HGETALL-style) to a record. */
function toRecord(flat: unknown[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

/**
 * Meta fields of a caller hash: `m:<name>`, except the two every caller has (the caller's number for a
 * callback and the number it called), kept as `>f` and `>n` (`>` is not allowed in a meta name).
 */
const META_SHORT: Record<string, string> = { callbackTo: '>f', calledNumber: '>n' };
const META_LONG: Record<string, string> = Object.fromEntries(Object.entries(META_SHORT).map(([name, f]) => [f, name]));
const metaField = (name: string): string => META_SHORT[name] ?? `m:${name}`;

/** The meta fields of a caller hash, by name. */
function metaOf(h: Record<string, string>): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const [f, v] of Object.entries(h)) {
    if (f.startsWith('m:')) meta[f.slice(2)] = v;
    else if (META_LONG[f]) meta[META_LONG[f]] = v;
  }
  return meta;
}

/** The fields of a caller hash (short names, see the layout above) every reader of a whole entry wants. */
function decodeCaller(callSid: string, h: Record<string, string>) {
  return {
    callSid,
    contactId: h.i ?? callSid,
    callerHash: h.c ?? '',
    priority: Number(h.r ?? 0),
    enqueuedAt: Number(h.t),
    queueSid: h.Q ?? null,
    language: h.l ?? null,
    ivrPath: h.p ?? null,
    meta: metaOf(h),
  };
}

const CALLER_STATES: readonly CallerState[] = ['waiting', 'offered', 'callback', 'callback_offered', 'bridging'];
const isCallerState = (s: string | null | undefined): s is CallerState => CALLER_STATES.includes(s as CallerState);

/** What the store's parts share: the client, the scripts, the clock and the checked key catalogue of a queue. */
interface StoreDeps {
  redis: RedisClient;
  scripts: Scripts;
  clock: Clock;
  q: (queue: string) => QueueKeys;
}

/** Build the queue store over a client, the key catalogue and the clock (scripts get `now` from it). */
export function createQueueStore(redis: RedisClient, keys: Keys, clock: Clock): QueueStore {
  const d: StoreDeps = {
    redis,
    scripts: createScripts(redis),
    clock,
    q: (queue) => {
      requireName(queue, 'queue');
      return keys.queue(queue);
    },
  };
  return { ...entryScripts(d), ...offerOps(d), ...queueReads(d) };
}

/** The scripts that move a caller in or out of the queue and emit domain events. */
function entryScripts({
  scripts,
  clock,
  q,
}: StoreDeps): Pick<QueueStore, 'enqueue' | 'leave' | 'requestCallback' | 'callbackFinished' | 'recordEstimate' | 'upgradeEntries'> {
  return {
    async upgradeEntries(queue) {
      const k = q(queue);
      return Number(await scripts.queueUpgrade([k.waiting, k.callerPrefix, k.ready, k.held], []));
    },

    async enqueue(input) {
      const k = q(input.queue);
      requireName(input.callSid, 'callSid');
      if (!Number.isInteger(input.priority) || input.priority < 0 || input.priority > MAX_PRIORITY) {
        throw invalid('priority', 'must be an integer 0..9');
      }
      requireNumber(input.maxLength, 'maxLength');
      requireNumber(input.serviceLevelSeconds, 'serviceLevelSeconds');
      const metaArgs: string[] = [];
      for (const [name, value] of Object.entries(input.meta ?? {})) {
        if (!/^[A-Za-z0-9_.:-]+$/.test(name)) throw invalid('meta', `name "${name}" is not allowed`);
        if (typeof value !== 'string') throw invalid('meta', `${name} must be a string`);
        metaArgs.push(metaField(name), value);
      }
      const overflowNoAgents = input.noAgentsStaffed === true && input.whenNoAgents === 'overflow';
      const r = reply(
        await scripts.queueEnqueue(
          [k.held, k.ready, k.caller(input.callSid), k.seq, k.since, k.callbacks, k.arrivals, k.tally, k.events, k.legacyArrivals],
          [
            input.queue,
            input.callSid,
            input.contactId,
            input.callerHash,
            input.priority,
            input.front ? 1 : 0,
            input.countOffer === false ? 0 : 1,
            input.maxLength,
            overflowNoAgents ? 1 : 0,
            input.overflowTarget ?? '',
            input.serviceLevelSeconds,
            input.language ?? '',
            input.ivrPath ?? '',
            input.at ?? clock.now(),
            ARRIVALS_KEEP_MS,
            TOMBSTONE_TTL_SECONDS,
            ...metaArgs,
          ],
        ),
        'enqueue',
      );
      const result = String(r[0]);
      const events = parseEvents(r[3]);
      switch (result) {
        case 'queued':
        case 'already':
          return { result, position: Number(r[1]), size: Number(r[2]), events };
        case 'full':
        case 'no_agents':
        case 'gone':
          return { result, events };
        default:
          throw new Error(`enqueue: unexpected result ${result}`);
      }
    },

    async leave(input) {
      const k = q(input.queue);
      requireNumber(input.shortAbandonSeconds, 'shortAbandonSeconds');
      requireNumber(input.serviceLevelSeconds, 'serviceLevelSeconds');
      if (input.waitSeconds !== undefined) requireNumber(input.waitSeconds, 'waitSeconds');
      const r = reply(
        await scripts.queueLeave(
          [k.held, k.ready, k.caller(input.callSid), k.since, k.offering, k.callbacks, k.tally, k.events, k.left],
          [
            input.queue,
            input.callSid,
            input.outcome,
            input.waitSeconds ?? '',
            input.shortAbandonSeconds,
            input.serviceLevelSeconds,
            input.overflowTarget ?? '',
            input.overflowReason ?? '',
            input.agentId ?? '',
            input.team ?? '',
            input.offerId ?? '',
            input.at ?? clock.now(),
            TOMBSTONE_TTL_SECONDS,
            ARRIVALS_KEEP_MS,
          ],
        ),
        'leave',
      );
      return { result: r[0] === 'left' ? 'left' : 'gone', events: parseEvents(r[1]), priorState: String(r[2] ?? '') };
    },

    async requestCallback(input) {
      const k = q(input.queue);
      requireNumber(input.serviceLevelSeconds, 'serviceLevelSeconds');
      if (input.waitSeconds !== undefined) requireNumber(input.waitSeconds, 'waitSeconds');
      const r = reply(
        await scripts.queueCallback(
          [k.ready, k.caller(input.callSid), k.since, k.callbacks, k.tally, k.events, k.held],
          [input.queue, input.callSid, input.serviceLevelSeconds, input.at ?? clock.now(), input.waitSeconds ?? ''],
        ),
        'requestCallback',
      );
      const result = String(r[0]);
      if (result !== 'requested' && result !== 'already' && result !== 'being_offered' && result !== 'gone') {
        throw new Error(`requestCallback: unexpected result ${result}`);
      }
      return { result, events: parseEvents(r[1]) };
    },

    async callbackFinished({ queue, callSid, result, at }) {
      const k = q(queue);
      const r = reply(
        await scripts.queueCallbackDone(
          [k.held, k.ready, k.caller(callSid), k.callbacks, k.offering, k.tally, k.events],
          [queue, callSid, result, at ?? clock.now(), TOMBSTONE_TTL_SECONDS],
        ),
        'callbackFinished',
      );
      return { result: r[0] === 'removed' ? 'removed' : 'gone', events: parseEvents(r[1]) };
    },

    async recordEstimate({ queue, callSid, seconds, position, at }) {
      const k = q(queue);
      requireNumber(seconds, 'seconds');
      requireNumber(position, 'position');
      const r = reply(
        await scripts.queueEstimate([k.caller(callSid), k.events], [queue, callSid, seconds, position, at ?? clock.now()]),
        'recordEstimate',
      );
      const result = String(r[0]);
      if (result !== 'first' && result !== 'again' && result !== 'gone') throw new Error(`recordEstimate: unexpected result ${result}`);
      return { result, events: parseEvents(r[1]) };
    },
  };
}

/** Offers: claiming a caller for an agent, releasing it, bridging, Twilio's QueueSid. */
function offerOps({
  redis,
  scripts,
  clock,
  q,
}: StoreDeps): Pick<
  QueueStore,
  'claimNext' | 'releaseClaim' | 'markBridging' | 'staleClaims' | 'claimCheck' | 'setQueueSid' | 'awaitQueueSid' | 'stopAwaitingQueueSid'
> {
  return {
    async claimNext(input) {
      const k = q(input.queue);
      requireName(input.offerId, 'offerId');
      requireName(input.agentId, 'agentId');
      const raw = await scripts.queueClaim(
        [k.ready, k.offering, k.callerPrefix, k.held],
        [input.offerId, input.agentId, input.deadline, input.at ?? clock.now()],
      );
      if (raw === null || raw === undefined) return null;
      const h = toRecord(reply(raw, 'claimNext'));
      return { ...decodeCaller(h.callSid ?? '', h), state: h.b === '1' ? 'callback' : 'waiting' };
    },

    async releaseClaim({ queue, callSid, offerId }) {
      const k = q(queue);
      const r = String(await scripts.queueRelease([k.held, k.ready, k.caller(callSid), k.offering], [callSid, offerId]));
      if (r !== 'released' && r !== 'stale' && r !== 'gone') throw new Error(`releaseClaim: unexpected result ${r}`);
      return r;
    },

    async markBridging({ queue, callSid, offerId, at }) {
      const k = q(queue);
      const r = String(await scripts.queueBridging([k.caller(callSid), k.offering], [callSid, offerId, at ?? clock.now()]));
      return r === 'bridging' ? 'bridging' : 'gone';
    },

    async staleClaims(queue, deadlineBefore, limit = 100) {
      const k = q(queue);
      // `offering` holds only callers being offered right now (a handful: at most one per agent).
      const ids = (await redis.smembers(k.offering)).slice(0, limit);
      if (ids.length === 0) return [];
      const p = redis.pipeline();
      for (const id of ids) p.hmget(k.caller(id), 's', 'o', 'a', 'd');
      const res = (await p.exec()) ?? [];
      const out: { callSid: string; offerId: string; agentId: string }[] = [];
      ids.forEach((callSid, i) => {
        const [err, v] = res[i] ?? [null, null];
        if (err) throw err;
        const [state, offerId, agentId, deadline] = (v ?? []) as (string | null)[];
        if ((state === 'offered' || state === 'callback_offered') && offerId && Number(deadline) < deadlineBefore) {
          out.push({ callSid, offerId, agentId: agentId ?? '' });
        }
      });
      return out;
    },

    async claimCheck(queue, callSid, ttlMs) {
      return (await redis.set(q(queue).checked(callSid), '1', 'PX', Math.max(1, Math.floor(ttlMs)), 'NX')) === 'OK';
    },

    async setQueueSid(queue, callSid, queueSid) {
      const k = q(queue);
      const r = reply(await scripts.queueSetSid([k.caller(callSid)], [queueSid]), 'queueSetSid');
      return { stored: Number(r[0]) === 1, awaitedBy: r[1] ? String(r[1]) : null };
    },

    async awaitQueueSid(queue, callSid, offerId) {
      const k = q(queue);
      const r = reply(await scripts.queueAwaitSid([k.caller(callSid)], [offerId]), 'queueAwaitSid');
      return r[0] === 'sid' ? { result: 'sid', queueSid: String(r[1]) } : { result: r[0] === 'waiting' ? 'waiting' : 'gone' };
    },

    async stopAwaitingQueueSid(queue, callSid) {
      return (await redis.hdel(q(queue).caller(callSid), 'W')) === 1;
    },
  };
}

/** Reads: a caller's place and record, the queue's counts, handle times, arrivals and departures. */
function queueReads({
  redis,
  scripts,
  clock,
  q,
}: StoreDeps): Pick<
  QueueStore,
  | 'position'
  | 'callerInfo'
  | 'language'
  | 'enqueuedBefore'
  | 'snapshot'
  | 'tally'
  | 'recentHandleTimes'
  | 'pushHandleTime'
  | 'arrivalsSince'
  | 'leftSince'
> {
  return {
    async position(queue, callSid, at) {
      const k = q(queue);
      const r = await scripts.queuePosition([k.ready, k.held, k.caller(callSid)], [callSid]);
      if (!r) return null;
      const [ahead, size, state, enq] = r;
      if (!isCallerState(state)) return null;
      const enqueuedAt = Number(enq);
      const now = at ?? clock.now();
      return {
        position: Number(ahead) + 1,
        size: Number(size),
        state,
        enqueuedAt,
        waitSeconds: Math.max(0, (now - enqueuedAt) / 1000),
      };
    },

    async callerInfo(queue, callSid) {
      const h = await redis.hgetall(q(queue).caller(callSid));
      if (!isCallerState(h.s)) return null;
      return {
        ...decodeCaller(callSid, h),
        state: h.s,
        offerId: h.o ?? null,
        agentId: h.a ?? null,
        ewtToldSeconds: h.e === undefined ? null : Number(h.e),
        callback: h.b === '1',
        counted: h.n !== '0',
      };
    },

    async language(queue, callSid) {
      return redis.hget(q(queue).caller(callSid), 'l');
    },

    async enqueuedBefore(queue, before, limit) {
      return redis.zrangebyscore(q(queue).since, '-inf', `(${before}`, 'LIMIT', 0, Math.max(1, Math.floor(limit)));
    },

    async snapshot(queue, at) {
      const k = q(queue);
      const res = await redis
        .multi()
        .zcard(k.held)
        .zcard(k.ready)
        .scard(k.callbacks)
        .scard(k.offering)
        .zrange(k.since, 0, 0, 'WITHSCORES')
        .exec();
      if (!res) throw new Error('snapshot: transaction aborted');
      for (const x of res) if (x[0]) throw x[0];
      const n = (i: number): number => Number(res[i]?.[1] ?? 0);
      const ready = n(1);
      const size = n(0) + ready;
      const callbacks = n(2);
      const offered = n(3);
      const oldest = (res[4]?.[1] ?? []) as string[];
      const now = at ?? clock.now();
      return {
        waiting: size - callbacks,
        callbacksPending: callbacks,
        offered,
        bridging: Math.max(0, size - ready - offered),
        longestWaitSeconds: oldest[1] === undefined ? 0 : Math.max(0, (now - Number(oldest[1])) / 1000),
        size,
      };
    },

    async tally(queue) {
      const h = await redis.hgetall(q(queue).tally);
      const n = (f: string): number => Number(h[f] ?? 0);
      return {
        offered: n('offered'),
        answered: n('answered'),
        abandoned: n('abandoned'),
        shortAbandoned: n('short_abandoned'),
        overflow: n('overflow'),
        callback: n('callback'),
        inQueue: n('in_queue'),
        reentered: n('reentered'),
        callbackConnected: n('callback_connected'),
        callbackFailed: n('callback_failed'),
      };
    },

    async recentHandleTimes(queue, n) {
      if (n <= 0) return [];
      const rows = await redis.lrange(q(queue).handleTimes, 0, Math.min(n, HANDLE_TIMES_KEPT) - 1);
      return rows.map(Number).filter((x) => Number.isFinite(x));
    },

    async pushHandleTime(queue, seconds) {
      const k = q(queue);
      requireNumber(seconds, 'seconds');
      await redis
        .multi()
        .lpush(k.handleTimes, seconds)
        .ltrim(k.handleTimes, 0, HANDLE_TIMES_KEPT - 1)
        .exec();
    },

    async arrivalsSince(queue, sinceMs) {
      const k = q(queue);
      return Number(await scripts.queueArrivals([k.arrivals, k.legacyArrivals], [Math.max(0, Math.floor(sinceMs))]));
    },

    async leftSince(queue, sinceMs) {
      const rows = await redis.zrangebyscore(q(queue).left, sinceMs, '+inf');
      let abandoned = 0;
      let waitSeconds = 0;
      for (const row of rows) {
        const [wait, ab] = row.split('|');
        const w = Number(wait);
        if (Number.isFinite(w) && w > 0) waitSeconds += w;
        if (ab === '1') abandoned++;
      }
      return { left: rows.length, abandoned, waitSeconds };
    },
  };
}
