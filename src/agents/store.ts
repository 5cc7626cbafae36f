/**
 * The agent store: who is signed in, who is free, who holds which offer and call, in Redis, one Lua script
 * per state change (src/store/lua/agent*.lua). Each script appends the domain events it causes to
 * `keys.agents.events` and returns them; the functions here return them as `events` for the caller to
 * publish on the bus. Every key carries the `{agents}` hash tag, so each script runs on Redis Cluster.
 *
 * Data (see keys.ts):
 *   agent(id)       HASH: id, team, skills (comma list), contact, state, stateSince, breakReason, idleSince,
 *                   callsHandled (ever), callsToday + callsDay (UTC day number, for fewest_calls),
 *                   lastOfferSeq (round robin), offerId, offerCallSid, offerQueue, offerContactId,
 *                   offerDeadline, offerResult, callSid, callQueue, contactId, talkStartedAt, connectedAt,
 *                   holdStartedAt, holdMs (integer ms: exact), callEndedAt, wrapDeadline, lastCallSid,
 *                   lastDisposition, instance, connected (0/1), graceDeadline, graceMs.
 *   all             SET of agent ids.         available       ZSET agentId → idleSince (longest idle first).
 *   offerDeadlines  ZSET agentId → ms.        wrapDeadlines   ZSET agentId → ms.
 *   graceDeadlines  ZSET agentId → ms.        rr              STRING round-robin stamp.
 *
 * States and how they are entered (every change appends agent.state with secondsInFrom):
 *
 *   from \ to   available          break             offline           reserved  on_call  wrap_up
 *   offline     setState           setState          -                 .         .        .
 *   available   -                  setState          setState          reserve   .        .
 *   break       setState           setState(reason)  setState          .         .        .
 *   reserved    reject (back of    expireOffers      setState (offer   -         accept   .
 *               line), cancel,     (missed_offer)    released), grace
 *               bridgeFailed (keep
 *               place)
 *   on_call     bridgeFailed       .                 .                 .         -        endCall
 *               endCall(0 s)
 *   wrap_up     wrapUp,            .                 grace (auto       .         .        -
 *               expireWrapUps                        wrap-up first)
 *
 * Anything else is BAD_STATE (or STALE_OFFER / WRONG_CALL when the offer or call named is not the agent's).
 * Sweeps (expireOffers, expireWrapUps, expireGrace) take each due entry out of its index inside the script
 * that handles it, so they can run on every instance at once; they account each change at its deadline,
 * not at the moment the sweep ran, so results do not depend on how often the sweep runs.
 */
import type { Clock } from '../clock.js';
import { invalid } from '../errors.js';
import { DISPOSITIONS, type AgentState, type DomainEvent, type EventOf } from '../events.js';
import type { Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis.js';
import { createScripts } from '../store/scripts.js';

import { isState, toRecord, zeroCounts } from './store-types.js';
import type { AgentStore, OfferRef, Reservation, RoutingStrategy, SetStateResult, SettableState, WrapUpDone } from './store-types.js';

export type {
  RoutingStrategy,
  OfferOutcome,
  AgentRecord,
  OfferRef,
  Events,
  UpsertAgentInput,
  ReserveInput,
  Reservation,
  SettableState,
  SetStateResult,
  AgentCounts,
  WrapUpDone,
  AgentStore,
} from './store-types.js';

const STRATEGIES: readonly RoutingStrategy[] = ['longest_idle', 'round_robin', 'fewest_calls'];

const SETTABLE: readonly SettableState[] = ['available', 'break', 'offline'];

/** Skill and agent ids travel as comma lists inside the hash: no commas, no blanks. */
function checkToken(field: string, v: string): void {
  if (!v || /[,\s]/.test(v)) throw invalid(field, 'must be non-empty without commas or spaces');
}

function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1) throw invalid('limit', 'must be a positive integer');
  return limit;
}

function checkMs(field: string, v: number): number {
  if (!Number.isFinite(v)) throw invalid(field, 'must be a finite number');
  return Math.round(v);
}

/** A script reply: { result JSON or '', event JSON... }. */
function parseReply(raw: unknown, name: string): { result: string; events: DomainEvent[] } {
  if (!Array.isArray(raw) || raw.length === 0) throw new Error(`${name}: unexpected reply`);
  const [first, ...rest] = raw as unknown[];
  return {
    result: typeof first === 'string' ? first : '',
    events: rest.map((e) => JSON.parse(String(e)) as DomainEvent),
  };
}

function parseJson<T>(s: string): T | null {
  return s ? (JSON.parse(s) as T) : null;
}

/** Build the agent store on a client. Registers the scripts on it (src/store/scripts.ts). */
export function createAgentStore(redis: RedisClient, keys: Keys, clock: Clock): AgentStore {
  const k = keys.agents;
  const scripts = createScripts(redis);
  const releaseKeys = (agentId: string) => [k.agent(agentId), k.available, k.offerDeadlines, k.events] as const;

  /** HGETALL or HMGET for every agent in one round trip (reads need no atomicity). */
  async function readAll<T>(fields: readonly string[] | null, build: (id: string, values: unknown) => T | null): Promise<T[]> {
    const ids = (await redis.smembers(k.all)).sort();
    if (ids.length === 0) return [];
    const p = redis.pipeline();
    for (const id of ids) {
      if (fields) p.hmget(k.agent(id), ...fields);
      else p.hgetall(k.agent(id));
    }
    const res = (await p.exec()) ?? [];
    const out: T[] = [];
    ids.forEach((id, i) => {
      const [err, value] = res[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      const v = build(id, value);
      if (v !== null) out.push(v);
    });
    return out;
  }

  async function stateAndTeam(): Promise<{ state: AgentState; team: string }[]> {
    return readAll(['state', 'team'], (_id, v) => {
      const [state, team] = (v as (string | null)[]) ?? [];
      return isState(state ?? undefined) ? { state: state as AgentState, team: team ?? '' } : null;
    });
  }

  return {
    async upsertAgent(a) {
      checkToken('id', a.id);
      a.skills.forEach((s) => checkToken('skills', s));
      const r = await scripts.agentUpsert([k.agent(a.id), k.all], [a.id, a.team, a.skills.join(','), a.contact, clock.now()]);
      return { created: r === 'created' };
    },

    async get(agentId) {
      return toRecord(await redis.hgetall(k.agent(agentId)), clock.now());
    },

    async list() {
      const now = clock.now();
      return readAll(null, (_id, v) => toRecord((v ?? {}) as Record<string, string>, now));
    },

    async countByState() {
      const byState = zeroCounts();
      const byTeam: Record<string, Record<AgentState, number>> = {};
      for (const { state, team } of await stateAndTeam()) {
        byState[state]++;
        (byTeam[team] ??= zeroCounts())[state]++;
      }
      return { byState, byTeam };
    },

    async countByStateAndTeam() {
      const rows = new Map<string, { state: AgentState; team: string; count: number }>();
      for (const { state, team } of await stateAndTeam()) {
        const key = `${state}\u0000${team}`;
        const row = rows.get(key);
        if (row) row.count++;
        else rows.set(key, { state, team, count: 1 });
      }
      return [...rows.values()];
    },

    async staffedFor(skills) {
      const r = await scripts.agentStaffed([k.all, k.agentPrefix], [JSON.stringify(skills)]);
      const [staffed, available] = Array.isArray(r) ? (r as unknown[]).map(Number) : [];
      return { staffed: staffed ?? 0, available: available ?? 0 };
    },

    async setState({ agentId, to, reason, instance }) {
      if (!SETTABLE.includes(to)) throw invalid('to', `must be one of ${SETTABLE.join(', ')}`);
      const r = await parseReply(
        await scripts.agentSetState(releaseKeys(agentId), [to, reason ?? '', instance ?? '', clock.now()]),
        'agentSetState',
      );
      const res = parseJson<Omit<SetStateResult, 'events'>>(r.result);
      if (!res) throw new Error('agentSetState: no result');
      return { ...res, releasedOffer: res.releasedOffer ?? null, events: r.events };
    },

    async reserve(p) {
      if (!STRATEGIES.includes(p.strategy)) throw invalid('strategy', `must be one of ${STRATEGIES.join(', ')}`);
      p.requiredSkills.forEach((s) => checkToken('requiredSkills', s));
      const r = await parseReply(
        await scripts.agentReserve(
          [k.available, k.offerDeadlines, k.rr, k.events, k.agentPrefix],
          [
            p.offerId,
            p.queue,
            p.callSid,
            p.contactId ?? '',
            p.strategy,
            checkMs('deadline', p.deadline),
            clock.now(),
            JSON.stringify(p.requiredSkills),
            JSON.stringify(p.excludeAgents ?? []),
            p.onlyAgent ?? '',
          ],
        ),
        'agentReserve',
      );
      const res = parseJson<Omit<Reservation, 'events'>>(r.result);
      return res ? { ...res, events: r.events } : null;
    },

    async setOfferCall({ agentId, offerId, callSid, contactId }) {
      await scripts.agentSetOfferCall([k.agent(agentId)], [offerId, callSid, contactId ?? '']);
    },

    async acceptOffer({ agentId, offerId }) {
      const r = await parseReply(
        await scripts.agentAccept([k.agent(agentId), k.offerDeadlines, k.events], [offerId, clock.now()]),
        'agentAccept',
      );
      const res = parseJson<{ callSid: string; queue: string }>(r.result);
      if (!res) throw new Error('agentAccept: no result');
      return { ...res, events: r.events };
    },

    async rejectOffer({ agentId, offerId }) {
      const r = await parseReply(await scripts.agentReject(releaseKeys(agentId), [offerId, clock.now()]), 'agentReject');
      return { offer: parseJson<OfferRef>(r.result), events: r.events };
    },

    async cancelOffer({ agentId, offerId, silent }) {
      const r = await parseReply(
        await scripts.agentCancelOffer(releaseKeys(agentId), [offerId, silent ? '1' : '0', clock.now()]),
        'agentCancelOffer',
      );
      return { offer: parseJson<OfferRef>(r.result), events: r.events };
    },

    async expireOffers({ now, limit }) {
      const r = await parseReply(
        await scripts.agentExpireOffers(
          [k.offerDeadlines, k.events, k.agentPrefix],
          [checkMs('now', now ?? clock.now()), checkLimit(limit)],
        ),
        'agentExpireOffers',
      );
      return { expired: parseJson<OfferRef[]>(r.result) ?? [], events: r.events };
    },

    async bridgeFailed({ agentId, offerId }) {
      const r = await parseReply(await scripts.agentBridgeFailed(releaseKeys(agentId), [offerId, clock.now()]), 'agentBridgeFailed');
      return { events: r.events };
    },

    async callConnected({ agentId, callSid, contactId }) {
      const r = await scripts.agentCallConnected([k.agent(agentId)], [callSid, contactId ?? '', clock.now()]);
      return { first: r === 'connected', events: [] };
    },

    async hold({ agentId, callSid, on }) {
      const r = await parseReply(
        await scripts.agentHold([k.agent(agentId), k.events], [callSid, on ? '1' : '0', clock.now()]),
        'agentHold',
      );
      const res = parseJson<{ onHold: boolean; holdMs: number }>(r.result);
      return { onHold: res?.onHold ?? false, holdSeconds: (res?.holdMs ?? 0) / 1000, events: r.events };
    },

    async endCall({ agentId, callSid, wrapUpSeconds }) {
      if (!Number.isFinite(wrapUpSeconds) || wrapUpSeconds < 0) throw invalid('wrapUpSeconds', 'must be 0 or more');
      const r = await parseReply(
        await scripts.agentEndCall([k.agent(agentId), k.available, k.wrapDeadlines, k.events], [callSid, wrapUpSeconds, clock.now()]),
        'agentEndCall',
      );
      const res = parseJson<{ wrapDeadline?: number | null }>(r.result);
      return { wrapDeadline: res?.wrapDeadline ?? null, events: r.events };
    },

    async wrapUp({ agentId, callSid, disposition, code, auto }) {
      if (!DISPOSITIONS.includes(disposition)) throw invalid('disposition', `must be one of ${DISPOSITIONS.join(', ')}`);
      const r = await parseReply(
        await scripts.agentWrapUp(
          [k.agent(agentId), k.available, k.wrapDeadlines, k.events],
          [callSid, disposition, code, auto ? '1' : '0', clock.now()],
        ),
        'agentWrapUp',
      );
      const handled = r.events.find((e): e is EventOf<'call.handled'> => e.type === 'call.handled') ?? null;
      return { handled, events: r.events };
    },

    async expireWrapUps({ now, limit }) {
      const r = await parseReply(
        await scripts.agentExpireWrapUps(
          [k.wrapDeadlines, k.available, k.events, k.agentPrefix],
          [checkMs('now', now ?? clock.now()), checkLimit(limit)],
        ),
        'agentExpireWrapUps',
      );
      return { done: parseJson<WrapUpDone[]>(r.result) ?? [], events: r.events };
    },

    async connected({ agentId, instance }) {
      const state = await scripts.agentConnected([k.agent(agentId), k.graceDeadlines], [agentId, instance]);
      if (!isState(typeof state === 'string' ? state : undefined)) throw new Error('agentConnected: bad reply');
      return { state: state as AgentState, events: [] };
    },

    async disconnected({ agentId, instance, graceMs }) {
      const r = await scripts.agentDisconnected(
        [k.agent(agentId), k.graceDeadlines],
        [agentId, instance, checkMs('graceMs', Math.max(0, graceMs)), clock.now()],
      );
      return { graceDeadline: typeof r === 'number' ? r : null, events: [] };
    },

    async expireGrace({ now, limit }) {
      const r = await parseReply(
        await scripts.agentExpireGrace(
          [k.graceDeadlines, k.available, k.offerDeadlines, k.wrapDeadlines, k.events, k.agentPrefix],
          [checkMs('now', now ?? clock.now()), checkLimit(limit)],
        ),
        'agentExpireGrace',
      );
      const res = parseJson<{ signedOut: string[]; released: OfferRef[] }>(r.result);
      return { signedOut: res?.signedOut ?? [], released: res?.released ?? [], events: r.events };
    },
  };
}
