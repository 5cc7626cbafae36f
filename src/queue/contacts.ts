/**
 * Repeat contacts for verified first-contact resolution (metrics.md): a handled call is "repeated" when
 * the same caller (keyed hash) calls again within the repeat window. Each handled call counts as repeated
 * at most once; the repeat is attributed to the first call's queue, and is "over-claimed" when that call
 * was dispositioned resolved.
 */
import type { DomainEvent, Disposition } from '../events.js';
import type { Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis.js';
import type { Scripts } from '../store/scripts.js';

interface HandledRecord {
  at: number;
  queue: string;
  disposition: Disposition;
  callSid: string;
  repeated: boolean;
}

export interface ContactStore {
  /** A new call from this caller: count a repeat of their last handled call if it is within the window. */
  checkRepeat(callerHash: string, callSid: string, now: number, windowSeconds: number): Promise<DomainEvent[]>;
  /** Earlier calls from this caller within the window (for the agent's offer). */
  recentCount(callerHash: string, now: number, windowSeconds: number, excludeCallSid?: string): Promise<number>;
  /** Remember a handled call (after wrap-up) as the caller's latest. */
  handled(
    callerHash: string,
    e: { at: number; queue: string; disposition: Disposition; callSid: string },
    windowSeconds: number,
  ): Promise<void>;
}

/** Build the contact store (keys under the {x} tag). */
export function createContactStore(redis: RedisClient, keys: Keys, scripts: Pick<Scripts, 'contactRepeat'>): ContactStore {
  return {
    async checkRepeat(callerHash, callSid, now, windowSeconds) {
      if (!callerHash) return [];
      const r = await scripts.contactRepeat(
        [keys.repeatIndex, keys.callerCalls(callerHash)],
        [callerHash, callSid, now, windowSeconds * 1000],
      );
      if (!r) return [];
      return [
        {
          type: 'contact.repeat',
          at: now,
          queue: r[0],
          overclaimed: r[1] === 'resolved',
          callSid,
          ...(r[2] ? { previousCallSid: r[2] } : {}),
        },
      ];
    },
    async recentCount(callerHash, now, windowSeconds, excludeCallSid) {
      if (!callerHash) return 0;
      const members = await redis.zrangebyscore(keys.callerCalls(callerHash), now - windowSeconds * 1000, '+inf');
      return members.filter((m) => m !== excludeCallSid).length;
    },
    async handled(callerHash, e, _windowSeconds) {
      if (!callerHash) return;
      const rec: HandledRecord = { at: e.at, queue: e.queue, disposition: e.disposition, callSid: e.callSid, repeated: false };
      await redis.hset(keys.repeatIndex, callerHash, JSON.stringify(rec));
    },
  };
}
