/**
 * The built server's process life (src/main.ts, src/local-redis.ts), as `npm start` runs it: no REDIS_URL,
 * so it starts its own redis-server with its append-only file under DATA_DIR.
 *
 * - a public PUBLIC_BASE_URL with development secrets exits 78 naming each one, before starting Redis;
 * - a start-up that fails after Redis started (the port is taken) exits 1 and leaves no redis-server;
 * - a second server on the same DATA_DIR is refused while the first runs (no second Redis on one AOF);
 *   a Redis left behind by a SIGKILLed server is stopped by the next start, and the data survives;
 * - an uncaught exception or an unhandled rejection is logged, drains (agents are told to reconnect),
 *   exits 1 and stops Redis;
 * - a second Ctrl-C during a drain that cannot finish exits at once, and Redis is still told to stop.
 *
 * Redis processes are found by what they are, not by what the server says: a redis-server whose working
 * directory (Redis changes into its `--dir`) is the test's data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freshBuild } from '../helpers/build.js';
import { REPO_ROOT } from '../helpers/promql.js';
import { Sock } from '../helpers/ws.js';
import { freePort } from '../setup/global-redis.js';

let build: string;
const dirs: string[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  build = await freshBuild();
}, 300_000);
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** redis-server processes whose working directory is `dir`. */
function redisServersIn(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readFileSync(`/proc/${name}/cmdline`, 'utf8').startsWith('redis-server')) continue;
      if (readlinkSync(`/proc/${name}/cwd`) === dir) pids.push(Number(name));
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return pids;
}

interface Server_ {
  proc: ChildProcess;
  port: number;
  out(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `node <build>/main.js` (optionally with a preload) with the example config and the given environment. */
async function start(env: Record<string, string>, preload?: string): Promise<Server_> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const proc = spawn(process.execPath, [...(preload ? ['--import', preload] : []), join(build, 'main.js')], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  cleanups.push(() => void (proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL')));
  return { proc, port, out: () => out, exited };
}

async function ready(s: Server_): Promise<void> {
  let gone = false;
  void s.exited.then(() => (gone = true));
  await until(() => gone || s.out().includes('Switchboard listening'), 'the server to listen');
  if (gone) throw new Error(`the server exited at start:\n${s.out()}`);
}

function dataDir(): { data: string; redisDir: string } {
  const data = mkdtempSync(join(tmpdir(), 'sb-proc-'));
  dirs.push(data);
  // Whatever a failed test leaves, no redis-server outlives the run.
  cleanups.push(() => {
    for (const pid of redisServersIn(join(data, 'redis'))) {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    }
  });
  return { data, redisDir: join(data, 'redis') };
}

const lock = (redisDir: string) =>
  JSON.parse(readFileSync(join(redisDir, 'switchboard.lock'), 'utf8')) as { serverPid: number; redisPid: number; port: number };

describe('start-up', { timeout: 120_000 }, () => {
  it('a public PUBLIC_BASE_URL with development secrets exits 78 naming each setting, and starts no Redis', async () => {
    const { data, redisDir } = dataDir();
    const s = await start({ PUBLIC_BASE_URL: 'https://switchboard.example.com', DATA_DIR: data });
    expect((await s.exited).code).toBe(78);
    for (const name of [
      'TWILIO_AUTH_TOKEN',
      'TWILIO_ACCOUNT_SID',
      'CALLER_HASH_KEY',
      'SUPERVISOR_TOKEN',
      'agents.alice.token',
      'agents.bob.token',
    ]) {
      expect(s.out()).toMatch(new RegExp(`^${name.replace(/\./g, '\\.')}: `, 'm'));
    }
    expect(existsSync(redisDir)).toBe(false);
    expect(redisServersIn(redisDir)).toEqual([]);
  });

  it('a start-up that fails after Redis started (port taken) exits 1 and leaves no redis-server', async () => {
    const { data, redisDir } = dataDir();
    const port = await freePort();
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const s = await start({ DATA_DIR: data, PORT: String(port) });
    expect((await s.exited).code).toBe(1);
    expect(s.out()).toContain('EADDRINUSE');
    // Redis did start (its append-only directory exists), and was stopped before the process ended.
    expect(existsSync(join(redisDir, 'appendonlydir'))).toBe(true);
    expect(redisServersIn(redisDir)).toEqual([]);
    expect(existsSync(join(redisDir, 'switchboard.lock'))).toBe(false);
  });

  it('an external Redis that comes up after the server: start-up waits for it, then listens and answers', async () => {
    const { data } = dataDir();
    const redisPort = await freePort();
    const s = await start({ DATA_DIR: data, REDIS_URL: `redis://127.0.0.1:${redisPort}` });
    // Longer than the start-up commands' 1 s timeout: before, the first of them failed and the process exited 1.
    await sleep(3000);
    expect(s.proc.exitCode).toBeNull();
    expect(s.out()).not.toContain('Switchboard listening');
    const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    cleanups.push(() => void redis.kill('SIGKILL'));
    await ready(s);
    const res = await fetch(`http://127.0.0.1:${s.port}/health`);
    expect(res.status).toBe(200);
  });

  it('one Redis per data directory: a second server is refused; a Redis a killed server left is stopped by the next start, its data kept', async () => {
    const { data, redisDir } = dataDir();
    const first = await start({ DATA_DIR: data });
    await ready(first);
    const [redisPid] = redisServersIn(redisDir);
    expect(redisPid).toBeDefined();
    expect(lock(redisDir)).toMatchObject({ serverPid: first.proc.pid, redisPid });
    const client = new Redis(lock(redisDir).port);
    await client.set('sbt:proc:kept', 'yes');
    client.disconnect();

    const second = await start({ DATA_DIR: data });
    expect((await second.exited).code).toBe(1);
    expect(second.out()).toMatch(/in use by another Switchboard \(pid \d+\)/);
    expect(redisServersIn(redisDir)).toEqual([redisPid]);

    // SIGKILL: the server cannot stop its Redis, which is left running.
    first.proc.kill('SIGKILL');
    await first.exited;
    expect(redisServersIn(redisDir)).toEqual([redisPid]);

    const third = await start({ DATA_DIR: data });
    await ready(third);
    const now = redisServersIn(redisDir);
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(redisPid);
    const again = new Redis(lock(redisDir).port);
    expect(await again.get('sbt:proc:kept')).toBe('yes');
    again.disconnect();

    third.proc.kill('SIGTERM');
    expect((await third.exited).code).toBe(0);
    expect(redisServersIn(redisDir)).toEqual([]);
    expect(existsSync(join(redisDir, 'switchboard.lock'))).toBe(false);
  });
});

describe('crashes and signals', { timeout: 120_000 }, () => {
  for (const kind of ['exception', 'rejection'] as const) {
    it(`an unhandled ${kind} is logged, drains (agents told to reconnect), exits 1 and stops Redis`, async () => {
      const { data, redisDir } = dataDir();
      const s = await start({ DATA_DIR: data, CRASH: kind }, join(REPO_ROOT, 'test/fixtures/crash-on-signal.mjs'));
      await ready(s);
      const alice = await Sock.open(`ws://127.0.0.1:${s.port}/agent/ws`);
      expect(await alice.request(JSON.stringify({ type: 'hello', token: 'alice-demo-token' }))).toMatchObject({ type: 'welcome' });
      expect(redisServersIn(redisDir)).toHaveLength(1);

      s.proc.kill('SIGWINCH');
      expect((await s.exited).code).toBe(1);
      expect(s.out()).toMatch(/"level":60.*crashed: draining and exiting/);
      expect(s.out()).toContain(`test: an ${kind === 'exception' ? 'uncaught exception' : 'unhandled rejection'}`);
      expect(alice.messages.some((m) => m.type === 'reconnect')).toBe(true);
      expect((await alice.whenClosed()).code).toBe(1012);
      expect(redisServersIn(redisDir)).toEqual([]);
    });
  }

  it('a second Ctrl-C exits at once while the drain is stuck, and Redis is still told to stop', async () => {
    const { data, redisDir } = dataDir();
    const s = await start({ DATA_DIR: data });
    await ready(s);
    const { redisPid } = lock(redisDir);
    // A Redis that cannot answer its SIGTERM holds the drain (the server waits for it to exit).
    process.kill(redisPid, 'SIGSTOP');
    s.proc.kill('SIGINT');
    await until(() => s.out().includes('shutting down'), 'the drain to start');
    await sleep(300);
    expect(s.proc.exitCode).toBe(null);
    s.proc.kill('SIGINT');
    expect(await s.exited).toEqual({ code: 1, signal: null });
    expect(s.out()).toContain('second SIGINT: exiting now without draining');
    // The SIGTERM the exit hook sent is waiting for Redis; let it run and it stops.
    process.kill(redisPid, 'SIGCONT');
    await until(() => redisServersIn(redisDir).length === 0, 'the redis-server to stop', 15_000);
  });
});
