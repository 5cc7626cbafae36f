/**
 * The Erlang A check (issue 5): thousands of calls through the real server and a real Redis, in virtual
 * time, against the M/M/N+M model.
 *
 * Callers arrive as a Poisson stream (CallerPopulation), go straight from the IVR into one queue and hang up
 * after an exponential patience; N simulated agents over the real agent WebSocket (src/sim/agents.ts) accept
 * at once and talk for an exponential handle time, with no wrap-up. Service level, abandonment and ASA are
 * read from `/metrics` (docs/metrics.md) and compared with `erlangA` (src/capacity/erlang.ts).
 *
 * Making the system the model:
 * - The IVR is one queue node with no prompt; the queue has no keys (no Gather) and hold music plays
 *   600 s between announcements, so the caller's patience clock (the emulator's, started at <Enqueue>) and
 *   the server's wait clock (started at the enqueue in Redis) start at the same virtual instant.
 * - Agent reservation, accept, the REST dial of the agent (who answers at once), the dequeue and the wrap-up
 *   all happen in zero virtual time: the clock does not move while anything is in flight — HTTP either way
 *   (the emulator's tracker), a Redis command of the app, a message published for an agent and not yet
 *   received, or an agent command not yet answered (all registered with `emu.inflight`). So the agent's
 *   busy time is its handle time, and no caller waits for a message on the wire.
 * - shortAbandonSeconds is 0, so the project's definitions (short abandons excluded) equal the model's
 *   (everything offered counts); maxWaitSeconds is a day, so no caller overflows.
 * - Remaining deviations, all small: Twilio's QueueTime (the wait of an abandon) is whole seconds (does not
 *   enter SL, abandonment or ASA of answered calls); the sweeper runs every 10 s (routing is event-driven:
 *   enqueue, agent free); the run starts empty (warm-up below).
 *
 * Warm-up: the first WARMUP of virtual time (15 mean handle times) is discarded by subtracting the counters
 * read at its end. Calls waiting at that moment are counted as offered before it and as answered or
 * abandoned after it: at most a few calls of thousands.
 *
 * Tolerance. Queueing makes consecutive calls strongly correlated, so binomial standard errors (about 1 pp
 * for SL over 3 000 calls) understate the spread several times. The spread is measured instead, by a plain
 * M/M/N+M simulation (src/capacity/simulate.ts) of runs of the same length: over 3 000 calls SL varies by
 * about 3.2 pp, abandonment 1.3 pp and ASA 11 % (1 SD). Most of that comes from the run's own arrival rate,
 * handle times and patience being off their nominal values; against Erlang A evaluated at the run's realised
 * parameters (arrival rate from the offers, AHT from `switchboard_handle_seconds`, mean of the patience the
 * callers drew) it is 1.3 pp, 0.5 pp and 5.5 %. So the check is two-fold:
 *   - realised parameters: SL ±4 pp, abandonment ±2 pp, ASA ±18 % (each at least 3 SD, asserted below);
 *   - nominal parameters: ±3.3 SD of the reference simulation (about ±10 pp, ±4 pp, ±35 %).
 * The reference simulation's own means agree with Erlang A (checked too): the formulas are right, and a
 * failure here means the server, Redis scripts, routing or emulator make the system deviate from M/M/N+M.
 *
 * EWT: every answered caller's first estimate told and actual wait (from the app's event bus) give the mean
 * and mean absolute error of the estimate, printed with the rest (the queue's expectedHandleSeconds is
 * left at its default 180 s against a true 120 s, to show the cold start).
 *
 * Env: ERLANG_CALLS (calls after warm-up, default 3000), ERLANG_SETTLE_TURNS (idle event-loop turns before
 * the emulator counts as settled, default 10). The report line gives the throughput in calls per real
 * second, the clock's settles, this process's CPU time (app, emulator and agents share it) and HTTP requests
 * per call.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { erlangA } from '../../src/capacity/erlang.js';
import { mmnmSpread } from '../../src/capacity/simulate.js';
import { VirtualClock } from '../../src/clock.js';
import { parseCenterConfig, type CenterConfig } from '../../src/config/callcenter.js';
import type { DomainEvent } from '../../src/events.js';
import { startSimulatedAgent, type SimulatedAgent } from '../../src/sim/agents.js';
import { CallerPopulation, createTwilioEmulator, Random, startTraffic, type TwilioEmulator } from '../../src/sim/twilio/index.js';
import type { RedisClient } from '../../src/store/redis.js';
import { freePort } from '../setup/global-redis.js';
import { ACCOUNT_SID, AUTH_TOKEN, OPEN_TIME, PUBLIC_BASE, sample } from '../helpers/app.js';
import { newRedis, uniquePrefix } from '../helpers/redis.js';
import { trackRedis } from '../helpers/virtual-time.js';

const NUMBER = '+18005550100';
const HOLD = 'https://music.example.com/hold.mp3';
const Q = 'line';

const AGENTS = 8;
const AHT_S = 120;
const PATIENCE_S = 120;
const LOAD_PER_AGENT = 1.0;
const SL_T = 20;
const ARRIVALS_PER_HOUR = (LOAD_PER_AGENT * AGENTS * 3600) / AHT_S; // 240
const CALLS = Number(process.env.ERLANG_CALLS ?? 3000);
const WARMUP_MS = 15 * AHT_S * 1000;
/** Against Erlang A at the run's realised parameters. */
const TOL_SL = 0.04;
const TOL_ABANDON = 0.02;
const TOL_ASA = 0.18;
/** Against Erlang A at the nominal parameters: this many SD of the reference simulation. */
const NOMINAL_SDS = 3.3;
const REFERENCE = {
  agents: AGENTS,
  arrivalsPerHour: ARRIVALS_PER_HOUR,
  ahtSeconds: AHT_S,
  patienceSeconds: PATIENCE_S,
  targetSeconds: SL_T,
  calls: CALLS,
  warmupCalls: 120,
};

function center(): CenterConfig {
  const agents: Record<string, unknown> = {};
  for (let i = 1; i <= AGENTS; i++)
    agents[`a${i}`] = { name: `Agent ${i}`, skills: ['line'], contact: `client:a${i}`, token: `erlang-agent-token-${i}` };
  return parseCenterConfig({
    name: 'Erlang A check',
    thresholds: {
      serviceLevelSeconds: SL_T,
      serviceLevelTarget: 0.8,
      shortAbandonSeconds: 0,
      repeatWindowSeconds: 604_800,
      capacityWindowSeconds: 3600,
    },
    fallback: { prompt: 'Sorry, please call again later.' },
    holdMusic: { url: HOLD, segmentSeconds: 600 },
    numbers: { [NUMBER]: { flow: 'main' } },
    flows: { main: { start: 'line', nodes: { line: { type: 'queue', queue: Q } } } },
    queues: {
      [Q]: {
        skills: ['line'],
        maxWaitSeconds: 86_400,
        maxLength: 5000,
        announceEverySeconds: 600,
        offerTimeoutSeconds: 15,
        wrapUpSeconds: 60,
        survey: false,
      },
    },
    agents,
  });
}

interface Measured {
  offered: number;
  answered: number;
  abandoned: number;
  shortAbandoned: number;
  withinSl: number;
  answeredWaitSum: number;
  answeredWaitCount: number;
  ewtErrorSum: number;
  ewtErrorCount: number;
  handleSum: number;
  handleCount: number;
}

function read(text: string): Measured {
  const v = (name: string, labels: Record<string, string> = {}) => sample(text, name, { queue: Q, ...labels }) ?? 0;
  return {
    offered: v('switchboard_calls_offered_total'),
    answered: v('switchboard_calls_answered_total'),
    abandoned: v('switchboard_calls_abandoned_total'),
    shortAbandoned: v('switchboard_calls_short_abandoned_total'),
    withinSl: v('switchboard_calls_answered_within_sl_total'),
    answeredWaitSum: v('switchboard_queue_wait_seconds_sum', { outcome: 'answered' }),
    answeredWaitCount: v('switchboard_queue_wait_seconds_count', { outcome: 'answered' }),
    ewtErrorSum: v('switchboard_ewt_error_seconds_sum'),
    ewtErrorCount: v('switchboard_ewt_error_seconds_count'),
    handleSum: v('switchboard_handle_seconds_sum'),
    handleCount: v('switchboard_handle_seconds_count'),
  };
}

const minus = (a: Measured, b: Measured): Measured =>
  Object.fromEntries(Object.keys(a).map((k) => [k, a[k as keyof Measured] - b[k as keyof Measured]])) as unknown as Measured;

/** The project's definitions (docs/definitions.md) over a counter delta. */
function measures(m: Measured) {
  const denom = m.offered - m.shortAbandoned;
  return {
    serviceLevel: m.withinSl / denom,
    abandonment: (m.abandoned - m.shortAbandoned) / denom,
    asaSeconds: m.answeredWaitSum / m.answeredWaitCount,
  };
}

describe('Erlang A check: real server, Redis, emulator and agents in virtual time', () => {
  let clock: VirtualClock;
  let redis: RedisClient;
  let emu: TwilioEmulator;
  let app: FastifyInstance;
  const agents: SimulatedAgent[] = [];
  const ewt: { told: number; actual: number; at: number }[] = [];

  beforeAll(async () => {
    clock = new VirtualClock(OPEN_TIME);
    redis = newRedis();
    const port = await freePort();
    emu = await createTwilioEmulator({
      clock,
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      webhookBase: `http://127.0.0.1:${port}`,
      publicBaseUrl: PUBLIC_BASE,
      numbers: {
        [NUMBER]: {
          voiceUrl: '/twilio/voice',
          fallbackUrl: '/twilio/fallback',
          statusCallback: '/twilio/status',
          statusCallbackEvents: ['completed'],
        },
      },
      seed: 11,
      settleTurns: Number(process.env.ERLANG_SETTLE_TURNS ?? 10),
      playDurationMs: (url) => (url === HOLD ? 600_000 : 8000),
    });
    const cfg = center();
    const prefix = uniquePrefix('erlang');
    app = await buildApp(
      {
        center: cfg,
        publicBaseUrl: PUBLIC_BASE,
        twilioAuthToken: AUTH_TOKEN,
        twilioAccountSid: ACCOUNT_SID,
        twilioApiBaseUrl: emu.restBaseUrl,
        callerHashKey: 'test-caller-hash-key-0123456789',
        redisPrefix: prefix,
        supervisorToken: 'erlang-supervisor-token-0123',
        instanceId: 'erlang',
      },
      { redis, clock, sweepEveryMs: 10_000 },
    );
    const tracker = trackRedis(redis, () => emu.inflight.begin(), app.sb.keys.agentChannel);
    app.sb.bus.onDomain((e: DomainEvent) => {
      if (e.type === 'queue.left' && e.outcome === 'answered' && e.ewtToldSeconds !== undefined)
        ewt.push({ told: e.ewtToldSeconds, actual: e.waitSeconds, at: e.at });
    });
    await app.listen({ port, host: '127.0.0.1' });

    const rand = new Random(2026);
    for (const a of Object.values(cfg.agents)) {
      emu.registerEndpoint(a.contact, { answer: true, answerDelayMs: 0 });
      const r = rand.fork();
      agents.push(
        startSimulatedAgent({
          wsUrl: `ws://127.0.0.1:${port}/agent/ws`,
          token: a.token!,
          clock,
          acceptDelayMs: 0,
          handleTimeMs: () => Math.max(1, Math.round(r.exponential(AHT_S * 1000))),
          wrapUpMs: () => 0,
          disposition: () => 'resolved',
          track: () => emu.inflight.begin(),
          onFrame: (m) => {
            if (!['ack', 'error', 'welcome', 'pong'].includes(m.type)) tracker.pushed();
          },
        }),
      );
    }
    // Agents sign in and go available (real time: their sockets open outside the clock).
    const deadline = Date.now() + 10_000;
    while ((await app.sb.agents.staffedFor(['line'])).available < AGENTS) {
      if (Date.now() > deadline) throw new Error('agents did not sign in');
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await app?.close();
    await emu?.close();
    redis?.disconnect();
  });

  const spread = mmnmSpread(REFERENCE, 400);

  it('reference: a plain M/M/N+M simulation agrees with Erlang A, and its spread fits the tolerances', () => {
    for (const g of [spread.nominal, spread.realised]) {
      // Means within 4 standard errors of 0 over 400 runs: erlangA's formulas match the process.
      expect(Math.abs(g.serviceLevel.mean)).toBeLessThan((4 * g.serviceLevel.sd) / Math.sqrt(400));
      expect(Math.abs(g.abandonment.mean)).toBeLessThan((4 * g.abandonment.sd) / Math.sqrt(400));
      expect(Math.abs(g.asaRelative.mean)).toBeLessThan((4 * g.asaRelative.sd) / Math.sqrt(400) + 0.005);
    }
    // The fixed tolerances are at least 3 SD of a correct system's run-to-run spread (false alarms < 0.3 %).
    expect(3 * spread.realised.serviceLevel.sd).toBeLessThanOrEqual(TOL_SL);
    expect(3 * spread.realised.abandonment.sd).toBeLessThanOrEqual(TOL_ABANDON);
    expect(3 * spread.realised.asaRelative.sd).toBeLessThanOrEqual(TOL_ASA);
  });

  it('measures service level, abandonment and ASA within tolerance of Erlang A (M/M/N+M)', { timeout: 900_000 }, async () => {
    const pop = new CallerPopulation({
      seed: 5,
      ratePerHour: ARRIVALS_PER_HOUR,
      meanPatienceMs: PATIENCE_S * 1000,
      numbers: { repeatProbability: 0 },
    });
    const warmupCalls = Math.round((ARRIVALS_PER_HOUR * WARMUP_MS) / 3_600_000);
    const arrivals: number[] = [];
    const traffic = startTraffic(emu, pop, { to: NUMBER, maxCalls: CALLS + warmupCalls, onCall: () => arrivals.push(clock.now()) });
    let settles = 0;
    const settle = () => {
      settles++;
      return emu.settle();
    };
    const t0 = Date.now();
    const cpu0 = process.cpuUsage();
    const warmEnd = clock.now() + WARMUP_MS;

    await clock.advance(WARMUP_MS, settle);
    const warm = read((await app.inject({ method: 'GET', url: '/metrics' })).body);
    let finished = false;
    const done = traffic.done();
    void done.then(() => (finished = true));
    while (!finished) await clock.advance(600_000, settle);
    await done;
    const realS = (Date.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const total = read((await app.inject({ method: 'GET', url: '/metrics' })).body);
    const m = minus(total, warm);
    const got = measures(m);

    // The run's realised parameters, over the measured part.
    const measured = arrivals.filter((t) => t >= warmEnd);
    const patience = traffic.callers.filter((_, i) => arrivals[i]! >= warmEnd).map((c) => (c.behaviour.patienceMs ?? 0) / 1000);
    const realised = {
      arrivalsPerHour: ((measured.length - 1) * 3_600_000) / (measured[measured.length - 1]! - measured[0]!),
      ahtSeconds: m.handleSum / m.handleCount,
      patienceSeconds: patience.reduce((a, b) => a + b, 0) / patience.length,
    };
    const nominal = erlangA({
      arrivalsPerHour: ARRIVALS_PER_HOUR,
      ahtSeconds: AHT_S,
      agents: AGENTS,
      targetSeconds: SL_T,
      patienceSeconds: PATIENCE_S,
    });
    const atRealised = erlangA({ ...realised, agents: AGENTS, targetSeconds: SL_T });

    const errs = ewt.map((x) => x.told - x.actual);
    const after = ewt.filter((x) => x.at >= warmEnd).map((x) => x.told - x.actual);
    // Callers told they would wait (estimate > 0), and the first 50 told a wait (the cold start).
    const waited = ewt.filter((x) => x.told > 0).map((x) => x.told - x.actual);
    const first50 = waited.slice(0, 50);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const r4 = (x: number) => Math.round(x * 10_000) / 10_000;
    const report = {
      agents: AGENTS,
      ahtSeconds: AHT_S,
      patienceSeconds: PATIENCE_S,
      arrivalsPerHour: ARRIVALS_PER_HOUR,
      slSeconds: SL_T,
      realised: {
        arrivalsPerHour: r4(realised.arrivalsPerHour),
        ahtSeconds: r4(realised.ahtSeconds),
        patienceSeconds: r4(realised.patienceSeconds),
      },
      callsPlaced: traffic.calls.length,
      offeredAfterWarmup: m.offered,
      answered: m.answered,
      abandoned: m.abandoned,
      virtualHours: r4((clock.now() - OPEN_TIME) / 3_600_000),
      realSeconds: r4(realS),
      callsPerRealSecond: r4(traffic.calls.length / realS),
      settles,
      cpuSeconds: r4((cpu.user + cpu.system) / 1e6),
      webhooksPerCall: r4(emu.log.webhooks.length / traffic.calls.length),
      restPerCall: r4(emu.log.rest.length / traffic.calls.length),
      serviceLevel: {
        measured: r4(got.serviceLevel),
        erlangARealised: r4(atRealised.serviceLevel),
        erlangANominal: r4(nominal.serviceLevel),
        refSd: r4(spread.nominal.serviceLevel.sd),
      },
      abandonment: {
        measured: r4(got.abandonment),
        erlangARealised: r4(atRealised.abandonProbability),
        erlangANominal: r4(nominal.abandonProbability),
        refSd: r4(spread.nominal.abandonment.sd),
      },
      asaSeconds: {
        measured: r4(got.asaSeconds),
        erlangARealised: r4(atRealised.asaSeconds),
        erlangANominal: r4(nominal.asaSeconds),
        refSdRelative: r4(spread.nominal.asaRelative.sd),
      },
      ewtErrorSeconds: {
        metricMean: r4(m.ewtErrorSum / m.ewtErrorCount),
        all: { n: errs.length, mean: r4(mean(errs)), meanAbs: r4(mean(errs.map(Math.abs))) },
        afterWarmup: { n: after.length, mean: r4(mean(after)), meanAbs: r4(mean(after.map(Math.abs))) },
        toldAWait: { n: waited.length, mean: r4(mean(waited)), meanAbs: r4(mean(waited.map(Math.abs))) },
        first50: { n: first50.length, mean: r4(mean(first50)), meanAbs: r4(mean(first50.map(Math.abs))) },
      },
    };
    console.log(`erlang-a report ${JSON.stringify(report)}`);

    // Every call accounted for: nothing left waiting, nothing overflowed, nothing failed on the agent side.
    expect(total.offered).toBe(total.answered + total.abandoned);
    expect(m.offered).toBeGreaterThanOrEqual(CALLS * 0.95);
    expect(agents.reduce((a, x) => a + x.stats.errors, 0)).toBe(0);
    expect(emu.errors.filter((e) => e.level === 'error')).toEqual([]);
    // The realised parameters are near the nominal ones (the generators work).
    expect(Math.abs(realised.arrivalsPerHour / ARRIVALS_PER_HOUR - 1)).toBeLessThan(0.06);
    expect(Math.abs(realised.ahtSeconds / AHT_S - 1)).toBeLessThan(0.06);
    expect(Math.abs(realised.patienceSeconds / PATIENCE_S - 1)).toBeLessThan(0.06);

    expect(Math.abs(got.serviceLevel - atRealised.serviceLevel)).toBeLessThanOrEqual(TOL_SL);
    expect(Math.abs(got.abandonment - atRealised.abandonProbability)).toBeLessThanOrEqual(TOL_ABANDON);
    expect(Math.abs(got.asaSeconds / atRealised.asaSeconds - 1)).toBeLessThanOrEqual(TOL_ASA);

    expect(Math.abs(got.serviceLevel - nominal.serviceLevel)).toBeLessThanOrEqual(NOMINAL_SDS * spread.nominal.serviceLevel.sd);
    expect(Math.abs(got.abandonment - nominal.abandonProbability)).toBeLessThanOrEqual(NOMINAL_SDS * spread.nominal.abandonment.sd);
    expect(Math.abs(got.asaSeconds / nominal.asaSeconds - 1)).toBeLessThanOrEqual(NOMINAL_SDS * spread.nominal.asaRelative.sd);
  });
});
