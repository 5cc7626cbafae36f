/**
 * The web part of the server: the agent desk and wallboard pages, the supervisor WebSocket that feeds
 * the wallboard, and today's per-queue counters behind it. `registerWeb(app)` is called once from
 * buildApp after the app context exists.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { centerTimeZone, serviceLevelSecondsFor } from '../config/callcenter.js';
import { createDayTally } from './day-tally.js';
import { registerWebPages } from './pages.js';
import { createSupervisorSocket } from './supervisor-socket.js';
import { buildWallboardSnapshot } from './wallboard.js';

export interface WebOptions {
  /** Wallboard push throttle (default 500 ms) and periodic refresh (default 5000 ms). */
  throttleMs?: number;
  refreshMs?: number;
  /** The supervisor socket closes a socket that has not said hello after this long (default 10 s). */
  helloTimeoutMs?: number;
}

export async function registerWeb(app: FastifyInstance, opts: WebOptions = {}): Promise<void> {
  const sb = app.sb;
  const center = sb.config.center;
  // "Today" is the calendar day where the center works: the time zone of its first business-hours set.
  const timeZone = centerTimeZone(center);
  const tally = createDayTally({
    redis: sb.redis,
    keys: sb.keys,
    bus: sb.bus,
    timeZone,
    serviceLevelSeconds: (q) => serviceLevelSecondsFor(center, q),
    onError: (err) => app.log.warn({ err }, 'wallboard day tally update failed'),
  });
  const queues = Object.values(center.queues).map((q) => ({
    id: q.id,
    name: q.name ?? q.id,
    serviceLevelSeconds: serviceLevelSecondsFor(center, q.id),
  }));
  const socket = await createSupervisorSocket({
    app,
    redis: sb.redis,
    liveChannel: sb.keys.liveChannel,
    // Only tells this instance's own notices apart from other instances' (unique even for two apps in one process).
    instance: randomUUID(),
    auth: sb.auth,
    bus: sb.bus,
    log: app.log,
    ...(opts.throttleMs !== undefined ? { throttleMs: opts.throttleMs } : {}),
    ...(opts.refreshMs !== undefined ? { refreshMs: opts.refreshMs } : {}),
    ...(opts.helloTimeoutMs !== undefined ? { helloTimeoutMs: opts.helloTimeoutMs } : {}),
    snapshot: () =>
      buildWallboardSnapshot({
        now: () => sb.clock.now(),
        timeZone,
        serviceLevelTarget: center.thresholds.serviceLevelTarget,
        shortAbandonSeconds: center.thresholds.shortAbandonSeconds,
        queues,
        queueSnapshot: (q, at) => sb.queues.snapshot(q, at),
        tally,
        agents: () => sb.agents.list(),
        agentName: (id) => center.agents[id]?.name ?? id,
      }),
  });
  registerWebPages(app, { now: () => sb.clock.now(), softphone: Boolean(sb.config.twilioApiKeySid && sb.config.twilioApiKeySecret) });
  // The same day counts on /metrics (switchboard_calls_today), so Grafana's "today" is this one.
  sb.metrics.setGaugeSources({
    today: async () =>
      Promise.all(Object.keys(center.queues).map(async (queue) => ({ queue, ...(await tally.read(queue, sb.clock.now())) }))),
  });
  app.addHook('onClose', async () => {
    tally.stop();
    await socket.close();
    await tally.flush();
  });
}
