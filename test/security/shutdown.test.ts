/**
 * Graceful shutdown. A webhook in flight when shutdown starts completes with 200 and its real TwiML,
 * new connections are refused once shutdown has begun, and connected agents get `reconnect` and a 1012
 * close. Shown in-process (app.close) and on the real process (SIGTERM to `src/main.ts`), each against
 * its own redis-server held with CLIENT PAUSE so the webhook is still in flight; the process's log
 * lines carry no phone number.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import twilio from 'twilio';
import { afterEach, describe, expect, it } from 'vitest';
import { ACCOUNT_SID, AUTH_TOKEN, callParams, makeApp, newCallSid, PUBLIC_BASE, SUPERVISOR_TOKEN } from '../helpers/app.js';
import { writeExampleCenterFile } from '../helpers/instances.js';
import { Sock } from '../helpers/ws.js';
import { freePort, startRedis } from '../setup/global-redis.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const CALLER = '+15557654321';

function post(port: number, path: string, params: Record<string, string>): Promise<{ status: number; body: string }> {
  const sig = twilio.getExpectedTwilioSignature(AUTH_TOKEN, PUBLIC_BASE + path, params);
  return fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': sig },
    body: new URLSearchParams(params),
  }).then(async (r) => ({ status: r.status, body: await r.text() }));
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('graceful shutdown', () => {
  it('app.close: the in-flight webhook completes with 200, new connections are refused, agents get reconnect', async () => {
    const rs = await startRedis();
    cleanups.push(() => rs.stop());
    const redis = new Redis(rs.url, { maxRetriesPerRequest: 1 });
    cleanups.push(() => redis.disconnect());
    const admin = new Redis(rs.url);
    cleanups.push(() => admin.disconnect());
    const t = await makeApp({ redis, budgetMs: 10_000 });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = t.app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const alice = await Sock.open(`ws://127.0.0.1:${port}/agent/ws`);
    expect(await alice.request(JSON.stringify({ type: 'hello', token: 'alice-demo-token' }))).toMatchObject({ type: 'welcome' });

    // Hold Redis so the webhook is still working when shutdown starts.
    await admin.client('PAUSE', 1500, 'ALL');
    let closeStarted = false;
    let closeDone = false;
    let closing: Promise<void> | undefined;
    t.app.server.once('request', () => {
      closeStarted = true;
      closing = t.app.close().then(() => void (closeDone = true));
    });
    let answered = false;
    const res = post(port, '/twilio/voice', callParams(newCallSid(), {}, CALLER)).then((r) => ((answered = true), r));
    await until(() => closeStarted && !t.app.server.listening, 'the listener to close');
    // Shutdown has stopped listening while the webhook is still being worked on (Redis is held).
    expect(answered).toBe(false);
    expect(closeDone).toBe(false);
    expect(await refused(port)).toBe(true);
    const r = await res;
    expect(r.status).toBe(200);
    expect(r.body).toContain('<Gather');
    // The keep-alive connection ends with its answer, so the close does not wait for it to idle out.
    await closing;
    expect(alice.messages.find((m) => m.type === 'reconnect')).toMatchObject({ type: 'reconnect', afterMs: expect.any(Number) });
    expect((await alice.whenClosed()).code).toBe(1012);
  });

  it('SIGTERM on the real process: drains the in-flight webhook, reconnects agents, exits 0; no number in its logs', async () => {
    const rs = await startRedis();
    cleanups.push(() => rs.stop());
    const admin = new Redis(rs.url);
    cleanups.push(() => admin.disconnect());
    const port = await freePort();
    const proc: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        REDIS_URL: rs.url,
        REDIS_PREFIX: 'sbt:shutdown:',
        PUBLIC_BASE_URL: PUBLIC_BASE,
        TWILIO_AUTH_TOKEN: AUTH_TOKEN,
        TWILIO_ACCOUNT_SID: ACCOUNT_SID,
        CALLER_HASH_KEY: 'test-caller-hash-key-0123456789',
        SUPERVISOR_TOKEN,
        // A public PUBLIC_BASE_URL refuses plain agent tokens: the example with them stored as tokenSha256.
        SWITCHBOARD_CONFIG: writeExampleCenterFile(rs.dir),
        LOG_LEVEL: 'debug',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => void (proc.exitCode === null && proc.kill('SIGKILL')));
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    await until(() => out.includes('Switchboard listening'), 'the server to start', 30_000);

    const alice = await Sock.open(`ws://127.0.0.1:${port}/agent/ws`);
    expect(await alice.request(JSON.stringify({ type: 'hello', token: 'alice-demo-token' }))).toMatchObject({ type: 'welcome' });
    const warm = await post(port, '/twilio/voice', callParams(newCallSid(), {}, CALLER));
    expect(warm.status).toBe(200);

    // Under the 1.5 s webhook budget of the real process, so the answer is the real TwiML.
    await admin.client('PAUSE', 700, 'ALL');
    const seen = out.split('"incoming request"').length;
    const res = post(port, '/twilio/voice', callParams(newCallSid(), {}, CALLER));
    // The server has the request (its own log says so) before the signal.
    await until(() => out.split('"incoming request"').length > seen, 'the request to arrive');
    proc.kill('SIGTERM');
    const r = await res;
    expect(r.status).toBe(200);
    expect(r.body).toContain('<Gather');
    expect(alice.messages.some((m) => m.type === 'reconnect')).toBe(true);
    expect((await alice.whenClosed()).code).toBe(1012);
    expect(await exited).toBe(0);
    expect(await refused(port)).toBe(true);
    expect(out).toContain('shutting down');
    for (const n of [CALLER, CALLER.slice(1), '+18005550100', '18005550100'])
      expect(out.includes(n), `${n} in the process log`).toBe(false);
  });
});
