/**
 * Staffing gauges from observed traffic, against a real Redis: the caller-patience estimate
 * (Σ waits of callers who left ÷ abandons, over the capacity window) and the Erlang A staffing it feeds.
 */
import type { RedisClient } from '../../src/store/redis.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAgentStore, type AgentStore } from '../../src/agents/store.js';
import { agentsForServiceLevel, erlangA } from '../../src/capacity/erlang.js';
import { VirtualClock } from '../../src/clock.js';
import type { CenterConfig } from '../../src/config/callcenter.js';
import { estimatePatienceSeconds, MIN_ABANDONS, staffingRows } from '../../src/queue/staffing.js';
import { createQueueStore, type QueueStore } from '../../src/queue/store.js';
import { createKeys } from '../../src/store/keys.js';
import { loadExample } from '../helpers/app.js';
import { newRedis, uniquePrefix } from '../helpers/redis.js';

const Q = 'support';
let redis: RedisClient;
let clock: VirtualClock;
let queues: QueueStore;
let agents: AgentStore;
let center: CenterConfig;

beforeEach(async () => {
  redis = newRedis();
  const keys = createKeys(uniquePrefix('staffing'));
  clock = new VirtualClock();
  queues = createQueueStore(redis, keys, clock);
  agents = createAgentStore(redis, keys, clock);
  center = await loadExample();
});

afterEach(async () => {
  await redis.quit();
});

/** A caller enters at `at` and leaves `waitS` later with `outcome` (the wait is what Twilio reports). */
async function visit(callSid: string, at: number, waitS: number, outcome: 'answered' | 'abandoned' | 'overflow'): Promise<void> {
  await queues.enqueue({
    queue: Q,
    callSid,
    contactId: `k-${callSid}`,
    callerHash: `h-${callSid}`,
    priority: 0,
    maxLength: 1000,
    whenNoAgents: 'wait',
    serviceLevelSeconds: 20,
    at,
  });
  await queues.leave({
    queue: Q,
    callSid,
    outcome,
    waitSeconds: waitS,
    shortAbandonSeconds: 5,
    serviceLevelSeconds: 20,
    at: at + waitS * 1000,
  });
}

describe('caller patience estimate', () => {
  it('is Σ waits ÷ abandons, and unknown below the minimum number of abandons', () => {
    expect(estimatePatienceSeconds({ waitSeconds: 1000, abandoned: 5 })).toBe(200);
    expect(estimatePatienceSeconds({ waitSeconds: 1000, abandoned: MIN_ABANDONS - 1 })).toBeNull();
    expect(estimatePatienceSeconds({ waitSeconds: 0, abandoned: 10 })).toBeNull();
    expect(estimatePatienceSeconds({ waitSeconds: 50, abandoned: 1 }, 1)).toBe(50);
  });

  it('recovers the mean of exponential patience from censored waits (simulated M/M/N+M-like sample)', () => {
    // Callers with exponential patience (mean 120 s) and an independent exponential time to answer
    // (mean 60 s): a caller abandons when patience comes first, and waits min(patience, answer).
    let seed = 12345;
    const u = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) + 0.5) / 2 ** 31;
    let waitSeconds = 0;
    let abandoned = 0;
    for (let i = 0; i < 20_000; i++) {
      const patience = -120 * Math.log(u());
      const answer = -60 * Math.log(u());
      waitSeconds += Math.min(patience, answer);
      if (patience < answer) abandoned++;
    }
    const est = estimatePatienceSeconds({ waitSeconds, abandoned })!;
    // About 6 700 abandons: relative standard error ~1.2 %, so 5 % is four standard errors.
    expect(Math.abs(est - 120) / 120).toBeLessThan(0.05);
  });
});

describe('staffing rows', () => {
  it('sums the waits of every caller who left in the window and counts abandons (short ones too)', async () => {
    const t0 = clock.now();
    await visit('CA1', t0, 30, 'answered');
    await visit('CA2', t0, 90, 'abandoned');
    await visit('CA3', t0, 3, 'abandoned'); // a short abandon is still an abandon here
    await visit('CA4', t0, 900, 'overflow');
    expect(await queues.leftSince(Q, t0)).toEqual({ left: 4, abandoned: 2, waitSeconds: 1023 });
    // The window: only leaves at or after `since` count.
    expect(await queues.leftSince(Q, t0 + 60_000)).toEqual({ left: 2, abandoned: 1, waitSeconds: 990 });
  });

  it('reports Erlang A from the observed patience next to Erlang C, and null before enough abandons', async () => {
    await agents.upsertAgent({ id: 'ann', team: 'tier1', skills: ['support'], contact: 'client:ann' });
    await agents.setState({ agentId: 'ann', to: 'available' });
    const windowMs = center.thresholds.capacityWindowSeconds * 1000;
    const t0 = clock.now();
    // 40 callers over the window: every 4th abandons after 100 s, the others are answered after 20 s.
    for (let i = 0; i < 10; i++) await queues.pushHandleTime(Q, 240);
    for (let i = 0; i < 40; i++) {
      if (i === 9) {
        // So far 3 abandons (callers 0, 4, 8): too few for an estimate.
        const before = (await staffingRows({ center, queues, agents, now: t0 + 9 * 60_000 })).find((r) => r.queue === Q)!;
        expect(before.patienceSeconds).toBeNull();
        expect(before.requiredErlangA).toBeNull();
        expect(before.requiredErlangC).toBeGreaterThan(0);
      }
      await visit(`CA${i}`, t0 + i * 60_000, i % 4 === 0 ? 100 : 20, i % 4 === 0 ? 'abandoned' : 'answered');
    }
    const now = t0 + 40 * 60_000;

    const row = (await staffingRows({ center, queues, agents, now })).find((r) => r.queue === Q)!;
    const inWindow = Array.from({ length: 40 }, (_, i) => i).filter(
      (i) => t0 + i * 60_000 + (i % 4 === 0 ? 100_000 : 20_000) >= now - windowMs,
    );
    const abandons = inWindow.filter((i) => i % 4 === 0).length;
    const waits = inWindow.reduce((s, i) => s + (i % 4 === 0 ? 100 : 20), 0);
    expect(abandons).toBeGreaterThanOrEqual(MIN_ABANDONS);
    expect(row.patienceSeconds).toBeCloseTo(waits / abandons, 9);
    expect(row.ahtSeconds).toBe(240);
    expect(row.staffed).toBe(1);

    const base = {
      arrivalsPerHour: row.arrivalsPerHour,
      ahtSeconds: 240,
      targetSeconds: 20,
      targetServiceLevel: center.thresholds.serviceLevelTarget,
    };
    const a = agentsForServiceLevel({ ...base, patienceSeconds: waits / abandons });
    expect(row.requiredErlangA).toBe(a.agents);
    expect(row.requiredErlangC).toBe(agentsForServiceLevel(base).agents);
    // Impatient callers leave, so Erlang A never needs more agents than Erlang C, and its answer meets the target.
    expect(row.requiredErlangA!).toBeLessThanOrEqual(row.requiredErlangC);
    expect(
      erlangA({
        arrivalsPerHour: row.arrivalsPerHour,
        ahtSeconds: 240,
        targetSeconds: 20,
        agents: row.requiredErlangA!,
        patienceSeconds: row.patienceSeconds!,
      }).serviceLevel,
    ).toBeGreaterThanOrEqual(0.8);
  });

  it("uses the queue's expectedHandleSeconds before any call was handled", async () => {
    const custom = { ...center, queues: { ...center.queues, support: { ...center.queues.support!, expectedHandleSeconds: 95 } } };
    const row = (await staffingRows({ center: custom, queues, agents, now: clock.now() })).find((r) => r.queue === Q)!;
    expect(row.ahtSeconds).toBe(95);
  });
});
