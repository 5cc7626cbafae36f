/**
 * Every registered route has an access rule, and the server enforces it: each route in the app's route
 * table (filled by an onRoute hook before any route is registered) must be a Twilio-signed webhook, a
 * public route on the explicit allow-list below, or require a scope, and is probed without credentials,
 * with a garbage token, with the other scope's token and with the right one. A route added without auth
 * (or not classified here) fails this test. Every response probed carries the security headers, and
 * each WebSocket endpoint refuses the other scope's token and a garbage one (4401).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { makeApp, SUPERVISOR_TOKEN, type TestApp } from '../helpers/app.js';
import { expectSecurityHeaders } from '../helpers/security.js';
import { Sock } from '../helpers/ws.js';

type Access = 'twilio' | 'public' | 'supervisor' | 'agent';

/** Routes anyone may call. Adding one here is a decision; anything else needs a signature or a scope. */
const PUBLIC = new Set([
  'GET /health',
  'GET /ready',
  'GET /metrics',
  // The desk and wallboard pages and their assets (src/web): no data in them; they sign in over their sockets.
  'GET /desk',
  'GET /wallboard',
  'GET /calls',
  'GET /history',
  'GET /web/now',
  'GET /web/common.css',
  'GET /web/live.js',
  'GET /web/desk.js',
  'GET /web/wallboard.js',
  'GET /web/calls.js',
  'GET /web/history.js',
  'GET /web/softphone.js',
  'GET /web/desk-state.js',
  'GET /web/desk-transfer.js',
  'GET /web/desk-recording.js',
  // Twilio's Voice JavaScript SDK, served from the installed package (no CDN).
  'GET /web/vendor/twilio-voice.js',
]);

/** Access by path prefix for everything not on the allow-list. */
const RULES: [RegExp, Access][] = [
  [/^\/twilio\//, 'twilio'],
  [/^\/api\/agent\//, 'agent'],
  [/^\/api\//, 'supervisor'],
  [/^\/supervisor(\/|$)/, 'supervisor'],
  [/^\/agent(\/|$)/, 'agent'],
];

const AGENT_TOKEN = 'alice-demo-token';

function accessOf(method: string, url: string): Access | undefined {
  const m = method === 'HEAD' ? 'GET' : method;
  if (PUBLIC.has(`${m} ${url}`)) return 'public';
  return RULES.find(([re]) => re.test(url))?.[1];
}

/** Fill route parameters with a plausible value. */
const concrete = (url: string) => url.replace(/:(\w+)/g, 'x1').replace(/\*/g, 'x1');

let t: TestApp;
const responses: { what: string; res: LightMyRequestResponse }[] = [];

beforeAll(async () => {
  // Generous limits here: this test makes many failed attempts on purpose (the limits have their own test).
  t = await makeApp({
    config: {
      rateLimits: { signIn: { capacity: 10_000, refillPerSecond: 1 }, supervisorApi: { capacity: 10_000, refillPerSecond: 1 } },
      // The softphone on, so its token route answers the right scope with a token.
      twilioApiKeySid: 'SK' + '3'.repeat(32),
      twilioApiKeySecret: 'routes-test-api-key-secret',
    },
  });
});
afterAll(async () => {
  await t.close();
});

async function probe(method: string, url: string, token?: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  const res = await t.app.inject({
    method: method as 'GET',
    url,
    headers: { ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}), ...headers },
    ...(method === 'POST' ? { payload: '' } : {}),
  });
  responses.push({ what: `${method} ${url}${token ? ' (token)' : ''} → ${res.statusCode}`, res });
  return res;
}

describe('every route has an access rule that the server enforces', () => {
  it('classifies and probes every registered route', async () => {
    const routes = t.app.routeTable.filter((r) => r.method !== 'OPTIONS');
    expect(routes.length).toBeGreaterThan(20);
    const unclassified = routes.filter((r) => !accessOf(r.method, r.url)).map((r) => `${r.method} ${r.url}`);
    expect(unclassified, 'routes without an access rule: sign them, scope them, or add them to PUBLIC deliberately').toEqual([]);

    const seen: Record<Access, number> = { twilio: 0, public: 0, supervisor: 0, agent: 0 };
    for (const r of routes) {
      const access = accessOf(r.method, r.url)!;
      seen[access]++;
      const url = concrete(r.url);
      const what = `${r.method} ${r.url}`;
      if (access === 'twilio') {
        expect(r.method, what).toBe('POST');
        const none = await probe('POST', url, undefined, { 'content-type': 'application/x-www-form-urlencoded' });
        expect(none.statusCode, what).toBe(400);
        expect(none.json(), what).toMatchObject({ error: 'missing_signature' });
        const forged = await probe('POST', url, undefined, {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': 'bm90IGEgc2lnbmF0dXJl',
        });
        expect(forged.statusCode, what).toBe(403);
        // A bearer token is no substitute for Twilio's signature.
        const bearer = await probe('POST', url, SUPERVISOR_TOKEN, { 'content-type': 'application/x-www-form-urlencoded' });
        expect(bearer.statusCode, what).toBe(400);
        continue;
      }
      if (access === 'public') {
        const res = await probe(r.method, url);
        expect(res.statusCode, what).toBeLessThan(400);
        continue;
      }
      const right = access === 'supervisor' ? SUPERVISOR_TOKEN : AGENT_TOKEN;
      const wrong = access === 'supervisor' ? AGENT_TOKEN : SUPERVISOR_TOKEN;
      const none = await probe(r.method, url);
      expect(none.statusCode, `${what} without a token`).toBe(401);
      expect(none.headers['www-authenticate'], what).toBe('Bearer');
      const garbage = await probe(r.method, url, 'not-a-token');
      expect(garbage.statusCode, `${what} with a garbage token`).toBe(401);
      const other = await probe(r.method, url, wrong);
      expect(other.statusCode, `${what} with the ${access === 'supervisor' ? 'agent' : 'supervisor'} scope`).toBe(403);
      const ok = await probe(r.method, url, right);
      expect([401, 403, 429], `${what} with the right scope`).not.toContain(ok.statusCode);
      expect(ok.statusCode, what).toBeLessThan(500);
    }
    expect(seen.twilio).toBeGreaterThanOrEqual(20);
    expect(seen.supervisor).toBeGreaterThanOrEqual(4);
    expect(seen.public).toBeGreaterThanOrEqual(3);
  });

  it('puts the security headers on every response: routes, 404, 413, 415 and errors', async () => {
    await probe('GET', '/no-such-route');
    await probe('GET', '/api/capacity?arrivalsPerHour=-1', SUPERVISOR_TOKEN);
    await probe('POST', '/twilio/voice', undefined, { 'content-type': 'application/json' });
    await t.app
      .inject({ method: 'POST', url: '/twilio/voice', headers: { 'content-type': 'text/plain' }, payload: 'x' })
      .then((res) => responses.push({ what: 'text/plain', res }));
    await t.app
      .inject({
        method: 'POST',
        url: '/twilio/voice',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'a=' + 'x'.repeat(70 * 1024),
      })
      .then((res) => responses.push({ what: 'oversized form', res }));
    const statuses = new Set(responses.map((r) => r.res.statusCode));
    for (const s of [200, 400, 401, 403, 404, 413, 415]) expect([...statuses], `a ${s} was probed`).toContain(s);
    for (const { what, res } of responses) expectSecurityHeaders(res, what);
  });

  it('every socket checks the scope of the token it is given', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = t.app.server.address();
    const base = `ws://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const sockets: [string, string, string][] = [
      ['/agent/ws', AGENT_TOKEN, SUPERVISOR_TOKEN],
      ['/supervisor/ws', SUPERVISOR_TOKEN, AGENT_TOKEN],
    ];
    for (const [path, right, wrong] of sockets) {
      for (const token of [wrong, 'not-a-token']) {
        const s = await Sock.open(base + path);
        s.ws.send(JSON.stringify({ type: 'hello', token }));
        expect((await s.whenClosed()).code, `${path} with ${token === wrong ? 'the other scope' : 'a garbage token'}`).toBe(4401);
        expect(s.messages[0], path).toMatchObject({ type: 'error', code: 'unauthorized', field: 'token' });
      }
      const ok = await Sock.open(base + path);
      ok.ws.send(JSON.stringify({ type: 'hello', token: right }));
      await new Promise<void>((resolve) => ok.ws.once('message', () => resolve()));
      expect(ok.messages[0]?.type, path).not.toBe('error');
      ok.close();
    }
  });
});
