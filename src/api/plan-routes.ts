/**
 * GET /api/plan (supervisor scope): the same plan as `npm run -s plan -- … --json`, from the Prometheus
 * named by PROMETHEUS_URL. Query: queue (required), weeks, intervalMinutes, targetSeconds,
 * targetServiceLevel (defaults: the queue's service-level threshold and target from the call-center
 * file), shrinkage (default 0.3), start (ISO 8601; default the current interval).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { makePlan } from '../capacity/plan.js';
import { PlanError, type PlanErrorKind } from '../capacity/plan-error.js';
import { createPrometheusClient, type PrometheusClient } from '../capacity/prometheus.js';
import { fromZod, replyError, sbError, type ErrorCode } from '../errors.js';
import { requireScope, type Authenticator } from '../access/auth.js';

export interface PlanRouteDeps {
  auth: Authenticator;
  /** Unset: the route answers 503 naming PROMETHEUS_URL. */
  prometheusUrl: string | undefined;
  /** Queues of the call-center file with their service-level threshold (s) and target (fraction). */
  queues: Record<string, { targetSeconds: number; targetServiceLevel: number }>;
  now: () => number;
}

const CODES: Record<PlanErrorKind, ErrorCode> = {
  bad_request: 'invalid_params',
  prometheus_unreachable: 'unavailable',
  prometheus_failed: 'unavailable',
  unknown_queue: 'not_found',
  too_little_history: 'insufficient_data',
};

const planQuery = z.object({
  queue: z.string().min(1).max(200),
  weeks: z.coerce.number().int().min(2).max(104).default(8),
  intervalMinutes: z.coerce
    .number()
    .int()
    .min(5)
    .max(1440)
    .refine((m) => 1440 % m === 0, 'must divide a day (15, 30, 60, …)')
    .default(30),
  targetSeconds: z.coerce.number().min(0).max(86_400).optional(),
  targetServiceLevel: z.coerce.number().gt(0).lt(1).optional(),
  shrinkage: z.coerce.number().min(0).lt(1).default(0.3),
  start: z.string().datetime({ offset: true }).optional(),
});

export function registerPlanRoutes(app: FastifyInstance, deps: PlanRouteDeps): void {
  const supervisor = requireScope(deps.auth, 'supervisor');
  let client: PrometheusClient | undefined;
  app.get('/api/plan', { preHandler: supervisor }, async (req, reply) => {
    const parsed = planQuery.safeParse(req.query);
    if (!parsed.success) return replyError(reply, fromZod(parsed.error, '(query)'));
    const o = parsed.data;
    const queue = deps.queues[o.queue];
    if (!queue || !Object.hasOwn(deps.queues, o.queue)) {
      return replyError(
        reply,
        sbError(
          'not_found',
          'queue',
          `unknown queue "${o.queue}": the call-center file has ${Object.keys(deps.queues)
            .map((q) => `"${q}"`)
            .join(', ')}`,
        ),
      );
    }
    if (!deps.prometheusUrl) {
      return replyError(
        reply,
        sbError(
          'not_configured',
          'PROMETHEUS_URL',
          'not set: /api/plan needs the Prometheus that scrapes Switchboard (e.g. PROMETHEUS_URL=http://prometheus:9090)',
        ),
      );
    }
    try {
      client ??= createPrometheusClient(deps.prometheusUrl);
      const report = await makePlan(client, {
        queue: o.queue,
        weeks: o.weeks,
        intervalMinutes: o.intervalMinutes,
        targetSeconds: o.targetSeconds ?? queue.targetSeconds,
        targetServiceLevel: o.targetServiceLevel ?? queue.targetServiceLevel,
        shrinkage: o.shrinkage,
        start: o.start ? Date.parse(o.start) : deps.now(),
      });
      return report.plan;
    } catch (e) {
      if (e instanceof PlanError)
        return replyError(reply, sbError(CODES[e.kind], e.field ?? (e.kind === 'unknown_queue' ? 'queue' : undefined), e.message));
      throw e;
    }
  });
}
