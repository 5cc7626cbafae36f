/**
 * A live-call webhook never answers 5xx: with Redis killed, the caller still gets the configured
 * fallback TwiML (apology + voicemail) within 2 seconds, the failure is counted, health says degraded.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/store/redis.js';
import { startRedis } from '../setup/global-redis.js';
import { callParams, makeApp, newCallSid, sample, saysOf, type TestApp } from '../helpers/app.js';

let t: TestApp | undefined;
let stopRedis: (() => Promise<void>) | undefined;
afterEach(async () => {
  await t?.close();
  await stopRedis?.();
  t = undefined;
});

describe('Redis down', () => {
  it('answers fallback TwiML fast and reports degraded health', async () => {
    const r = await startRedis();
    stopRedis = r.stop;
    const redis = connectRedis({ url: r.url, commandTimeoutMs: 500 });
    t = await makeApp({ redis });
    const ok = await t.twilio('/twilio/voice', callParams(newCallSid()));
    expect(ok.body).toContain('<Gather');

    r.proc.kill('SIGKILL');
    await new Promise((res) => r.proc.once('exit', res));

    for (const path of ['/twilio/voice', '/twilio/ivr/gather?node=language']) {
      const started = performance.now();
      const res = await t.twilio(path, callParams(newCallSid(), { Digits: '1' }));
      const ms = performance.now() - started;
      expect(res.status).toBe(200);
      expect(saysOf(res.body)[0]).toContain('technical difficulties');
      expect(res.body).toContain('<Record action="https://switchboard.example.com/twilio/fallback/recorded"');
      expect(ms).toBeLessThan(2000);
    }
    const health = await t.app.inject({ method: 'GET', url: '/health' });
    expect(health.json()).toMatchObject({ status: 'degraded', redis: 'down' });
    const ready = await t.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(503);
    const m = await t.metrics();
    expect(sample(m, 'switchboard_webhook_fallbacks_total', { route: '/twilio/voice', reason: 'redis' })).toBe(1);
    expect(sample(m, 'switchboard_webhook_fallbacks_total', { route: '/twilio/ivr/gather', reason: 'redis' })).toBe(1);
    expect(sample(m, 'switchboard_webhook_duration_seconds_count', { route: '/twilio/voice', status: '5xx' })).toBeUndefined();
    redis.disconnect();
  });

  it("the number's fallback URL answers without Redis", async () => {
    t = await makeApp();
    const res = await t.twilio(
      '/twilio/fallback',
      callParams(newCallSid(), { ErrorCode: '11200', ErrorUrl: 'https://switchboard.example.com/twilio/voice' }),
    );
    expect(res.status).toBe(200);
    expect(saysOf(res.body)[0]).toContain('technical difficulties');
  });
});
