/**
 * The agent store's reads: records, and the counts and staffing figures of the agent index (kept by the
 * agent scripts, include/agent-index.lua), so that no webhook, routing attempt, sweep or scrape reads the
 * agents one by one. `list` alone reads every agent (the supervisor API).
 */
import { AGENT_STATES, type AgentState } from '../events.js';

import type { StoreBase } from './store-base.js';
import { isState, toRecord, zeroCounts } from './store-types.js';
import type { AgentStore } from './store-types.js';

type Reads = Pick<AgentStore, 'get' | 'list' | 'listInState' | 'countByState' | 'countByStateAndTeam' | 'staffedFor' | 'rebuildIndex'>;

/** The states an agent can be in while signed in (each has an index set). */
const SIGNED_IN_STATES = AGENT_STATES.filter((s) => s !== 'offline');

export function agentReads({ redis, k, clock, scripts, index }: StoreBase): Reads {
  /** HGETALL of each agent in one round trip (reads need no atomicity), sorted by id. */
  async function records(ids: string[]) {
    ids.sort();
    if (ids.length === 0) return [];
    const p = redis.pipeline();
    for (const id of ids) p.hgetall(k.agent(id));
    const res = (await p.exec()) ?? [];
    const now = clock.now();
    return ids.flatMap((_id, i) => {
      const [err, value] = res[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      const r = toRecord((value ?? {}) as Record<string, string>, now);
      return r ? [r] : [];
    });
  }

  /** The index's counts: `state|team` → agents. */
  async function counts(): Promise<{ state: AgentState; team: string; count: number }[]> {
    const h = await redis.hgetall(k.stateCounts);
    return Object.entries(h).flatMap(([field, n]) => {
      const cut = field.indexOf('|');
      const state = field.slice(0, cut);
      const count = Number(n);
      return cut > 0 && isState(state) && count > 0 ? [{ state, team: field.slice(cut + 1), count }] : [];
    });
  }

  return {
    async get(agentId) {
      return toRecord(await redis.hgetall(k.agent(agentId)), clock.now());
    },

    async list() {
      return records(await redis.smembers(k.all));
    },

    async listInState(state) {
      return (await records(await redis.smembers(k.inState(state)))).filter((a) => a.state === state);
    },

    async countByState() {
      const byState = zeroCounts();
      const byTeam: Record<string, Record<AgentState, number>> = {};
      for (const { state, team, count } of await counts()) {
        byState[state] += count;
        (byTeam[team] ??= zeroCounts())[state] += count;
      }
      return { byState, byTeam };
    },

    countByStateAndTeam: counts,

    async staffedFor(skills, atMost) {
      const limit = atMost === undefined ? 0 : Math.max(1, Math.floor(atMost));
      const r = await scripts.agentStaffed([k.signedIn, k.inState('available'), k.skillPrefix], [JSON.stringify(skills), limit]);
      const [staffed, available] = Array.isArray(r) ? (r as unknown[]).map(Number) : [];
      return { staffed: staffed ?? 0, available: available ?? 0 };
    },

    async rebuildIndex() {
      const r = await scripts.agentIndexRebuild([k.all, k.agentPrefix, ...index, k.skills], [JSON.stringify(SIGNED_IN_STATES)]);
      const [agents, signedIn] = Array.isArray(r) ? (r as unknown[]).map(Number) : [];
      return { agents: agents ?? 0, signedIn: signedIn ?? 0 };
    },
  };
}
