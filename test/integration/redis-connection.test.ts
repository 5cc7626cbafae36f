/**
 * The production connection options (src/store/redis.ts connectRedis) against a real redis-server: an
 * error reply from a script is an answer, not a reason to drop the shared connection; a script still
 * runs after Redis restarted with an empty script cache (NOSCRIPT → EVAL); and the client comes back by
 * itself after Redis was killed and restarted on the same port.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRedis, defineScripts, type RedisClient } from '../../src/store/redis.js';
import { startRedis } from '../setup/global-redis.js';
import { eventually } from '../helpers/redis.js';

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe('Redis connection options', () => {
  it('a script error reply does not reconnect the shared connection', async () => {
    const r = await startRedis();
    cleanup.push(
      () => r.stop(),
      () => rmSync(r.dir, { recursive: true, force: true }),
    );
    const c: RedisClient = connectRedis({ url: r.url });
    cleanup.push(() => c.disconnect());
    let reconnects = 0;
    c.on('reconnecting', () => reconnects++);
    await c.ping();
    const scripts = defineScripts(c, [{ name: 'alwaysConflict', numberOfKeys: 0, lua: "return redis.error_reply('SB_CONFLICT not now')" }]);
    for (let i = 0; i < 5; i++) await expect(scripts.alwaysConflict!([], [])).rejects.toThrow(/SB_CONFLICT|conflict/i);
    await c.incr('after');
    expect(reconnects).toBe(0);
  });

  it('reconnects by itself after a SIGKILL and runs scripts again with an empty script cache', async () => {
    const r1 = await startRedis({ appendonly: true });
    let current = r1;
    cleanup.push(
      () => current.stop(),
      () => rmSync(r1.dir, { recursive: true, force: true }),
    );
    const c: RedisClient = connectRedis({ url: r1.url, commandTimeoutMs: 300 });
    cleanup.push(() => c.disconnect());
    const scripts = defineScripts(c, [{ name: 'bump', numberOfKeys: 1, lua: "return redis.call('INCR', KEYS[1])" }]);
    expect(await scripts.bump!(['n'], [])).toBe(1);
    r1.proc.kill('SIGKILL');
    await new Promise((res) => r1.proc.once('exit', res));
    const started = performance.now();
    await expect(scripts.bump!(['n'], [])).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(1500); // fails fast, does not hang
    current = await startRedis({ appendonly: true, port: r1.port, dir: r1.dir });
    await eventually(async () => (await c.ping()) === 'PONG');
    expect(await scripts.bump!(['n'], [])).toBe(2); // AOF kept n = 1; NOSCRIPT fell back to EVAL
  });
});
