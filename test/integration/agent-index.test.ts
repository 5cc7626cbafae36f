/**
 * The agent index (signed-in, per-state and per-skill sets, counts per state and team) is kept by the agent
 * scripts themselves: after every operation of a long random run over a dozen agents (sign in and out,
 * breaks, offers accepted, rejected, withdrawn, timed out, failed bridges, calls, wrap-ups by hand and at
 * their deadline, lost sockets signed out at the end of their grace, skill and team changes from the
 * configuration) the index equals what a read of every agent hash gives, and so do the staffing figures
 * and counts the store answers from it. A missing or damaged index is rebuilt to the same.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAgentStore, type AgentStore } from '../../src/agents/store.js';
import { VirtualClock } from '../../src/clock.js';
import { AGENT_STATES, type AgentState } from '../../src/events.js';
import { createKeys, type Keys } from '../../src/store/keys.js';
import type { RedisClient } from '../../src/store/redis.js';
import { indexAndScan, staffedByScan } from '../helpers/agent-index.js';
import { newRedis, uniquePrefix } from '../helpers/redis.js';

let redis: RedisClient;
let keys: Keys;
let clock: VirtualClock;
let store: AgentStore;

beforeEach(() => {
  redis = newRedis();
  keys = createKeys(uniquePrefix('agentix'));
  clock = new VirtualClock();
  store = createAgentStore(redis, keys, clock);
});

afterEach(async () => {
  await redis.quit();
});

/** mulberry32: a seeded generator, so a failing run can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SKILLS = ['support', 'billing', 'fr', 'vip'];
const TEAMS = ['tier1', 'tier2', 'billing'];
const SKILL_SETS: string[][] = [[], ['support'], ['billing'], ['support', 'fr'], ['vip', 'billing'], ['nobody']];

async function expectIndexRight(step: string): Promise<void> {
  const { index, scan } = await indexAndScan(redis, keys);
  expect(index, step).toEqual(scan);
  for (const skills of SKILL_SETS) {
    const want = await staffedByScan(redis, keys, skills);
    expect(await store.staffedFor(skills), `${step}: staffedFor ${skills.join('+')}`).toEqual(want);
    const one = await store.staffedFor(skills, 1);
    expect(one, `${step}: staffedFor ${skills.join('+')} at most 1`).toEqual({
      staffed: Math.min(1, want.staffed),
      available: Math.min(1, want.available),
    });
  }
  const rows = await store.countByStateAndTeam();
  expect(Object.fromEntries(rows.map((r) => [`${r.state}|${r.team}`, r.count])), `${step}: counts`).toEqual(scan.counts);
  const byState = (await store.countByState()).byState;
  for (const st of AGENT_STATES) {
    const n = Object.entries(scan.counts)
      .filter(([f]) => f.startsWith(`${st}|`))
      .reduce((s, [, c]) => s + c, 0);
    expect(byState[st], `${step}: ${st}`).toBe(n);
  }
  for (const st of ['available', 'on_call'] as const) {
    expect(
      (await store.listInState(st)).map((a) => a.id),
      `${step}: listInState ${st}`,
    ).toEqual(scan.inState[st] ?? []);
  }
}

describe('agent index', () => {
  it('stays equal to a scan of every agent through a long random run of every operation', async () => {
    const next = rng(20261203);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
    const subset = (): string[] => SKILLS.filter(() => next() < 0.4);
    const ids = Array.from({ length: 12 }, (_, i) => `a${i}`);
    for (const id of ids) await store.upsertAgent({ id, team: pick(TEAMS), skills: subset(), contact: `client:${id}` });
    await expectIndexRight('created');
    let seq = 0;
    const seen = new Set<string>();
    const ignore = () => undefined;
    for (let step = 0; step < 400; step++) {
      // Half the steps move an agent that holds an offer or a call on, if there is one (read by a full list).
      const busy = (await store.list()).filter((x) => x.state === 'reserved' || x.state === 'on_call' || x.state === 'wrap_up');
      const onBusy = busy.length > 0 && next() < 0.5;
      const id = onBusy ? pick(busy).id : pick(ids);
      const a = (await store.get(id))!;
      const r = onBusy ? 1 : next();
      let op: string;
      if (r < 0.04) {
        op = 'upsert';
        await store.upsertAgent({ id, team: pick(TEAMS), skills: subset(), contact: `client:${id}` });
      } else if (r < 0.1) {
        op = 'time';
        await clock.advance(Math.floor(next() * 20_000));
        await store.expireOffers({ limit: 5 });
        await store.expireWrapUps({ limit: 5 });
        await store.expireGrace({ limit: 5 });
      } else if (r < 0.15) {
        op = 'socket';
        if (next() < 0.5) await store.disconnected({ agentId: id, instance: 'i1', graceMs: 5_000 });
        else await store.connected({ agentId: id, instance: 'i1' });
      } else if (r < 0.4) {
        op = 'reserve';
        const n = ++seq;
        await store.reserve({
          offerId: `of${n}`,
          queue: 'q',
          callSid: `CA${n}`,
          requiredSkills: pick(SKILL_SETS.slice(0, 5)),
          strategy: pick(['longest_idle', 'round_robin', 'fewest_calls'] as const),
          deadline: clock.now() + 8_000,
        });
      } else {
        const s: AgentState = a.state;
        op = `${s}:`;
        if (s === 'offline' || s === 'available' || s === 'break') {
          const to = pick(['available', 'available', 'available', 'break', 'offline'] as const);
          op += to;
          await store.setState({ agentId: id, to, reason: to === 'break' ? pick(['lunch', 'training']) : undefined }).catch(ignore);
        } else if (s === 'reserved') {
          const how = pick(['accept', 'accept', 'accept', 'reject', 'cancel', 'bridge', 'offline'] as const);
          op += how;
          const offer = { agentId: id, offerId: a.offerId! };
          if (how === 'accept') await store.acceptOffer(offer);
          else if (how === 'reject') await store.rejectOffer(offer);
          else if (how === 'cancel') await store.cancelOffer({ ...offer, reason: 'withdrawn', silent: next() < 0.5 });
          else if (how === 'bridge') await store.bridgeFailed(offer);
          else await store.setState({ agentId: id, to: 'offline' });
        } else if (s === 'on_call') {
          const how = pick(['connect', 'end', 'end0', 'bridge'] as const);
          op += how;
          if (how === 'connect') await store.callConnected({ agentId: id, callSid: a.callSid! });
          else if (how === 'bridge') await store.bridgeFailed({ agentId: id, offerId: a.offerId! });
          else await store.endCall({ agentId: id, callSid: a.callSid!, wrapUpSeconds: how === 'end0' ? 0 : 5 });
        } else {
          op += 'wrap';
          await store.wrapUp({ agentId: id, callSid: a.callSid!, disposition: 'resolved', code: '' });
        }
      }
      seen.add(op);
      await expectIndexRight(`step ${step} ${op} ${id}`);
    }
    // The run went through every state and every kind of operation.
    for (const op of ['upsert', 'time', 'socket', 'reserve', 'reserved:accept', 'reserved:reject', 'reserved:cancel', 'reserved:bridge'])
      expect(seen.has(op), op).toBe(true);
    for (const op of ['reserved:offline', 'on_call:end', 'on_call:end0', 'on_call:bridge', 'wrap_up:wrap', 'offline:available'])
      expect(seen.has(op), op).toBe(true);
  });

  it('is rebuilt from the agent hashes when missing or damaged, and a second rebuild changes nothing', async () => {
    await store.upsertAgent({ id: 'ann', team: 'tier1', skills: ['support'], contact: 'client:ann' });
    await store.upsertAgent({ id: 'ben', team: 'tier2', skills: ['support', 'billing'], contact: 'client:ben' });
    await store.upsertAgent({ id: 'cy', team: 'tier2', skills: ['billing'], contact: 'client:cy' });
    await store.setState({ agentId: 'ann', to: 'available' });
    await store.setState({ agentId: 'ben', to: 'break', reason: 'lunch' });
    const before = await indexAndScan(redis, keys);
    expect(before.index).toEqual(before.scan);
    const k = keys.agents;
    // An upgrade from a version without the index: none of its keys exist.
    const indexKeys = [k.signedIn, k.stateCounts, k.skills, ...AGENT_STATES.map(k.inState), ...['support', 'billing'].map(k.withSkill)];
    await redis.del(...indexKeys);
    expect(await store.staffedFor(['support'])).toEqual({ staffed: 0, available: 0 });
    expect(await store.rebuildIndex()).toEqual({ agents: 3, signedIn: 2 });
    expect((await indexAndScan(redis, keys)).index).toEqual(before.scan);
    // Damaged: a stray member, a wrong count, a skill set nobody has any more.
    await redis.sadd(k.withSkill('support'), 'cy');
    await redis.sadd(k.skills, 'gone');
    await redis.sadd(k.withSkill('gone'), 'ann');
    await redis.hincrby(k.stateCounts, 'offline|tier2', 5);
    await store.rebuildIndex();
    expect((await indexAndScan(redis, keys)).index).toEqual(before.scan);
    expect(await redis.exists(k.withSkill('gone'))).toBe(0);
    await store.rebuildIndex();
    expect((await indexAndScan(redis, keys)).index).toEqual(before.scan);
    expect(await store.staffedFor(['support'])).toEqual({ staffed: 2, available: 1 });
  });
});
