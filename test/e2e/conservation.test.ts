/**
 * Conservation under faults. Two app instances share one Redis, each with its own Prometheus registry;
 * the Twilio emulator reaches them through a round-robin proxy that also replays some webhooks (the same
 * request, same idempotency token, to the other instance: a retry after a lost answer). Poisson callers
 * (patience, callbacks, voicemail, billing overflowing into support) meet simulated agents over the real
 * WebSocket, in virtual time, while REST requests fail or time out (carried out or not), status callbacks
 * arrive shuffled and duplicated, and Redis drops every client connection once.
 *
 * At the end, per queue: offered = answered + abandoned + overflow + callback + waiting, exactly, in the
 * Redis tally and in the Prometheus counters summed over both instances, and both equal what the emulator
 * saw happen to each call (its own record of every queue stint's result).
 */
import { readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { VirtualClock } from '../../src/clock.js';
import { parseCenterConfig } from '../../src/config/callcenter.js';
import { startSimulatedAgent, type SimulatedAgent } from '../../src/sim/agents.js';
import { CallerPopulation, createTwilioEmulator, startTraffic, type Call, type TwilioEmulator } from '../../src/sim/twilio/index.js';
import { Random } from '../../src/sim/twilio/random.js';
import { connectRedis, type RedisClient } from '../../src/store/redis.js';
import { ACCOUNT_SID, AUTH_TOKEN, EXAMPLE_CONFIG, OPEN_TIME, PUBLIC_BASE, SUPERVISOR_TOKEN } from '../helpers/app.js';
import { uniquePrefix } from '../helpers/redis.js';
import { freePort, startRedis } from '../setup/global-redis.js';

const NUMBER = '+18005550100';
const CALLS = Number(process.env.CONSERVATION_CALLS ?? 300);
const RATE_PER_HOUR = 360;
const QUEUES = ['support', 'billing'] as const;
const CALLBACK_TEXT = 'we will call you back when an agent is free';

const closers: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => undefined);
});

/** The example call center with more agents and shorter maximum waits (so overflow happens). */
function center() {
  const raw = parseYaml(readFileSync(EXAMPLE_CONFIG, 'utf8')) as Record<string, Record<string, Record<string, unknown>>>;
  const queues = raw.queues!;
  queues.support = { ...queues.support, maxWaitSeconds: 300, maxLength: 1000, whenNoAgents: 'wait' };
  queues.billing = { ...queues.billing, maxWaitSeconds: 200, maxLength: 1000, whenNoAgents: 'wait' };
  const agents = raw.agents!;
  for (const [id, skills] of [
    ['dave', ['support']],
    ['erin', ['support', 'billing']],
    ['frank', ['billing']],
    ['grace', ['support']],
  ] as const) {
    agents[id] = {
      name: id,
      team: (skills as readonly string[]).includes('support') ? 'tier1' : 'billing',
      skills: [...skills],
      contact: `client:${id}`,
      token: `${id}-demo-token`,
    };
  }
  return parseCenterConfig(raw, 'conservation config');
}

/**
 * A proxy in front of the instances: requests go round robin; a share of them is replayed, i.e. sent to
 * one instance, its answer dropped, then sent to the other with the same headers (Twilio's retry after a
 * lost answer carries the same I-Twilio-Idempotency-Token), and the second answer returned.
 */
function roundRobinProxy(ports: number[], replayShare: number, rand: Random, counts: { requests: number; replayed: number }): Server {
  let next = 0;
  const forward = (port: number, method: string, path: string, headers: Record<string, string | string[] | undefined>, body: Buffer) =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        counts.requests++;
        const body = Buffer.concat(chunks);
        const first = ports[next++ % ports.length]!;
        const headers = { ...req.headers };
        let answer;
        if (rand.bernoulli(replayShare)) {
          counts.replayed++;
          await forward(first, req.method ?? 'POST', req.url ?? '/', headers, body);
          answer = await forward(ports[next++ % ports.length]!, req.method ?? 'POST', req.url ?? '/', headers, body);
        } else {
          answer = await forward(first, req.method ?? 'POST', req.url ?? '/', headers, body);
        }
        const h = { ...answer.headers };
        delete h['transfer-encoding'];
        delete h.connection;
        res.writeHead(answer.status, h);
        res.end(answer.body);
      })().catch(() => {
        res.writeHead(502);
        res.end();
      });
    });
  });
}

/** Sum a counter over every label set matching `labels`, in Prometheus text. */
function total(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

interface Tally {
  offered: number;
  answered: number;
  abandoned: number;
  overflow: number;
  callback: number;
  waiting: number;
}
const zero = (): Tally => ({ offered: 0, answered: 0, abandoned: 0, overflow: 0, callback: 0, waiting: 0 });

/** What the emulator saw: every queue stint of every inbound call, by its result. */
function emulatorTally(emu: TwilioEmulator, calls: Call[]): Record<string, Tally> {
  const out: Record<string, Tally> = { support: zero(), billing: zero() };
  for (const c of calls) {
    const calledBack = c.heard.some((h) => h.includes(CALLBACK_TEXT));
    c.queueWaits.forEach((w, i) => {
      const t = out[w.queue]!;
      t.offered++;
      if (w.result === 'redirected') t.answered++;
      else if (w.result === 'hangup') {
        if (calledBack && i === c.queueWaits.length - 1) t.callback++;
        else t.abandoned++;
      } else t.overflow++; // leave (max wait, voicemail key), queue-full, error
    });
  }
  for (const q of emu.queues.values()) if (out[q.friendlyName]) out[q.friendlyName]!.waiting += q.members.length;
  return out;
}

describe('conservation under faults', () => {
  it(`${CALLS} calls through two instances with REST, status-callback, webhook-retry and Redis faults: every count agrees`, async () => {
    const started = performance.now();
    const r = await startRedis();
    closers.push(
      () => rmSync(r.dir, { recursive: true, force: true }),
      () => r.stop(),
    );
    const clock = new VirtualClock(OPEN_TIME);
    const cfg = center();
    const prefix = uniquePrefix('conserve');
    const proxyPort = await freePort();
    const emu = await createTwilioEmulator({
      clock,
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      webhookBase: `http://127.0.0.1:${proxyPort}`,
      publicBaseUrl: PUBLIC_BASE,
      numbers: { [NUMBER]: { voiceUrl: '/twilio/voice', fallbackUrl: '/twilio/fallback', statusCallback: '/twilio/status' } },
      seed: 11,
    });
    closers.push(() => emu.close());

    const apps: { app: FastifyInstance; redis: RedisClient; port: number }[] = [];
    for (const id of ['a', 'b']) {
      const redis = connectRedis({ url: r.url, commandTimeoutMs: 1000 });
      const app = await buildApp(
        {
          center: cfg,
          publicBaseUrl: PUBLIC_BASE,
          twilioAuthToken: AUTH_TOKEN,
          twilioAccountSid: ACCOUNT_SID,
          twilioApiBaseUrl: emu.restBaseUrl,
          callerHashKey: 'test-caller-hash-key-0123456789',
          redisPrefix: prefix,
          supervisorToken: SUPERVISOR_TOKEN,
          instanceId: id,
        },
        { redis, clock, sweepEveryMs: 1000 },
      );
      const port = await freePort();
      await app.listen({ port, host: '127.0.0.1' });
      closers.push(
        () => redis.disconnect(),
        () => app.close(),
      );
      apps.push({ app, redis, port });
    }
    const faultRand = new Random(23);
    const proxyCounts = { requests: 0, replayed: 0 };
    const proxy = roundRobinProxy(
      apps.map((a) => a.port),
      0.03,
      new Random(5),
      proxyCounts,
    );
    await new Promise<void>((res) => proxy.listen(proxyPort, '127.0.0.1', res));
    closers.push(() => new Promise((res) => proxy.close(res)));

    // Agents: half on each instance.
    const agents: SimulatedAgent[] = [];
    const agentRand = new Random(3);
    Object.values(cfg.agents).forEach((a, i) => {
      emu.registerEndpoint(a.contact, { answer: true, answerDelayMs: 1000 });
      agents.push(
        startSimulatedAgent({
          wsUrl: `ws://127.0.0.1:${apps[i % 2]!.port}/agent/ws`,
          token: a.token!,
          clock,
          rng: () => agentRand.next(),
          acceptDelayMs: 1500,
          handleTimeMs: () => Math.round(20_000 + agentRand.exponential(60_000)),
          wrapUpMs: () => Math.round(2_000 + agentRand.exponential(4_000)),
          disposition: () => 'resolved',
          breakEvery: 12,
        }),
      );
    });
    closers.push(() => Promise.all(agents.map((a) => a.stop())));

    // Faults on the clock: status callbacks shuffled and duplicated throughout; every 20 s one REST fault.
    emu.faults.statusCallbacks.shuffle = true;
    emu.faults.statusCallbacks.duplicate = 0.1;
    const injected: Record<string, number> = {};
    const note = (k: string) => (injected[k] = (injected[k] ?? 0) + 1);
    const targets = [
      { name: 'participant', path: /\/Participants\.json$/ },
      { name: 'dequeue', path: /\/Members\/CA[0-9a-f]{32}\.json$/ },
      { name: 'calls.create', path: /\/Calls\.json$/ },
    ];
    let faulting = true;
    const injectFault = () => {
      if (!faulting) return;
      const t = faultRand.pick(targets);
      const kind = faultRand.pick(['500', '503', 'timeout', 'timeout-executed', '21220'] as const);
      if (kind === '500' || kind === '503')
        emu.faults.failNextRest({
          status: kind === '500' ? 500 : 503,
          count: 1 + Math.floor(faultRand.next() * 3),
          match: { method: 'POST', path: t.path },
        });
      else if (kind === '21220')
        emu.faults.failNextRest({
          status: 400,
          code: 21220,
          message: 'Call is not in-progress. Cannot redirect.',
          match: { method: 'POST', path: targets[1]!.path },
        });
      else emu.faults.timeoutNextRest({ afterMs: 4_000, execute: kind === 'timeout-executed', match: { method: 'POST', path: t.path } });
      note(`rest ${kind === '21220' ? 'dequeue' : t.name} ${kind}`);
      clock.setTimer(20_000, injectFault);
    };
    clock.setTimer(20_000, injectFault);
    // Once, in the middle of the run, Redis drops every client connection (both instances, pub/sub too).
    clock.setTimer(Math.round(((CALLS / RATE_PER_HOUR) * 3_600_000) / 2), () => {
      note('redis connections dropped');
      const killer = apps[0]!.redis.duplicate();
      void (async () => {
        await killer.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
        await killer.call('CLIENT', 'KILL', 'TYPE', 'normal');
      })()
        .catch(() => undefined)
        .finally(() => killer.disconnect());
    });

    const pop = new CallerPopulation({
      seed: 17,
      ratePerHour: RATE_PER_HOUR,
      meanPatienceMs: 180_000,
      answerCallbackProbability: 0.85,
      meanRecordMs: 8_000,
      numbers: { repeatProbability: 0.1 },
      gather: [
        { heard: 'For English, press 1', choices: [{ weight: 1, digits: '1' }], delayMs: [300, 1200] },
        {
          heard: 'For technical support, press 2',
          choices: [
            { weight: 7, digits: '2' },
            { weight: 3, digits: '1' },
          ],
          delayMs: [300, 1500],
        },
        { heard: 'To speak with billing, press 2', choices: [{ weight: 1, digits: '2' }], delayMs: [300, 1500] },
        {
          heard: 'in line',
          attempt: 2,
          choices: [
            { weight: 8, none: true },
            { weight: 1, digits: '1' },
            { weight: 1, digits: '2' },
          ],
          delayMs: [500, 2000],
        },
        {
          heard: 'how satisfied',
          choices: [
            { weight: 1, digits: '5' },
            { weight: 1, digits: '3' },
          ],
        },
        { heard: 'recommend', choices: [{ weight: 1, digits: '9#' }] },
      ],
    });
    const traffic = startTraffic(emu, pop, { to: NUMBER, maxCalls: CALLS });
    await emu.run(traffic.arrivalsDone);
    faulting = false;
    // Drain: every caller's call over, no callback left to place, nobody in a queue.
    const sb = apps[0]!.app.sb;
    for (let i = 0; i < 240; i++) {
      const sizes = await Promise.all(QUEUES.map(async (q) => (await sb.queues.snapshot(q)).size));
      if (emu.liveCalls().length === 0 && sizes.every((n) => n === 0) && traffic.calls.every((c) => !c.live)) break;
      await emu.run(clock.sleep(15_000));
    }
    emu.faults.clear();
    await Promise.all(agents.map((a) => a.stop()));
    await emu.run(clock.sleep(5_000));

    const fromEmu = emulatorTally(emu, traffic.calls);
    const texts = await Promise.all(apps.map(async (a) => (await a.app.inject({ method: 'GET', url: '/metrics' })).body));
    const sum = (name: string, labels: Record<string, string>) => texts.reduce((n, t) => n + total(t, name, labels), 0);
    const report: Record<string, unknown> = {};
    for (const q of QUEUES) {
      const redisTally = await sb.queues.tally(q);
      const fromRedis: Tally = {
        offered: redisTally.offered,
        answered: redisTally.answered,
        abandoned: redisTally.abandoned,
        overflow: redisTally.overflow,
        callback: redisTally.callback,
        waiting: redisTally.inQueue,
      };
      const fromMetrics: Tally = {
        offered: sum('switchboard_calls_offered_total', { queue: q }),
        answered: sum('switchboard_calls_answered_total', { queue: q }),
        abandoned: sum('switchboard_calls_abandoned_total', { queue: q }),
        overflow: sum('switchboard_calls_overflow_total', { queue: q }),
        callback: sum('switchboard_callbacks_requested_total', { queue: q }),
        waiting: sum('switchboard_queue_waiting', { queue: q }) / apps.length,
      };
      report[q] = { emulator: fromEmu[q], redis: fromRedis, metrics: fromMetrics };
      // Conservation, exactly, on each side.
      for (const t of [fromRedis, fromMetrics, fromEmu[q]!])
        expect(t.offered).toBe(t.answered + t.abandoned + t.overflow + t.callback + t.waiting);
      // And the three agree on every term.
      expect({ queue: q, ...fromRedis }).toEqual({ queue: q, ...fromEmu[q] });
      expect({ queue: q, ...fromMetrics }).toEqual({ queue: q, ...fromEmu[q] });
    }
    const lost = traffic.calls.filter((c) => c.live).length;
    report.calls = traffic.calls.length;
    report.faults = injected;
    report.proxy = proxyCounts;
    report.restFaultsHit = emu.log.rest.filter((x) => x.fault).length;
    report.realSeconds = Math.round((performance.now() - started) / 100) / 10;
    report.virtualMinutes = Math.round((clock.now() - OPEN_TIME) / 60_000);
    console.log(JSON.stringify(report, null, 1));
    // Diagnostics for a failure: where the calls still up are.
    for (const c of traffic.calls.filter((x) => x.live)) console.log('still live', c.sid, c.activity, c.documents.slice(-3));
    expect(lost).toBe(0);
    expect(fromEmu.support!.offered + fromEmu.billing!.offered).toBeGreaterThan(CALLS * 0.7);
    expect(fromEmu.support!.answered).toBeGreaterThan(0);
    expect(fromEmu.support!.callback + fromEmu.billing!.callback).toBeGreaterThan(0);
    expect(fromEmu.support!.overflow + fromEmu.billing!.overflow).toBeGreaterThan(0);
    expect(report.restFaultsHit as number).toBeGreaterThan(10);
    expect(proxyCounts.replayed).toBeGreaterThan(10);
  }, 180_000);
});
