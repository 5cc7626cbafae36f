/**
 * Offers in flight: which caller was offered to which agent, with what the bridge needs (Twilio's
 * QueueSid, the numbers for a callback, the caller hash for repeat detection). Kept in Redis with a TTL,
 * indexed by agent and by call, so any instance can finish a bridge another instance started.
 */
import type { Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis.js';

export interface OfferRecord {
  offerId: string;
  agentId: string;
  queue: string;
  callSid: string;
  /** waiting / callback: a caller from the queue; transfer: a connected call handed over by another agent. */
  kind: 'waiting' | 'callback' | 'transfer';
  queueSid: string | null;
  contactId: string;
  callerHash: string;
  calledNumber: string;
  callbackTo: string;
  agentLegSid?: string;
  callbackLegSid?: string;
  /** Twilio's ConferenceSid, from the agent leg's Participants create answer (needed for hold, transfers, monitoring). */
  conferenceSid?: string;
  /** Set once the caller and the agent are connected. */
  connectedAt?: number;
  /** kind transfer: the agent handing the call over. */
  transferFrom?: string;
}

export interface OfferStore {
  /** Save (or update) an offer and point the agent and call indexes at it. */
  save(o: OfferRecord): Promise<void>;
  /** An offer by id. */
  get(offerId: string): Promise<OfferRecord | null>;
  /** The agent's current (latest) offer. */
  forAgent(agentId: string): Promise<OfferRecord | null>;
  /** The latest offer of a call. */
  forCall(callSid: string): Promise<OfferRecord | null>;
  /**
   * The first leg of `kind` Twilio told us about for this offer (a status callback or the REST answer),
   * set once: returns the winner. A second leg (a create retried after its answer was lost) loses.
   */
  claimLeg(offerId: string, kind: 'agent' | 'callback', callSid: string): Promise<string>;
  /** The claimed leg, if any. */
  leg(offerId: string, kind: 'agent' | 'callback'): Promise<string | null>;
  /** The caller requested the dequeue URL of this offer: the dequeue happened. */
  markDequeued(offerId: string): Promise<void>;
  wasDequeued(offerId: string): Promise<boolean>;
  /**
   * Take the offer's dequeue for `ms` (held by `holder`): false while another holds it. So an instance that
   * finishes a bridge left half done by one that died never runs a dequeue beside a live one.
   */
  claimDequeue(offerId: string, holder: string, ms: number): Promise<boolean>;
  /** Point the call's index back at an offer (a cancelled transfer hands the call back). */
  pointCall(o: OfferRecord): Promise<void>;
}

const TTL_SECONDS = 6 * 3600;

/** Build the offer store. */
export function createOfferStore(redis: RedisClient, keys: Keys): OfferStore {
  const k = keys.offers;
  const parse = (raw: string | null): OfferRecord | null => (raw ? (JSON.parse(raw) as OfferRecord) : null);
  const get = async (offerId: string) => parse(await redis.get(k.offer(offerId)));
  return {
    async save(o) {
      await redis
        .multi()
        .set(k.offer(o.offerId), JSON.stringify(o), 'EX', TTL_SECONDS)
        .set(k.byAgent(o.agentId), o.offerId, 'EX', TTL_SECONDS)
        .set(k.byCall(o.callSid), o.offerId, 'EX', TTL_SECONDS)
        .exec();
    },
    get,
    async forAgent(agentId) {
      const id = await redis.get(k.byAgent(agentId));
      return id ? get(id) : null;
    },
    async pointCall(o) {
      await redis.set(k.byCall(o.callSid), o.offerId, 'EX', TTL_SECONDS);
    },
    async forCall(callSid) {
      const id = await redis.get(k.byCall(callSid));
      return id ? get(id) : null;
    },
    async claimLeg(offerId, kind, callSid) {
      const key = k.leg(offerId, kind);
      const ok = await redis.set(key, callSid, 'EX', TTL_SECONDS, 'NX');
      return ok ? callSid : ((await redis.get(key)) ?? callSid);
    },
    async leg(offerId, kind) {
      return redis.get(k.leg(offerId, kind));
    },
    async markDequeued(offerId) {
      await redis.set(k.dequeued(offerId), '1', 'EX', TTL_SECONDS);
    },
    async wasDequeued(offerId) {
      return (await redis.exists(k.dequeued(offerId))) === 1;
    },
    async claimDequeue(offerId, holder, ms) {
      return (await redis.set(k.dequeuing(offerId), holder, 'PX', ms, 'NX')) === 'OK';
    },
  };
}
