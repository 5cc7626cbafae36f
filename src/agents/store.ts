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
 *   the agent index (kept by the same scripts, src/store/lua/include/agent-index.lua): signedIn SET,
 *   inState(state) SET per state other than offline, withSkill(skill) SET of the signed-in agents having it,
 *   stateCounts HASH `state|team` → agents, skills SET (for the rebuild at start-up). Staffing checks and
 *   the agent gauges read these, never the agents one by one.
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
import type { Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis.js';
import { createScripts } from '../store/scripts.js';

import { storeBase } from './store-base.js';
import { agentCalls } from './store-calls.js';
import { agentOffers } from './store-offers.js';
import { agentPresence } from './store-presence.js';
import { agentReads } from './store-reads.js';
import type { AgentStore } from './store-types.js';

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

/** Build the agent store on a client. Registers the scripts on it (src/store/scripts.ts). */
export function createAgentStore(redis: RedisClient, keys: Keys, clock: Clock): AgentStore {
  const base = storeBase(redis, keys, clock, createScripts(redis));
  return { ...agentReads(base), ...agentPresence(base), ...agentOffers(base), ...agentCalls(base) };
}
