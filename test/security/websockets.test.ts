/**
 * The rules both WebSocket endpoints share (src/access/websocket.ts): an upgrade to a path no endpoint
 * claims is answered 404 and its connection closed (never left hanging), the endpoints' own paths work
 * behind a query string; before sign-in each socket is closed with 4401 after 16 frames of any kind or
 * when no hello came in time; frames are text JSON (binary is `invalid_json`) up to the endpoint's size
 * (over it: 1009); and the upgrade is refused with 429 while the address's failed-token budget is spent.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { makeApp, sample, SUPERVISOR_TOKEN, type TestApp } from '../helpers/app.js';
import { Sock } from '../helpers/ws.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function listening(opts: Parameters<typeof makeApp>[0] = {}): Promise<{ t: TestApp; port: number; base: string }> {
  t = await makeApp(opts);
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = t.app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { t, port, base: `ws://127.0.0.1:${port}` };
}

/**
 * Send a raw upgrade request and read what comes back until the server closes the connection, or
 * report `hanging` if it has not after 5 s (generous: the answer is immediate).
 */
function rawUpgrade(port: number, path: string): Promise<{ text: string; hanging: boolean }> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ text, hanging: true });
    }, 5000);
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ text, hanging: false });
    });
    s.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: { statusCode?: number; headers?: Record<string, string> }) => e,
  );

const ENDPOINTS = [
  { path: '/agent/ws', token: 'alice-demo-token', signedIn: 'welcome', maxFrame: 16 * 1024 },
  { path: '/supervisor/ws', token: SUPERVISOR_TOKEN, signedIn: 'snapshot', maxFrame: 4 * 1024 },
] as const;

/** Resolves with the first message of this type the socket receives (or has received). */
function nextOfType(s: Sock, type: string): Promise<Record<string, unknown>> {
  const have = s.messages.find((m) => m.type === type);
  if (have) return Promise.resolve(have);
  return new Promise((resolve) => {
    const on = (d: Buffer) => {
      const m = JSON.parse(d.toString()) as Record<string, unknown>;
      if (m.type === type) {
        s.ws.off('message', on);
        resolve(m);
      }
    };
    s.ws.on('message', on);
  });
}

describe('WebSocket upgrades', () => {
  it('an upgrade to an unknown path is answered 404 and closed; the two endpoints still answer, query strings included', async () => {
    const { port, base } = await listening();
    for (const path of [
      '/nope',
      '/',
      '/agent/wsx',
      '/agent/ws/',
      '/supervisor',
      '/supervisor/ws/extra',
      '/AGENT/WS',
      '/api/queues?x=/agent/ws',
    ]) {
      const r = await rawUpgrade(port, path);
      expect(r.hanging, path).toBe(false);
      expect(r.text, path).toMatch(/^HTTP\/1\.1 404 /);
      expect(r.text, path).toMatch(/X-Content-Type-Options: nosniff/i);
      expect(r.text, path).toContain('"error":"not_found"');
    }
    // The ws client sees the same refusal.
    expect((await refusal(Sock.open(`${base}/nope?token=alice-demo-token`)))?.statusCode).toBe(404);

    // The agent socket signs in from the URL's token; the supervisor socket ignores a query string.
    const agent = await Sock.open(`${base}/agent/ws?token=alice-demo-token`);
    expect((await nextOfType(agent, 'welcome')).agentId).toBe('alice');
    agent.close();
    const other = await Sock.open(`${base}/agent/ws?client=desk&v=2`);
    expect(await other.request(JSON.stringify({ type: 'hello', token: 'bob-demo-token' }))).toMatchObject({
      type: 'welcome',
      agentId: 'bob',
    });
    other.close();
    const wall = await Sock.open(`${base}/supervisor/ws?view=tv`);
    wall.ws.send(JSON.stringify({ type: 'hello', token: SUPERVISOR_TOKEN }));
    expect((await nextOfType(wall, 'snapshot')).type).toBe('snapshot');
    wall.close();
  });

  it('the upgrade of either socket is refused with 429 while the address may not sign in; counted', async () => {
    let ms = 1_000_000;
    const { t, base } = await listening({ config: { rateLimits: { signIn: { capacity: 2, refillPerSecond: 0.1, now: () => ms } } } });
    const from = { 'x-forwarded-for': '203.0.113.60' };
    for (const token of ['guess-1', 'alice-demo-token']) {
      const s = await Sock.open(`${base}/supervisor/ws`, from);
      expect(await s.request(JSON.stringify({ type: 'hello', token }))).toMatchObject({
        type: 'error',
        code: 'unauthorized',
        field: 'token',
      });
      expect((await s.whenClosed()).code).toBe(4401);
    }
    for (const path of ['/supervisor/ws', '/agent/ws']) {
      const refused = await refusal(Sock.open(base + path, from));
      expect(refused?.statusCode, path).toBe(429);
      expect(Number(refused?.headers?.['retry-after']), path).toBe(10);
    }
    // Another address is not affected; after the refill this one signs in again.
    const other = await Sock.open(`${base}/supervisor/ws`, { 'x-forwarded-for': '203.0.113.61' });
    other.ws.send(JSON.stringify({ type: 'hello', token: SUPERVISOR_TOKEN }));
    await nextOfType(other, 'snapshot');
    other.close();
    ms += 10_000;
    const again = await Sock.open(`${base}/supervisor/ws`, from);
    again.ws.send(JSON.stringify({ type: 'hello', token: SUPERVISOR_TOKEN }));
    await nextOfType(again, 'snapshot');
    again.close();
    expect(sample(await t.metrics(), 'switchboard_rate_limited_total', { limiter: 'sign_in' })).toBe(2);
  });
});

describe('before sign-in', () => {
  for (const e of ENDPOINTS) {
    it(`${e.path}: closed with 4401 after 16 frames of any kind without a sign-in`, async () => {
      const { base } = await listening();
      const s = await Sock.open(base + e.path);
      // Pings, bad JSON, binary frames, schema errors and commands all count.
      const frames: [string | Buffer, boolean][] = [
        [JSON.stringify({ type: 'ping' }), false],
        ['not json', false],
        [Buffer.from(JSON.stringify({ type: 'ping' })), true],
        [JSON.stringify({ type: 'set_state', state: 'available' }), false],
        [JSON.stringify({ type: 'hello' }), false],
      ];
      for (let i = 0; i < 15; i++) {
        const [frame, binary] = frames[i % frames.length]!;
        expect(await s.request(frame, binary), `frame ${i + 1}`).toBeDefined();
        expect(s.closed, `frame ${i + 1}`).toBeUndefined();
      }
      expect(await s.request(JSON.stringify({ type: 'ping' }))).toMatchObject({ type: 'pong' });
      expect(await s.whenClosed()).toEqual({ code: 4401, reason: 'unauthorized' });
    });

    it(`${e.path}: a hello as the 16th frame signs in, and the cap is gone after it`, async () => {
      const { base } = await listening();
      const s = await Sock.open(base + e.path);
      for (let i = 0; i < 15; i++) expect(await s.request(JSON.stringify({ type: 'ping' }))).toMatchObject({ type: 'pong' });
      s.ws.send(JSON.stringify({ type: 'hello', token: e.token }));
      await nextOfType(s, e.signedIn);
      for (let i = 0; i < 20; i++) expect(await s.request(JSON.stringify({ type: 'ping' }))).toMatchObject({ type: 'pong' });
      expect(s.closed).toBeUndefined();
      s.close();
    });

    it(`${e.path}: closed with 4401 when no hello came in time; a signed-in socket stays`, async () => {
      const { base } = await listening({ deps: { helloTimeoutMs: 300 } });
      const silent = await Sock.open(base + e.path);
      const signed = await Sock.open(base + e.path);
      signed.ws.send(JSON.stringify({ type: 'hello', token: e.token }));
      await nextOfType(signed, e.signedIn);
      expect(await silent.whenClosed()).toEqual({ code: 4401, reason: 'hello timeout' });
      // Well past the timeout (the silent socket has been closed by it), the signed-in one still answers.
      expect(await signed.request(JSON.stringify({ type: 'ping' }))).toMatchObject({ type: 'pong' });
      expect(signed.closed).toBeUndefined();
      signed.close();
    });

    it(`${e.path}: a frame over ${e.maxFrame} bytes closes the socket with 1009, signed in or not; binary frames are invalid_json`, async () => {
      const { base } = await listening();
      const big = JSON.stringify({ type: 'ping', pad: 'x'.repeat(e.maxFrame) });
      const before = await Sock.open(base + e.path);
      before.ws.send(big);
      expect((await before.whenClosed()).code).toBe(1009);

      const s = await Sock.open(base + e.path);
      s.ws.send(JSON.stringify({ type: 'hello', token: e.token }));
      await nextOfType(s, e.signedIn);
      expect(await s.request(Buffer.from([0, 1, 2, 255]), true)).toMatchObject({ type: 'error', code: 'invalid_json', field: '(message)' });
      expect(await s.request(Buffer.from(JSON.stringify({ type: 'ping' })), true)).toMatchObject({ code: 'invalid_json' });
      // Just under the limit is a frame like any other.
      const under = JSON.stringify({ type: 'ping', pad: '' });
      const fits = JSON.stringify({ type: 'ping', pad: 'x'.repeat(e.maxFrame - Buffer.byteLength(under)) });
      expect(Buffer.byteLength(fits)).toBe(e.maxFrame);
      expect(await s.request(fits)).toBeDefined();
      expect(s.closed).toBeUndefined();
      s.ws.send(big);
      expect((await s.whenClosed()).code).toBe(1009);

      // The next connection works.
      const again = await Sock.open(base + e.path);
      expect(await again.request(JSON.stringify({ type: 'ping' }))).toMatchObject({ type: 'pong' });
      again.close();
    });
  }
});
