/**
 * The web part without a browser: the pages and their headers, the server clock the pages count down
 * against, today's counters behind the wallboard (same definitions and same counting as the Prometheus
 * counters), and the supervisor socket: sign-in, live snapshots, throttling, and updates across two
 * instances sharing one Redis.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { DomainEvent } from '../../src/events.js';
import { dayOf, dayRates } from '../../src/web/day-tally.js';
import { makeApp, OPEN_TIME, sample, SUPERVISOR_TOKEN, type TestApp } from '../helpers/app.js';
import { newRedis } from '../helpers/redis.js';

const open: TestApp[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  for (const t of open.splice(0)) await t.close();
});

async function app(opts: Parameters<typeof makeApp>[0] = {}): Promise<TestApp> {
  const t = await makeApp(opts);
  open.push(t);
  return t;
}

/** A WebSocket client that records every message. */
async function client(
  port: number,
  path: string,
): Promise<{
  ws: WebSocket;
  messages: Record<string, unknown>[];
  next: (pred: (m: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>>;
  closed: Promise<number>;
}> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  sockets.push(ws);
  const messages: Record<string, unknown>[] = [];
  const waiters: { pred: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }[] = [];
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as Record<string, unknown>;
    messages.push(m);
    for (const w of waiters.splice(0)) {
      if (w.pred(m)) w.resolve(m);
      else waiters.push(w);
    }
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    ws,
    messages,
    closed,
    next: (pred) => {
      const have = messages.find(pred);
      if (have) return Promise.resolve(have);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

async function listen(t: TestApp): Promise<number> {
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = t.app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

type Snapshot = {
  type: 'snapshot';
  now: number;
  day: string;
  queues: { id: string; waiting: number; today: Record<string, number | null> }[];
  agentsByState: Record<string, number>;
};

describe('pages', () => {
  it('serves the desk, the wallboard and their assets with content types and a self-only CSP', async () => {
    const t = await app();
    const desk = await t.app.inject({ method: 'GET', url: '/desk', headers: { host: 'desk.example:8080' } });
    expect(desk.statusCode).toBe(200);
    expect(desk.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(desk.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("connect-src 'self' ws://desk.example:8080 wss://desk.example:8080");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:\/\/|\*/);
    // A forged Host header cannot widen the policy.
    const forged = await t.app.inject({ method: 'GET', url: '/desk', headers: { host: 'evil.example; script-src *' } });
    expect(String(forged.headers['content-security-policy'])).toContain("connect-src 'self'; ");

    const wall = await t.app.inject({ method: 'GET', url: '/wallboard' });
    expect(wall.statusCode).toBe(200);
    const calls = await t.app.inject({ method: 'GET', url: '/calls' });
    expect(calls.statusCode).toBe(200);
    expect(calls.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(String(calls.headers['content-security-policy'])).toContain("default-src 'none'");
    const types: Record<string, string> = {
      '/web/desk.js': 'text/javascript; charset=utf-8',
      '/web/wallboard.js': 'text/javascript; charset=utf-8',
      '/web/calls.js': 'text/javascript; charset=utf-8',
      '/web/live.js': 'text/javascript; charset=utf-8',
      '/web/common.css': 'text/css; charset=utf-8',
    };
    const bodies = [desk.body, wall.body, calls.body];
    for (const [url, type] of Object.entries(types)) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type'], url).toBe(type);
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      bodies.push(res.body);
    }
    // Nothing from outside: no absolute URLs, no inline scripts or styles, no @import or web fonts.
    for (const b of bodies) {
      expect(b).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
      expect(b).not.toMatch(/@import|@font-face|url\(/i);
      expect(b).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
      expect(b).not.toMatch(/\sstyle=|<style/i);
    }
    expect((await t.app.inject({ method: 'GET', url: '/web/desk.html' })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/web/..%2Fpages.ts' })).statusCode).toBe(404);
  });

  it('GET /web/now is the server clock (virtual here), for countdowns', async () => {
    const t = await app();
    const a = (await t.app.inject({ method: 'GET', url: '/web/now' })).json() as { now: number };
    expect(a.now).toBe(OPEN_TIME);
    await t.clock.advance(12_345);
    const b = (await t.app.inject({ method: 'GET', url: '/web/now' })).json() as { now: number };
    expect(b.now).toBe(OPEN_TIME + 12_345);
  });
});

describe("today's counters", () => {
  it('count by the definitions of docs/definitions.md, as the Prometheus counters do, per day in the center time zone', async () => {
    const t = await app();
    const base = { queue: 'support', contactId: 'k', serviceLevelSeconds: 20 };
    const sid = (i: number) => 'CA' + String(i).padStart(32, '0');
    const left = (i: number, outcome: 'answered' | 'abandoned', waitSeconds: number, short = false, at = OPEN_TIME): DomainEvent => ({
      type: 'queue.left',
      at,
      callSid: sid(i),
      outcome,
      waitSeconds,
      short,
      ...base,
    });
    const events: DomainEvent[] = [
      ...[1, 2, 3, 4, 5].map((i): DomainEvent => ({
        type: 'queue.offered',
        at: OPEN_TIME,
        callSid: sid(i),
        queue: 'support',
        contactId: 'k',
        priority: 0,
      })),
      left(1, 'answered', 10),
      left(2, 'answered', 20), // exactly T: within
      left(3, 'answered', 25),
      left(4, 'abandoned', 3, true), // short: out of both measures
      left(5, 'abandoned', 40),
    ];
    t.app.sb.bus.publish(events);
    // 15 hours later it is the next day in New York (09:00 → 00:00).
    const tomorrow = OPEN_TIME + 15 * 3600_000;
    t.app.sb.bus.publish([
      { type: 'queue.offered', at: tomorrow, callSid: sid(6), queue: 'support', contactId: 'k', priority: 0 },
      left(6, 'answered', 5, false, tomorrow),
    ]);

    const port = await listen(t);
    const sup = await client(port, '/supervisor/ws');
    sup.ws.send(JSON.stringify({ type: 'hello', token: SUPERVISOR_TOKEN }));
    const snap = (await sup.next((m) => m.type === 'snapshot')) as unknown as Snapshot;
    expect(snap.day).toBe('2026-01-05');
    const today = snap.queues.find((q) => q.id === 'support')!.today;
    expect(today).toMatchObject({ offered: 5, answered: 3, answeredWithinSl: 2, abandoned: 2, shortAbandoned: 1 });

    // The same events, counted by the metrics: service level and abandonment agree.
    const m = await t.metrics();
    const offered = sample(m, 'switchboard_calls_offered_total', { queue: 'support' })!;
    const within = sample(m, 'switchboard_calls_answered_within_sl_total', { queue: 'support' })!;
    const shorts = sample(m, 'switchboard_calls_short_abandoned_total', { queue: 'support' })!;
    const abandoned = sample(m, 'switchboard_calls_abandoned_total', { queue: 'support' })!;
    // (The metrics include tomorrow's call: take it out.)
    expect(today.serviceLevel).toBeCloseTo((within - 1) / (offered - 1 - shorts), 10);
    expect(today.abandonment).toBeCloseTo((abandoned - shorts) / (offered - 1 - shorts), 10);
    expect(today.serviceLevel).toBe(0.5);
    expect(today.abandonment).toBe(0.25);

    // Grafana's "today" is this same tally: /metrics exports it per count, with the center's time zone.
    const counts = ['offered', 'answered', 'answered_within_sl', 'abandoned', 'short_abandoned', 'overflow', 'callback'];
    expect(Object.fromEntries(counts.map((count) => [count, sample(m, 'switchboard_calls_today', { queue: 'support', count })]))).toEqual({
      offered: 5,
      answered: 3,
      answered_within_sl: 2,
      abandoned: 2,
      short_abandoned: 1,
      overflow: 0,
      callback: 0,
    });
    expect(sample(m, 'switchboard_center_time_zone_info', { time_zone: 'America/New_York' })).toBe(1);
    expect(sample(m, 'switchboard_center_utc_offset_seconds')).toBe(-5 * 3600); // January: EST
    await t.clock.advance(15 * 3600_000); // the next day in New York: tomorrow's one call only
    const next = await t.metrics();
    expect(sample(next, 'switchboard_calls_today', { queue: 'support', count: 'offered' })).toBe(1);
    expect(sample(next, 'switchboard_calls_today', { queue: 'support', count: 'answered_within_sl' })).toBe(1);

    expect(dayOf(tomorrow, 'America/New_York')).toBe('2026-01-06');
    expect(dayRates({ offered: 2, answered: 0, answeredWithinSl: 0, abandoned: 2, shortAbandoned: 2, overflow: 0, callback: 0 })).toEqual({
      serviceLevel: null,
      abandonment: null,
    });
  });
});

describe('supervisor socket', () => {
  it('refuses agent and wrong tokens with 4401 and asks for hello first', async () => {
    const t = await app();
    const port = await listen(t);
    const a = await client(port, '/supervisor/ws');
    a.ws.send(JSON.stringify({ type: 'set_state', state: 'available' }));
    expect(await a.next((m) => m.type === 'error')).toMatchObject({ code: 'invalid_message', field: 'type' });
    a.ws.send(JSON.stringify({ type: 'hello', token: 'alice-demo-token' }));
    expect(await a.next((m) => m.type === 'error' && m.code === 'unauthorized')).toMatchObject({ field: 'token' });
    expect(await a.closed).toBe(4401);
    const b = await client(port, '/supervisor/ws');
    b.ws.send('not json');
    expect(await b.next((m) => m.type === 'error')).toMatchObject({ code: 'invalid_json' });
    b.ws.send(JSON.stringify({ type: 'hello', token: 'nope-nope-nope' }));
    expect(await b.closed).toBe(4401);
    expect(b.messages.some((m) => m.type === 'snapshot')).toBe(false);
  });

  it('pushes a new snapshot when an agent changes state, throttled, and across instances', async () => {
    const redis = newRedis();
    try {
      // No periodic refresh here: B can only learn of A's change through the live channel.
      const web = { refreshMs: 600_000 };
      const a = await app({ redis, deps: { web } });
      const b = await app({ redis, config: { redisPrefix: a.prefix, instanceId: 'b' }, deps: { web } });
      const portA = await listen(a);
      const portB = await listen(b);
      const wallA = await client(portA, '/supervisor/ws');
      const wallB = await client(portB, '/supervisor/ws');
      for (const w of [wallA, wallB]) w.ws.send(JSON.stringify({ type: 'hello', token: SUPERVISOR_TOKEN }));
      for (const w of [wallA, wallB])
        expect(((await w.next((m) => m.type === 'snapshot')) as unknown as Snapshot).agentsByState.available).toBe(0);

      // Alice signs in on instance A and becomes available: both wallboards follow.
      const agent = await client(portA, '/agent/ws');
      agent.ws.send(JSON.stringify({ type: 'hello', token: 'alice-demo-token' }));
      await agent.next((m) => m.type === 'welcome');
      agent.ws.send(JSON.stringify({ type: 'set_state', state: 'available' }));
      await agent.next((m) => m.type === 'ack');
      for (const w of [wallA, wallB]) {
        const s = (await w.next(
          (m) => m.type === 'snapshot' && (m as unknown as Snapshot).agentsByState.available === 1,
        )) as unknown as Snapshot;
        expect(s.agentsByState.offline).toBe(2);
      }

      // A burst of events gives at most one snapshot per 500 ms (upper bound only: a slow machine sends fewer).
      const before = wallA.messages.length;
      const t0 = Date.now();
      for (let i = 0; i < 50; i++)
        a.app.sb.bus.publish([{ type: 'hold', at: a.clock.now(), callSid: 'CA' + '0'.repeat(32), queue: 'support', on: i % 2 === 0 }]);
      await wallA.next((m) => wallA.messages.indexOf(m) >= before && m.type === 'snapshot');
      await new Promise((r) => setTimeout(r, 1200));
      const elapsed = Date.now() - t0;
      const pushed = wallA.messages.slice(before).filter((m) => m.type === 'snapshot').length;
      expect(pushed).toBeGreaterThanOrEqual(1);
      expect(pushed).toBeLessThanOrEqual(Math.ceil(elapsed / 500) + 1);
    } finally {
      redis.disconnect();
    }
  });
});
