/**
 * The planner on history the whole system made: two weeks of virtual time in which the Twilio emulator
 * places Poisson calls with a weekly pattern (busy weekday daytimes, quiet nights and weekends) through the
 * real server and Redis to a simulated agent on the real agent WebSocket (alone, so callers wait and some
 * abandon). The app's own metrics (the registry `/metrics` serves) are sampled every 30 virtual minutes into OpenMetrics with those virtual timestamps, backfilled with promtool,
 * and Prometheus is started on the blocks; then the plan for the third week is made from it.
 *
 * Checked: Prometheus holds exactly the app's counts; the plan's handle time and patience are the
 * callers' and agents' true ones within the estimates' standard errors; the forecast is within what Poisson
 * noise over two weeks allows of the true rates; the staffing within ±1 agent of Erlang A on the truth.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { agentsForServiceLevel } from '../../src/capacity/erlang.js';
import type { Plan } from '../../src/capacity/plan.js';
import { planMain } from '../../src/capacity/plan-cli.js';
import { VirtualClock } from '../../src/clock.js';
import { parseCenterConfig, type CenterConfig } from '../../src/config/callcenter.js';
import { startSimulatedAgent, type SimulatedAgent } from '../../src/sim/agents.js';
import { CallerPopulation, createTwilioEmulator, Random, startTraffic, type TwilioEmulator } from '../../src/sim/twilio/index.js';
import type { RedisClient } from '../../src/store/redis.js';
import { freePort } from '../setup/global-redis.js';
import { ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE, sample } from '../helpers/app.js';
import { backfill, WEEK } from '../helpers/history.js';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { newRedis, uniquePrefix } from '../helpers/redis.js';
import { trackRedis } from '../helpers/virtual-time.js';

const NUMBER = '+18005550100';
const HOLD = 'https://music.example.com/hold.mp3';
const Q = 'line';
const AGENTS = 1;
const AHT_S = 180;
const PATIENCE_S = 30;
/** Monday 5 Jan 2026, 00:00 UTC. */
const T0 = Date.UTC(2026, 0, 5);
const WEEKS = 2;
const SAMPLE_MS = 30 * 60_000;
const INTERVAL_MIN = 60;

/** Calls per hour: weekdays 3 from 08:00 to 18:00 and 0.5 otherwise; weekends 1 all day. */
const rate = (ms: number): number => {
  const day = Math.floor((ms - T0) / 86_400_000) % 7;
  const hour = ((ms - T0) % 86_400_000) / 3_600_000;
  if (day >= 5) return 1;
  return hour >= 8 && hour < 18 ? 3 : 0.5;
};

function center(): CenterConfig {
  const agents: Record<string, unknown> = {};
  for (let i = 1; i <= AGENTS; i++)
    agents[`a${i}`] = { name: `Agent ${i}`, skills: ['line'], contact: `client:a${i}`, token: `plan-agent-token-${i}` };
  return parseCenterConfig({
    name: 'Planner history',
    thresholds: {
      serviceLevelSeconds: 20,
      serviceLevelTarget: 0.8,
      shortAbandonSeconds: 0,
      repeatWindowSeconds: 3600,
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

/** The families the planner reads, from Prometheus text exposition to OpenMetrics lines stamped `ts` (s). */
const FAMILIES: Record<string, 'counter' | 'histogram'> = {
  switchboard_calls_offered: 'counter',
  switchboard_calls_answered: 'counter',
  switchboard_calls_abandoned: 'counter',
  switchboard_handle_seconds: 'histogram',
  switchboard_queue_wait_seconds: 'histogram',
};
function collect(text: string, ts: number, into: Map<string, string[]>): void {
  for (const line of text.split('\n')) {
    const name = /^([a-z_]+)[{ ]/.exec(line)?.[1];
    if (!name) continue;
    const family = Object.keys(FAMILIES).find((f) =>
      FAMILIES[f] === 'counter' ? name === `${f}_total` : [`${f}_bucket`, `${f}_sum`, `${f}_count`].includes(name),
    );
    if (family) into.get(family)!.push(`${line} ${ts}`);
  }
}

describe('plan from history the emulator made in virtual time', () => {
  let clock: VirtualClock;
  let redis: RedisClient;
  let emu: TwilioEmulator;
  let app: FastifyInstance;
  let prom: RunningPrometheus | undefined;
  let dir: string;
  const agents: SimulatedAgent[] = [];

  beforeAll(async () => {
    clock = new VirtualClock(T0);
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
      seed: 16,
      playDurationMs: (url) => (url === HOLD ? 600_000 : 8000),
    });
    const cfg = center();
    app = await buildApp(
      {
        center: cfg,
        publicBaseUrl: PUBLIC_BASE,
        twilioAuthToken: AUTH_TOKEN,
        twilioAccountSid: ACCOUNT_SID,
        twilioApiBaseUrl: emu.restBaseUrl,
        callerHashKey: 'test-caller-hash-key-0123456789',
        redisPrefix: uniquePrefix('plan'),
        supervisorToken: 'plan-supervisor-token-0123456',
        instanceId: 'plan',
      },
      // Routing is event-driven; the sweeper (timeouts) need not run often over two virtual weeks.
      { redis, clock, sweepEveryMs: 3_600_000 },
    );
    const tracker = trackRedis(redis, () => emu.inflight.begin(), app.sb.keys.agentChannel);
    await app.listen({ port, host: '127.0.0.1' });
    const rand = new Random(1616);
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
    const deadline = Date.now() + 10_000;
    while ((await app.sb.agents.staffedFor(['line'])).available < AGENTS) {
      if (Date.now() > deadline) throw new Error('agents did not sign in');
      await new Promise((r) => setTimeout(r, 20));
    }
    dir = mkdtempSync(join(tmpdir(), 'sb-plan-emu-'));
  });

  afterAll(async () => {
    await prom?.stop();
    await Promise.all(agents.map((a) => a.stop()));
    await app?.close();
    await emu?.close();
    redis?.disconnect();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('plans the third week from two weeks the system ran, within the noise of the truth', { timeout: 600_000 }, async () => {
    const pop = new CallerPopulation({
      seed: 16,
      ratePerHour: rate,
      maxRatePerHour: 3,
      meanPatienceMs: PATIENCE_S * 1000,
      numbers: { repeatProbability: 0 },
    });
    const end = T0 + WEEKS * WEEK * 1000;
    const traffic = startTraffic(emu, pop, { to: NUMBER, durationMs: end - T0 - 30 * 60_000 });
    const lines = new Map(Object.keys(FAMILIES).map((f) => [f, [] as string[]]));
    // The families the planner reads, from the registry /metrics serves (the whole page costs ~20 ms a scrape).
    const names = Object.entries(FAMILIES).map(([f, t]) => (t === 'counter' ? `${f}_total` : f));
    const scrape = async () => {
      const texts = await Promise.all(names.map((n) => app.sb.metrics.registry.getSingleMetricAsString(n)));
      collect(texts.join('\n'), clock.now() / 1000, lines);
    };
    await scrape();
    while (clock.now() < end) {
      await clock.advance(SAMPLE_MS, () => emu.settle());
      await scrape();
    }
    const last = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const text = [...lines].flatMap(([f, ls]) => [`# TYPE ${f} ${FAMILIES[f]}`, ...ls]).join('\n') + '\n# EOF\n';
    await backfill(text, join(dir, 'history.om'), join(dir, 'tsdb'));
    prom = await startPrometheus({ targets: [], tsdb: join(dir, 'tsdb') });

    // Prometheus holds what the app counted.
    const offered = sample(last, 'switchboard_calls_offered_total', { queue: Q })!;
    expect(offered).toBeGreaterThan(350);
    expect(offered).toBe(traffic.calls.length);
    const inProm = await prom.query(`switchboard_calls_offered_total{queue="${Q}"}`, end / 1000);
    expect(Number((inProm.result as { value: [number, string] }[])[0]!.value[1])).toBe(offered);

    let out = '';
    let err = '';
    const code = await planMain(
      [
        '--prometheus',
        prom.url,
        '--queue',
        Q,
        '--weeks',
        String(WEEKS),
        '--interval-minutes',
        String(INTERVAL_MIN),
        '--start',
        new Date(end).toISOString(),
        '--json',
      ],
      { out: (t) => (out += t), err: (t) => (err += t) },
    );
    expect(err).toBe('');
    expect(code).toBe(0);
    const plan = JSON.parse(out) as Plan;
    expect(plan.intervals).toHaveLength(168);
    expect(plan.backtest.weeks).toBe(1);

    // Handle time and patience: the agents' and callers' true means, within 4 standard errors
    // (exponential: SE = mean/√n; patience from the abandons, AHT per slot drawn toward the mean).
    const handled = sample(last, 'switchboard_handle_seconds_count', { queue: Q })!;
    const abandons = sample(last, 'switchboard_calls_abandoned_total', { queue: Q })!;
    expect(abandons).toBeGreaterThan(20);
    const patience = plan.intervals[0]!.patienceSeconds!;
    expect(Math.abs(patience - PATIENCE_S)).toBeLessThan((4 * PATIENCE_S) / Math.sqrt(abandons));
    // The forecast-weighted mean of the slots' AHT estimates uses every handled call about once.
    const calls = plan.intervals.reduce((a, i) => a + i.arrivals, 0);
    const meanAht = plan.intervals.reduce((a, i) => a + i.ahtSeconds * i.arrivals, 0) / calls;
    expect(Math.abs(meanAht - AHT_S)).toBeLessThan((4 * AHT_S) / Math.sqrt(handled));

    // Forecast against the true rates, with the two-week noise model (see plan-backfill.test.ts): a slot's
    // profile from its calls over both weeks, the level from a line through two weekly levels (f = 5).
    const weekly = [...Array(168).keys()].reduce((a, h) => a + rate(T0 + h * 3_600_000 + 1), 0);
    const levelRelVar = (1.25 * 5) / weekly;
    let absErr = 0;
    let expAbs = 0;
    let total = 0;
    const off: string[] = [];
    for (const [k, i] of plan.intervals.entries()) {
      const truth = rate(end + k * 3_600_000 + 1);
      const sd = truth * Math.sqrt(1 / (WEEKS * truth) + levelRelVar);
      expect(Math.abs(i.arrivals - truth), `${i.start}: forecast ${i.arrivals}, truth ${truth}`).toBeLessThan(4.5 * sd);
      absErr += Math.abs(i.arrivals - truth);
      expAbs += Math.sqrt(2 / Math.PI) * sd;
      total += truth;
      const need = agentsForServiceLevel({
        arrivalsPerHour: truth,
        ahtSeconds: AHT_S,
        targetSeconds: 20,
        targetServiceLevel: 0.8,
        patienceSeconds: PATIENCE_S,
      }).agents;
      if (Math.abs(i.agents - need) > 1) off.push(`${i.start}: ${i.agents} planned, ${need} on the truth`);
    }
    expect(absErr / total).toBeLessThan(1.25 * (expAbs / total));
    expect(off).toEqual([]);
    console.info(
      `[plan emulated] ${offered} calls over ${WEEKS} virtual weeks; forecast vs truth WAPE ${((100 * absErr) / total).toFixed(1)} % (noise allows ${((125 * expAbs) / total).toFixed(1)} %); ` +
        `backtest WAPE ${(100 * plan.backtest.wape!).toFixed(1)} %, bias ${(100 * plan.backtest.bias!).toFixed(1)} %; patience ${patience} s (true ${PATIENCE_S}), mean AHT ${meanAht.toFixed(1)} s (true ${AHT_S})`,
    );
  });
});
