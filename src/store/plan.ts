/**
 * The current interval's staffing plan in Redis (src/capacity/live.ts computes it): one JSON string that
 * expires with its interval, and a lock so one instance computes each interval's plan. Single-key
 * commands, atomic on their own.
 */
import type { CurrentPlan, PlanStore } from '../capacity/live.js';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';

export function createPlanStore(redis: RedisClient, keys: Keys): PlanStore {
  return {
    async load() {
      const raw = await redis.get(keys.plan.current);
      return raw ? (JSON.parse(raw) as CurrentPlan) : null;
    },
    async save(plan) {
      // Kept a little past its interval so a late scrape still finds it; metrics ignore it once stale.
      const ttl = Math.max(1000, plan.to - plan.from) * 2;
      await redis.set(keys.plan.current, JSON.stringify(plan), 'PX', ttl);
    },
    async claim(from, ttlMs) {
      return (await redis.set(keys.plan.lock, String(from), 'PX', ttlMs, 'NX')) === 'OK';
    },
  };
}
