/**
 * The agent index (kept by the agent scripts, src/store/lua/include/agent-index.lua) next to the same facts
 * computed by reading every agent hash, so a test can compare the two after each step.
 */
import { AGENT_STATES } from '../../src/events.js';
import type { Keys } from '../../src/store/keys.js';
import type { RedisClient } from '../../src/store/redis.js';

export interface IndexView {
  signedIn: string[];
  inState: Record<string, string[]>;
  counts: Record<string, number>;
  withSkill: Record<string, string[]>;
}

const sorted = (xs: string[]): string[] => [...xs].sort();

/** Both views: `index` read from the index keys, `scan` from every agent's hash. */
export async function indexAndScan(redis: RedisClient, keys: Keys): Promise<{ index: IndexView; scan: IndexView }> {
  const k = keys.agents;
  const scan: IndexView = { signedIn: [], inState: {}, counts: {}, withSkill: {} };
  const skills = new Set(await redis.smembers(k.skills));
  for (const id of sorted(await redis.smembers(k.all))) {
    const [state, team, sk] = await redis.hmget(k.agent(id), 'state', 'team', 'skills');
    if (!state) continue;
    const f = `${state}|${team ?? ''}`;
    scan.counts[f] = (scan.counts[f] ?? 0) + 1;
    for (const s of (sk ?? '').split(',').filter(Boolean)) {
      skills.add(s);
      if (state !== 'offline') (scan.withSkill[s] ??= []).push(id);
    }
    if (state === 'offline') continue;
    scan.signedIn.push(id);
    (scan.inState[state] ??= []).push(id);
  }
  const index: IndexView = { signedIn: sorted(await redis.smembers(k.signedIn)), inState: {}, counts: {}, withSkill: {} };
  for (const st of AGENT_STATES.filter((s) => s !== 'offline')) {
    const ids = sorted(await redis.smembers(k.inState(st)));
    if (ids.length) index.inState[st] = ids;
  }
  for (const [f, n] of Object.entries(await redis.hgetall(k.stateCounts))) index.counts[f] = Number(n);
  for (const s of skills) {
    const ids = sorted(await redis.smembers(k.withSkill(s)));
    if (ids.length) index.withSkill[s] = ids;
  }
  return { index, scan };
}

/** The staffed / available figures for `skills` computed from every agent's hash (what the index answers). */
export async function staffedByScan(
  redis: RedisClient,
  keys: Keys,
  skills: readonly string[],
): Promise<{ staffed: number; available: number }> {
  const k = keys.agents;
  let staffed = 0;
  let available = 0;
  for (const id of await redis.smembers(k.all)) {
    const [state, sk] = await redis.hmget(k.agent(id), 'state', 'skills');
    if (!state || state === 'offline') continue;
    const have = (sk ?? '').split(',');
    if (!skills.every((s) => have.includes(s))) continue;
    staffed++;
    if (state === 'available') available++;
  }
  return { staffed, available };
}
