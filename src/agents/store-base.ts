/**
 * What the parts of the agent store share: the client, its keys and scripts, the key lists the scripts take
 * (the agent index among them), argument checks and the scripts' reply format.
 */
import type { Clock } from '../clock.js';
import { invalid } from '../errors.js';
import type { DomainEvent } from '../events.js';
import type { AgentKeys, Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis.js';
import type { AgentIndexKeys, Scripts } from '../store/scripts.js';

export interface StoreBase {
  redis: RedisClient;
  k: AgentKeys;
  clock: Clock;
  scripts: Scripts;
  /** The agent index keys, last in the KEYS of every script that moves an agent. */
  index: AgentIndexKeys;
  /** KEYS of the scripts that may put an agent back in `available` from an offer (reject, cancel, ...). */
  releaseKeys(agentId: string): readonly [string, string, string, string, ...AgentIndexKeys];
}

export function storeBase(redis: RedisClient, keys: Keys, clock: Clock, scripts: Scripts): StoreBase {
  const k = keys.agents;
  const index = [k.signedIn, k.statePrefix, k.stateCounts, k.skillPrefix] as const;
  return {
    redis,
    k,
    clock,
    scripts,
    index,
    releaseKeys: (agentId) => [k.agent(agentId), k.available, k.offerDeadlines, k.events, ...index] as const,
  };
}

/** Skill and agent ids travel as comma lists inside the hash: no commas, no blanks. */
export function checkToken(field: string, v: string): void {
  if (!v || /[,\s]/.test(v)) throw invalid(field, 'must be non-empty without commas or spaces');
}

export function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1) throw invalid('limit', 'must be a positive integer');
  return limit;
}

export function checkMs(field: string, v: number): number {
  if (!Number.isFinite(v)) throw invalid(field, 'must be a finite number');
  return Math.round(v);
}

/** A script reply: { result JSON or '', event JSON... }. */
export function parseReply(raw: unknown, name: string): { result: string; events: DomainEvent[] } {
  if (!Array.isArray(raw) || raw.length === 0) throw new Error(`${name}: unexpected reply`);
  const [first, ...rest] = raw as unknown[];
  return {
    result: typeof first === 'string' ? first : '',
    events: rest.map((e) => JSON.parse(String(e)) as DomainEvent),
  };
}

export function parseJson<T>(s: string): T | null {
  return s ? (JSON.parse(s) as T) : null;
}
