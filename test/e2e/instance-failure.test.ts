/**
 * An instance dies under load. Three real server processes (`src/main.ts`, configured through the
 * environment) share one Redis behind a round-robin front; callers arrive from the Twilio emulator in
 * real time, six simulated agents are spread over the three instances' WebSockets. While calls flow,
 * one instance is killed with SIGKILL at a moment when an agent connected to it holds an offer, just
 * after the front handed it a webhook (sent again to a survivor, as a load balancer retries). The
 * survivors must serve every call: each caller is answered exactly once, by one agent, no agent is on two
 * calls at once, the dead instance's agents sign in again elsewhere, and the offer that was in flight is
 * re-offered when its deadline passes (swept by a surviving instance).
 *
 * Real time (processes cannot share a virtual clock), so it runs about 30 s and asserts outcomes only.
 * It runs in both vitest projects: on one redis-server (REDIS_URL), and in the `cluster` project on the
 * three-master Redis Cluster (REDIS_CLUSTER_NODES), where the processes' pub/sub and every script run on
 * the cluster.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import type { DomainEvent } from '../../src/events.js';
import { startSimulatedAgent, type SimulatedAgent } from '../../src/sim/agents.js';
import { createTwilioEmulator, type Call, type GatherContext, type TwilioEmulator } from '../../src/sim/twilio/index.js';
import { createKeys } from '../../src/store/keys.js';
import { traceAgents, traceCall } from '../helpers/call-trace.js';
import { ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE, SUPERVISOR_TOKEN } from '../helpers/app.js';
import {
  agentToken,
  startInstance,
  startRoundRobin,
  tempDir,
  writeCenterFile,
  type Instance,
  type RoundRobin,
} from '../helpers/instances.js';
import type { RedisClient } from '../../src/store/redis.js';
import { clusterNodes, newRedis, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { NUMBER } from '../helpers/stack.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const AGENTS = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
/** Connected to the victim (i0) with a1, and slow to reconnect. */
const SLOW = 'a4';
const CALLS = 40;
const CALL_EVERY_MS = 500;

const cleanups: (() => Promise<void> | void)[] = [];
let instances: Instance[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Domain events of a stream (each entry: type, data = JSON). */
async function streamEvents(redis: RedisClient, key: string): Promise<DomainEvent[]> {
  const rows = await redis.xrange(key, '-', '+');
  return rows.map(([, f]) => JSON.parse(f[f.indexOf('data') + 1]!) as DomainEvent);
}

const caller = {
  patienceMs: 180_000,
  // A cap, in case an agent misses its call messages while reconnecting; agents normally hang up first.
  talkMs: 12_000,
  gather: (ctx: GatherContext) => {
    const h = ctx.heard.join(' ');
    if (h.includes('For English')) return { digits: '1', delayMs: 50 };
    if (h.includes('technical support, press 2')) return { digits: '2', delayMs: 50 };
    return null;
  },
};

describe('an instance dies under load', () => {
  it('three processes behind a round-robin front, one SIGKILLed mid-load: every call served once, agents reconnect, in-flight offers re-offered', async () => {
    const tmp = tempDir('sb-instances-');
    cleanups.push(tmp.remove);
    const prefix = uniquePrefix('kill');
    const keys = createKeys(prefix);
    const redis = newRedis();
    cleanups.push(() => void redis.disconnect());

    const backends: { id: string; port: number }[] = [];
    // The victim is killed right after the front has handed it a webhook, so one request dies with it.
    let killOnNextRequestTo: string | undefined;
    let killedWith: string | undefined;
    const front: RoundRobin = await startRoundRobin(backends, (id, path) => {
      if (id !== killOnNextRequestTo) return;
      killOnNextRequestTo = undefined;
      killedWith = path.split('?')[0];
      instances.find((i) => i.id === id)?.proc.kill('SIGKILL');
    });
    cleanups.push(() => front.close());
    const emu: TwilioEmulator = await createTwilioEmulator({
      clock: systemClock,
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      webhookBase: front.url,
      publicBaseUrl: PUBLIC_BASE,
      numbers: { [NUMBER]: { voiceUrl: '/twilio/voice', fallbackUrl: '/twilio/fallback', statusCallback: '/twilio/status' } },
      seed: 11,
      wordsPerMinute: 3000,
      minSayMs: 50,
    });
    cleanups.push(() => emu.close());

    const env = {
      // In the `cluster` vitest project the processes use the three-master cluster (REDIS_CLUSTER_NODES).
      ...(clusterNodes() ? { REDIS_CLUSTER_NODES: clusterNodes()!.join(',') } : { REDIS_URL: redisUrl() }),
      REDIS_PREFIX: prefix,
      PUBLIC_BASE_URL: PUBLIC_BASE,
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_API_BASE_URL: emu.restBaseUrl,
      SWITCHBOARD_CONFIG: writeCenterFile(tmp.dir, { agents: AGENTS, offerTimeoutSeconds: 3, wrapUpSeconds: 5 }),
      CALLER_HASH_KEY: 'test-caller-hash-key-0123456789',
      SUPERVISOR_TOKEN,
      LOG_LEVEL: 'warn',
      DATA_DIR: tmp.dir,
    };
    instances = await Promise.all(['i0', 'i1', 'i2'].map((id) => startInstance(id, env)));
    cleanups.push(() => Promise.all(instances.map((i) => i.kill())).then(() => undefined));
    backends.push(...instances.map((i) => ({ id: i.id, port: i.port })));
    const [victim] = instances;
    const ws = instances.map((i) => `ws://127.0.0.1:${i.port}/agent/ws`);

    // What the agents did (shown when a call is stuck); t0 is reset when the first call is placed.
    const agentLog: string[] = [];
    let t0 = Date.now();
    const agents: SimulatedAgent[] = AGENTS.map((id, n) => {
      emu.registerEndpoint(`client:${id}`, { answer: true, answerDelayMs: 200 });
      const first = n % instances.length;
      return startSimulatedAgent({
        wsUrl: ws[first]!,
        otherWsUrls: [...ws.slice(first + 1), ...ws.slice(0, first)],
        token: agentToken(id),
        clock: systemClock,
        // a4 is slow to accept too, so it is usually holding an offer when the victim is killed.
        acceptDelayMs: id === SLOW ? 2500 : 1000,
        handleTimeMs: () => 1500 + Math.round(Math.random() * 1000),
        wrapUpMs: () => 300,
        disposition: () => 'resolved',
        // a4's desk takes longer to come back than an offer lasts (3 s); the others reconnect at once.
        reconnectDelayMs: id === SLOW ? 5000 : 200,
        log: (line) => agentLog.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${line}`),
      });
    });
    cleanups.push(() => Promise.all(agents.map((a) => a.stop())).then(() => undefined));
    const onVictim = AGENTS.filter((_, n) => n % instances.length === 0);

    // Everyone signed in and available before the first call.
    for (let i = 0; ; i++) {
      const states = await Promise.all(AGENTS.map((id) => redis.hget(keys.agents.agent(id), 'state')));
      if (states.every((s) => s === 'available')) break;
      if (i > 200) throw new Error(`agents not available: ${states.join(',')}`);
      await sleep(50);
    }

    t0 = Date.now();
    const calls: Call[] = [];
    const placing = (async () => {
      for (let i = 0; i < CALLS; i++) {
        calls.push(emu.placeCall({ from: `+1555300${String(1000 + i)}`, to: NUMBER, behaviour: caller }));
        await sleep(CALL_EVERY_MS);
      }
    })();

    // Kill the victim about 8 s in, at a moment when one of its agents holds an offer, right after the
    // front handed it a webhook.
    await sleep(8000);
    let heldOffer: { agentId: string; offerId: string; callSid: string } | undefined;
    for (let i = 0; i < 300 && !heldOffer; i++) {
      const [state, instance, offerId, callSid] = await redis.hmget(
        keys.agents.agent(SLOW),
        'state',
        'instance',
        'offerId',
        'offerCallSid',
      );
      if (state === 'reserved' && instance === victim!.id && offerId && callSid) heldOffer = { agentId: SLOW, offerId, callSid };
      else await sleep(20);
    }
    killOnNextRequestTo = victim!.id;
    await Promise.race([sleep(3000), new Promise<void>((r) => victim!.proc.once('exit', () => r()))]);
    await victim!.kill();
    const killedAtMs = Date.now() - t0;
    // Still held when the process died (not accepted in the meantime): that offer must time out and go to
    // someone else.
    if (heldOffer) {
      const [state, offerId] = await redis.hmget(keys.agents.agent(heldOffer.agentId), 'state', 'offerId');
      if (state !== 'reserved' || offerId !== heldOffer.offerId) heldOffer = undefined;
    }
    const callsBeforeKill = calls.length;
    await placing;

    // What a failure says about the calls it names: the emulator's view, their webhooks and REST requests,
    // their Redis state, the agents, the survivors' logs.
    const explain = async (sids: string[]): Promise<string> => {
      const trace = { emu, redis, keys, queues: ['support', 'billing'], agentIds: AGENTS, t0 };
      return [
        `killed at ${(killedAtMs / 1000).toFixed(1)} s (victim ${victim!.id}, with ${killedWith ?? 'no request'}); held offer ${JSON.stringify(heldOffer)}`,
        ...(await Promise.all(sids.map((sid) => traceCall(trace, sid)))),
        await traceAgents(trace),
        `agents: ${JSON.stringify(agents.map((a, n) => ({ id: AGENTS[n], ...a.stats })))}`,
        `agent log (last 80):\n${agentLog.slice(-80).join('\n')}`,
        `survivors' logs:\n${instances
          .slice(1)
          .map((i) => `${i.id}: ${i.output().slice(-4000)}`)
          .join('\n')}`,
      ].join('\n');
    };
    // Every caller's call ends (agents hang up after their handle time).
    const summaries = await Promise.race([
      Promise.all(calls.map((c) => c.ended)),
      sleep(60_000).then(async () => {
        const up = calls.filter((c) => c.endedAt === undefined);
        throw new Error(`calls still up 60 s after the last arrival: ${up.length}\n${await explain(up.map((c) => c.sid))}`);
      }),
    ]);
    // Wrap-ups finish (by the agent, or by the wrap-up deadline when the agent missed the message).
    let handled: DomainEvent[] = [];
    for (let i = 0; i < 150; i++) {
      handled = (await streamEvents(redis, keys.agents.events)).filter((e) => e.type === 'call.handled');
      if (handled.length >= CALLS) break;
      await sleep(100);
    }

    // 1. Every caller was answered exactly once, by an agent, and left the queue no other way.
    const sids = new Set(calls.map((c) => c.sid));
    const left = (await streamEvents(redis, keys.queue('support').events)).filter((e) => e.type === 'queue.left');
    const answered = new Map<string, number>();
    const otherwise: string[] = [];
    for (const e of left) {
      if (e.type !== 'queue.left' || !sids.has(e.callSid)) continue;
      if (e.outcome !== 'answered') otherwise.push(`${e.callSid} ${e.outcome}`);
      else answered.set(e.callSid, (answered.get(e.callSid) ?? 0) + 1);
    }
    expect(otherwise, otherwise.length ? await explain(otherwise.map((x) => x.split(' ')[0]!)) : '').toEqual([]);
    const unanswered = calls.filter((c) => !answered.has(c.sid)).map((c) => c.sid);
    expect(unanswered, unanswered.length ? await explain(unanswered) : '').toEqual([]);
    expect(answered.size).toBe(CALLS);
    expect([...answered.values()].every((n) => n === 1)).toBe(true);
    expect(summaries.every((s) => s.status === 'completed')).toBe(true);
    expect(summaries.flatMap((s) => s.queueResults).filter((r) => r === 'hangup' || r === 'error')).toEqual([]);
    // Handled (wrap-up done) exactly once per call.
    const handledPer = new Map<string, number>();
    for (const e of handled) if (e.type === 'call.handled') handledPer.set(e.callSid, (handledPer.get(e.callSid) ?? 0) + 1);
    const unhandled = calls.filter((c) => !handledPer.has(c.sid)).map((c) => c.sid);
    expect(unhandled, unhandled.length ? await explain(unhandled) : '').toEqual([]);
    expect(handledPer.size).toBe(CALLS);
    expect([...handledPer.values()].every((n) => n === 1)).toBe(true);

    // 2. In Twilio's view: each caller's conference had exactly one agent leg join, and no agent phone was
    //    in two conferences at once.
    const intervals = new Map<string, [number, number][]>();
    for (const c of calls) {
      const conf = [...emu.conferences.values()].filter((x) => x.friendlyName === `sb-${c.sid}`);
      const joins = conf.flatMap((x) => x.events.filter((e) => e.event === 'participant-join' && e.callSid && e.callSid !== c.sid));
      expect(joins.length, `agents joined the conference of ${c.sid}`).toBe(1);
      for (const x of conf) {
        for (const j of x.events.filter((e) => e.event === 'participant-join' && e.callSid && e.callSid !== c.sid)) {
          const leg = emu.calls.get(j.callSid!);
          const leave = x.events.find((e) => e.event === 'participant-leave' && e.callSid === j.callSid);
          const agent = leg?.to ?? '?';
          intervals.set(agent, [...(intervals.get(agent) ?? []), [j.at, leave?.at ?? x.endedAt ?? Date.now()]]);
        }
      }
    }
    let doubleAssignments = 0;
    for (const list of intervals.values()) {
      list.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < list.length; i++) if (list[i]![0] < list[i - 1]![1]) doubleAssignments++;
    }
    expect(doubleAssignments).toBe(0);

    // 3. The dead instance's agents signed in again on a survivor and kept taking calls.
    for (const id of onVictim) {
      const a = agents[AGENTS.indexOf(id)]!;
      expect(a.stats.reconnects, `${id} reconnected`).toBeGreaterThanOrEqual(1);
      expect(a.stats.instances.at(-1)).not.toBe(victim!.id);
      expect(await redis.hget(keys.agents.agent(id), 'instance')).not.toBe(victim!.id);
    }
    const servedBy = new Map<string, number>();
    for (const e of left) if (e.type === 'queue.left' && e.agentId) servedBy.set(e.agentId, (servedBy.get(e.agentId) ?? 0) + 1);
    for (const id of AGENTS) expect(servedBy.get(id) ?? 0, `${id} answered calls`).toBeGreaterThan(0);

    // 4. The offer in flight on the dead instance (held by the agent whose desk is slow to come back)
    //    timed out, swept by a survivor, and its caller was offered again and answered.
    //    (An agent who reconnects at once is handed its open offer again and may accept it there.)
    const offerResults = (await streamEvents(redis, keys.agents.events)).filter((e) => e.type === 'offer.result');
    const timeouts = offerResults.filter((e) => e.type === 'offer.result' && e.result === 'timeout');
    expect(heldOffer, 'a4 held an offer on the victim when it died').toBeDefined();
    if (heldOffer) {
      const held = heldOffer;
      const results = offerResults.filter((e) => e.type === 'offer.result' && e.callSid === held.callSid);
      // Offered again after the timeout (to whoever was free first, a4 too once back) and accepted.
      expect(results.map((e) => (e.type === 'offer.result' ? `${e.agentId}:${e.result}` : ''))).toEqual(
        expect.arrayContaining([`${held.agentId}:timeout`, expect.stringMatching(/:accepted$/)]),
      );
      expect(results.at(-1)).toMatchObject({ result: 'accepted' });
      expect(answered.get(held.callSid)).toBe(1);
    }

    // The webhook the victim died with was sent again to a survivor; no webhook went unanswered.
    expect(killedWith).toBeDefined();
    expect(front.stats.inFlight).toBeGreaterThanOrEqual(1);
    expect(front.stats.failed).toBe(0);
    expect(instances.slice(1).every((i) => !i.exited)).toBe(true);
    const figures = {
      calls: CALLS,
      callsBeforeKill,
      killedAtSeconds: Math.round(killedAtMs / 100) / 10,
      heldOffer: Boolean(heldOffer),
      callsLost: CALLS - answered.size,
      doubleAssignments,
      reconnects: agents.reduce((n, a) => n + a.stats.reconnects, 0),
      offerTimeouts: timeouts.length,
      frontRetries: front.stats.retried,
      webhooksInFlightOnVictim: front.stats.inFlight,
      killedWith,
      requestsBy: front.stats.byBackend,
      emulatorErrors: emu.errors.map((e) => `${e.code} ${e.message}`),
    };
    console.log(`instance failure (${clusterNodes() ? 'cluster' : 'standalone'}):`, JSON.stringify(figures));
  }, 180_000);
});
