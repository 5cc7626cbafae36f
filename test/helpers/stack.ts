/**
 * The whole system for end-to-end tests: a real app listening on a port, real Redis, the Twilio emulator
 * playing Twilio (signed webhooks, REST stand-in), all on one virtual clock, and agents over a real
 * WebSocket.
 */
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import { buildApp, type AppConfig, type AppDeps } from '../../src/app.js';
import { VirtualClock } from '../../src/clock.js';
import type { CenterConfig } from '../../src/config/callcenter.js';
import { createTwilioEmulator, type TwilioEmulator } from '../../src/sim/twilio/index.js';
import type { RedisClient } from '../../src/store/redis.js';
import { freePort } from '../setup/global-redis.js';
import { ACCOUNT_SID, AUTH_TOKEN, loadExample, OPEN_TIME, PUBLIC_BASE, SUPERVISOR_TOKEN } from './app.js';
import { newRedis, uniquePrefix } from './redis.js';

export const NUMBER = '+18005550100';

export interface Stack {
  app: FastifyInstance;
  emu: TwilioEmulator;
  clock: VirtualClock;
  redis: RedisClient;
  prefix: string;
  port: number;
  agent(token: string): Promise<TestAgent>;
  /**
   * Advance virtual time until `p` settles, giving real time to messages that travel outside HTTP
   * (agent WebSocket, Redis pub/sub) before each step, so time does not run past an offer's deadline
   * while its message is still on the wire.
   */
  until<T>(p: Promise<T>, o?: { stepMs?: number; realWaitMs?: number; maxMs?: number }): Promise<T>;
  /**
   * Wait for the answer to a command that needs no virtual time (an agent's hold, wrap-up) in real time
   * first, so a loaded machine does not move the clock while it is on the wire; fall back to `until`.
   */
  reply<T>(p: Promise<T>, realMs?: number): Promise<T>;
  metrics(): Promise<string>;
  close(): Promise<void>;
}

export class TestAgent {
  readonly messages: Record<string, unknown>[] = [];
  private waiters: { pred: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as Record<string, unknown>;
      this.messages.push(m);
      this.waiters = this.waiters.filter((w) => {
        if (w.pred(m)) {
          w.resolve(m);
          return false;
        }
        return true;
      });
    });
  }
  send(m: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(m));
  }
  /** The next (or an already received, not yet consumed) message matching `pred`. */
  next(type: string, pred: (m: Record<string, unknown>) => boolean = () => true, from = 0): Promise<Record<string, unknown>> {
    const p = (m: Record<string, unknown>) => m.type === type && pred(m);
    const have = this.messages.slice(from).find(p);
    if (have) return Promise.resolve(have);
    return new Promise((resolve) => this.waiters.push({ pred: p, resolve }));
  }
  close(): void {
    this.ws.close();
  }
}

export async function makeStack(
  opts: {
    now?: number;
    sweepEveryMs?: number;
    redis?: RedisClient;
    instanceId?: string;
    logger?: AppDeps['logger'];
    twilioRest?: AppConfig['twilioRest'];
    center?: CenterConfig;
    config?: Partial<AppConfig>;
  } = {},
): Promise<Stack> {
  const clock = new VirtualClock(opts.now ?? OPEN_TIME);
  const redis = opts.redis ?? newRedis();
  const prefix = uniquePrefix('e2e');
  const port = await freePort();
  const emu = await createTwilioEmulator({
    clock,
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    webhookBase: `http://127.0.0.1:${port}`,
    publicBaseUrl: PUBLIC_BASE,
    numbers: { [NUMBER]: { voiceUrl: '/twilio/voice', fallbackUrl: '/twilio/fallback', statusCallback: '/twilio/status' } },
    seed: 7,
  });
  const center = opts.center ?? (await loadExample());
  const app = await buildApp(
    {
      center,
      publicBaseUrl: PUBLIC_BASE,
      twilioAuthToken: AUTH_TOKEN,
      twilioAccountSid: ACCOUNT_SID,
      twilioApiBaseUrl: emu.restBaseUrl,
      callerHashKey: 'test-caller-hash-key-0123456789',
      redisPrefix: prefix,
      supervisorToken: SUPERVISOR_TOKEN,
      instanceId: opts.instanceId ?? 'e2e',
      ...(opts.twilioRest ? { twilioRest: opts.twilioRest } : {}),
      ...opts.config,
    },
    { redis, clock, sweepEveryMs: opts.sweepEveryMs ?? 1000, ...(opts.logger ? { logger: opts.logger } : {}) },
  );
  await app.listen({ port, host: '127.0.0.1' });
  return {
    app,
    emu,
    clock,
    redis,
    prefix,
    port,
    async agent(token) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/agent/ws`);
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      const a = new TestAgent(ws);
      a.send({ type: 'hello', token });
      await a.next('welcome');
      return a;
    },
    async until<T>(p: Promise<T>, o: { stepMs?: number; realWaitMs?: number; maxMs?: number } = {}): Promise<T> {
      let done = false;
      void p.then(
        () => (done = true),
        () => (done = true),
      );
      const start = clock.now();
      const max = o.maxMs ?? 3_600_000;
      while (!done) {
        await emu.settle();
        await new Promise((r) => setTimeout(r, o.realWaitMs ?? 15));
        if (done) break;
        if (clock.now() - start >= max) throw new Error(`until: still waiting after ${max} ms of virtual time`);
        await clock.advance(o.stepMs ?? 1000, () => emu.settle());
      }
      return p;
    },
    async reply<T>(p: Promise<T>, realMs = 5_000): Promise<T> {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), realMs)));
      const first = await Promise.race([p, late]);
      clearTimeout(timer);
      return first === 'late' ? (this as Stack).until(p) : p;
    },
    async metrics() {
      return (await app.inject({ method: 'GET', url: '/metrics' })).body;
    },
    async close() {
      await app.close();
      await emu.close();
      redis.disconnect();
    },
  };
}
