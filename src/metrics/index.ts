/**
 * Prometheus metrics, one Registry per app instance. Every counter and histogram is fed by domain or
 * service events from the bus (no measure computed by a second code path); scrape-time gauges read
 * Redis through read-only snapshot functions registered by the queue and agent modules.
 * The catalogue, with each series' meaning, is docs/metrics.md. Nothing imports this module but app.ts.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { serviceLevelSecondsFor, type CenterConfig } from '../config/callcenter.js';
import { AGENT_STATES, type DomainEvent, type EventBus, type ServiceEvent } from '../events.js';
import { registerRecordingMetrics } from './recording.js';
import { registerRuntimeMetrics, type TodayRow } from './runtime.js';

export type { TodayRow } from './runtime.js';

const P = 'switchboard_';
const WAIT_BUCKETS = [5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200];
const HANDLE_BUCKETS = [10, 30, 60, 120, 180, 300, 600, 900, 1800, 3600];
const EWT_ERROR_BUCKETS = [-600, -300, -120, -60, -30, -10, 0, 10, 30, 60, 120, 300, 600];
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5];
export const PATIENCE_MARKS = [60, 180] as const;

export interface QueueSnapshot {
  queue: string;
  waiting: number;
  callbacksPending: number;
  longestWaitSeconds: number;
}
export interface AgentCounts {
  state: string;
  team: string;
  count: number;
}
export interface StaffingRow {
  queue: string;
  arrivalsPerHour: number;
  ahtSeconds: number;
  staffed: number;
  patienceSeconds: number | null;
  requiredErlangC: number;
  requiredErlangA: number | null;
}

/** The current planning interval's forecast and plan of a queue (read from the store, src/capacity/live.ts). */
export interface PlanRow {
  queue: string;
  forecastArrivalsPerHour: number;
  plannedAgents: number;
}

/** Read-only sources for scrape-time gauges, registered by the modules that own the state. */
export interface GaugeSources {
  queues?: () => Promise<QueueSnapshot[]>;
  agents?: () => Promise<AgentCounts[]>;
  staffing?: () => Promise<StaffingRow[]>;
  /** Today's counts per queue in the call center's time zone (the wallboard's day tally). */
  today?: () => Promise<TodayRow[]>;
  plan?: () => Promise<PlanRow[]>;
}

export interface Metrics {
  registry: Registry;
  setGaugeSources(sources: GaugeSources): void;
}

/** Build the registry and subscribe it to the bus. */
export function createMetrics({ center, bus, now = Date.now }: { center: CenterConfig; bus: EventBus; now?: () => number }): Metrics {
  const registry = new Registry();
  const sources: GaugeSources = {};
  const shortAbandon = center.thresholds.shortAbandonSeconds;
  const waitBuckets = [
    ...new Set([
      ...WAIT_BUCKETS,
      center.thresholds.serviceLevelSeconds,
      shortAbandon,
      ...Object.values(center.queues).map((q) => q.serviceLevelSeconds ?? center.thresholds.serviceLevelSeconds),
    ]),
  ]
    .filter((b) => b > 0)
    .sort((a, b) => a - b);

  const counter = (name: string, help: string, labelNames: string[] = []) =>
    new Counter({ name: P + name, help, labelNames, registers: [registry] });
  const histogram = (name: string, help: string, labelNames: string[], buckets: number[]) =>
    new Histogram({ name: P + name, help, labelNames, buckets, registers: [registry] });

  const offered = counter('calls_offered_total', 'Calls that entered a queue (callback re-entries and transfers are not new offers).', [
    'queue',
  ]);
  const answered = counter('calls_answered_total', 'Offered calls answered by an agent.', ['queue']);
  const abandoned = counter('calls_abandoned_total', 'Callers who hung up while waiting (short abandons included).', ['queue']);
  const shortAbandoned = counter('calls_short_abandoned_total', 'Abandons with wait under shortAbandonSeconds.', ['queue']);
  const overflow = counter('calls_overflow_total', 'Calls that left a queue by overflow.', ['queue', 'target']);
  const callbacks = counter('callbacks_requested_total', 'Callers who asked to be called back, keeping their place.', ['queue']);
  const callbackAttempts = counter('callback_attempts_total', 'Calls placed back to callers who asked for a callback.', [
    'queue',
    'result',
  ]);
  const answeredSl = counter('calls_answered_within_sl_total', 'Calls answered with wait <= the service-level threshold.', ['queue']);
  const abandonedSl = counter('calls_abandoned_within_sl_total', 'Abandons (not short) with wait <= the service-level threshold.', [
    'queue',
  ]);
  const leftSl = counter(
    'calls_left_within_sl_total',
    'Calls that left the queue for any reason with wait <= the service-level threshold.',
    ['queue'],
  );
  const abandonedAfter = counter('calls_abandoned_after_total', 'Abandons whose wait reached `after` seconds.', ['queue', 'after']);
  const reachedWait = counter('calls_reached_wait_total', 'Calls (any outcome) whose wait reached `after` seconds.', ['queue', 'after']);
  const transfers = counter('transfers_total', 'Transfers of connected calls by target kind, cold or warm, and how they ended.', [
    'queue',
    'kind',
    'mode',
    'result',
  ]);
  const monitors = counter('supervisor_monitor_total', 'Supervisor listen / coach / barge / stop actions on live calls.', [
    'queue',
    'mode',
  ]);
  const wait = histogram('queue_wait_seconds', 'Wait per call leaving a queue, by outcome.', ['queue', 'outcome'], waitBuckets);

  const talk = histogram('talk_seconds', 'Talk time per handled call (excludes hold).', ['queue'], HANDLE_BUCKETS);
  const hold = histogram('hold_seconds', 'Hold time per handled call.', ['queue'], HANDLE_BUCKETS);
  const wrap = histogram('wrapup_seconds', 'Wrap-up time per handled call.', ['queue'], HANDLE_BUCKETS);
  const handle = histogram('handle_seconds', 'Talk + hold + wrap-up per handled call.', ['queue'], HANDLE_BUCKETS);
  const handled = counter('calls_handled_total', 'Calls whose wrap-up finished.', ['queue']);
  const dispositions = counter('dispositions_total', 'Wrap-up dispositions.', ['queue', 'disposition']);
  const repeats = counter(
    'repeat_contacts_total',
    "Handled calls followed by another call from the same caller within the repeat window (first call's queue).",
    ['queue'],
  );
  const overclaimed = counter('overclaimed_resolutions_total', 'Repeat contacts whose first call was dispositioned resolved.', ['queue']);
  const agentStateSeconds = counter('agent_state_seconds_total', 'Time agents spent in each state.', ['state', 'team']);
  const offers = counter('offers_total', 'Offers made to agents, by result.', ['queue', 'result']);

  const ivrCalls = counter('ivr_calls_total', 'Calls that entered an IVR flow.', ['flow']);
  const ivrVisits = counter('ivr_node_visits_total', 'IVR node visits.', ['flow', 'node']);
  const ivrExits = counter('ivr_exits_total', 'How calls left the IVR.', ['flow', 'exit']);
  const ivrContained = counter('ivr_contained_total', 'Calls that ended in the IVR after self-service without asking for an agent.', [
    'flow',
  ]);
  const ivrInvalid = counter('ivr_invalid_inputs_total', 'Invalid or missing menu answers.', ['flow', 'node', 'reason']);
  const languages = counter('language_selected_total', 'Languages chosen by callers.', ['language']);
  const voicemails = counter('voicemails_total', 'Voicemails stored.', ['queue']);
  const surveyResponses = counter('survey_responses_total', 'Post-call survey answers by score.', ['survey', 'score']);
  const surveysOffered = counter('surveys_offered_total', 'Post-call surveys started.', ['survey']);

  const ewtError = histogram('ewt_error_seconds', 'Estimated wait told minus actual wait, answered calls.', ['queue'], EWT_ERROR_BUCKETS);
  const ewtTold = histogram('ewt_told_seconds', 'First estimate each caller heard.', ['queue'], WAIT_BUCKETS);

  const webhookDuration = histogram(
    'webhook_duration_seconds',
    'Webhook latency by route and status class.',
    ['route', 'status'],
    LATENCY_BUCKETS,
  );
  const webhookFallbacks = counter('webhook_fallbacks_total', 'Live-call webhooks answered with fallback TwiML.', ['route', 'reason']);
  const webhookRejected = counter('webhook_rejected_total', 'Webhooks refused (signature or parameters).', ['route', 'reason']);
  const webhookUnprocessed = counter(
    'webhook_unprocessed_total',
    'Status callbacks that could not be processed (answered 503 or 500; Twilio does not resend them).',
    ['route', 'reason'],
  );
  const ghostsClosed = counter(
    'queue_ghosts_closed_total',
    'Callers still waiting in Redis whose call Twilio says had ended (hangup missed), closed as abandoned.',
    ['queue', 'via'],
  );
  const redisErrors = counter('redis_errors_total', 'Failed Redis operations.', ['op']);
  const restCalls = counter('twilio_rest_requests_total', 'REST requests to Twilio by result.', ['op', 'result']);
  const rateLimited = counter('rate_limited_total', 'Requests and sign-ins refused with 429 by a rate limit (per client address).', [
    'limiter',
  ]);
  for (const limiter of ['sign_in', 'supervisor_api']) rateLimited.inc({ limiter }, 0);
  new Gauge({ name: P + 'up', help: '1 while the process serves.', registers: [registry] }).set(1);

  // Label values must stay in bounded sets: anything outside the configured names is folded into "other".
  const queues = new Set([...Object.keys(center.queues), 'none']);
  const flows = new Set(Object.keys(center.flows));
  const teams = new Set([...center.teams, 'default']);
  const langs = new Set(Object.keys(center.languages));
  const q = (name: string) => (queues.has(name) ? name : 'other');
  const team = (name: string | undefined) => (name && teams.has(name) ? name : 'other');
  const flow = (name: string) => (flows.has(name) ? name : 'other');
  const node = (f: string, n: string) => (center.flows[f]?.nodes[n] ? n : 'other');
  const knownRoutes = new Set<string>();

  // Create the bounded label sets at 0 up front: a series first seen at 1 hides its first event from
  // rate() and increase(), so the first abandon of the day would never show on a dashboard.
  for (const queue of Object.keys(center.queues)) {
    for (const c of [
      offered,
      answered,
      abandoned,
      shortAbandoned,
      callbacks,
      answeredSl,
      abandonedSl,
      leftSl,
      handled,
      repeats,
      overclaimed,
    ])
      c.inc({ queue }, 0);
    for (const after of PATIENCE_MARKS) {
      abandonedAfter.inc({ queue, after: String(after) }, 0);
      reachedWait.inc({ queue, after: String(after) }, 0);
    }
    for (const outcome of ['answered', 'abandoned', 'overflow', 'callback']) wait.zero({ queue, outcome });
    for (const disposition of ['resolved', 'not_resolved', 'escalated']) dispositions.inc({ queue, disposition }, 0);
    for (const h of [talk, hold, wrap, handle]) h.zero({ queue });
    for (const kind of ['queue', 'agent', 'external'])
      for (const mode of ['cold', 'warm']) transfers.inc({ queue, kind, mode, result: 'completed' }, 0);
    for (const mode of ['listen', 'coach', 'barge']) monitors.inc({ queue, mode }, 0);
  }
  for (const f of flows) {
    ivrCalls.inc({ flow: f }, 0);
    ivrContained.inc({ flow: f }, 0);
  }

  const onDomain = (e: DomainEvent): void => {
    switch (e.type) {
      case 'call.started':
        ivrCalls.inc({ flow: flow(e.flow) });
        break;
      case 'ivr.node':
        ivrVisits.inc({ flow: flow(e.flow), node: node(e.flow, e.node) });
        break;
      case 'ivr.invalid':
        ivrInvalid.inc({ flow: flow(e.flow), node: node(e.flow, e.node), reason: e.reason });
        break;
      case 'ivr.exit':
        ivrExits.inc({ flow: flow(e.flow), exit: e.exit });
        if (e.contained) ivrContained.inc({ flow: flow(e.flow) });
        break;
      case 'language.selected':
        if (langs.has(e.language)) languages.inc({ language: e.language });
        break;
      case 'voicemail.recorded':
        voicemails.inc({ queue: q(e.queue) });
        break;
      case 'queue.offered':
        offered.inc({ queue: q(e.queue) });
        break;
      case 'queue.left': {
        const queue = q(e.queue);
        const sl = e.serviceLevelSeconds || serviceLevelSecondsFor(center, e.queue);
        wait.observe({ queue, outcome: e.outcome }, e.waitSeconds);
        for (const mark of PATIENCE_MARKS) {
          if (e.waitSeconds >= mark) {
            reachedWait.inc({ queue, after: String(mark) });
            if (e.outcome === 'abandoned') abandonedAfter.inc({ queue, after: String(mark) });
          }
        }
        if (e.waitSeconds <= sl && !(e.outcome === 'abandoned' && e.short)) leftSl.inc({ queue });
        switch (e.outcome) {
          case 'answered':
            answered.inc({ queue });
            if (e.waitSeconds <= sl) answeredSl.inc({ queue });
            if (e.ewtToldSeconds !== undefined) {
              ewtError.observe({ queue }, e.ewtToldSeconds - e.waitSeconds);
              ewtTold.observe({ queue }, e.ewtToldSeconds);
            }
            break;
          case 'abandoned':
            abandoned.inc({ queue });
            if (e.short) shortAbandoned.inc({ queue });
            else if (e.waitSeconds <= sl) abandonedSl.inc({ queue });
            break;
          case 'overflow':
            overflow.inc({ queue, target: e.overflowTarget ?? 'voicemail' });
            break;
          case 'callback':
            callbacks.inc({ queue });
            break;
        }
        break;
      }
      case 'callback.attempt':
        callbackAttempts.inc({ queue: q(e.queue), result: e.result });
        break;
      case 'agent.state':
        if (e.secondsInFrom > 0) agentStateSeconds.inc({ state: e.from, team: team(e.team) }, e.secondsInFrom);
        break;
      case 'offer.result':
        offers.inc({ queue: q(e.queue), result: e.result });
        break;
      case 'call.handled': {
        const queue = q(e.queue);
        talk.observe({ queue }, e.talkSeconds);
        hold.observe({ queue }, e.holdSeconds);
        wrap.observe({ queue }, e.wrapupSeconds);
        handle.observe({ queue }, e.talkSeconds + e.holdSeconds + e.wrapupSeconds);
        handled.inc({ queue });
        dispositions.inc({ queue, disposition: e.disposition });
        break;
      }
      case 'contact.repeat':
        repeats.inc({ queue: q(e.queue) });
        if (e.overclaimed) overclaimed.inc({ queue: q(e.queue) });
        break;
      case 'survey.offered':
        surveysOffered.inc({ survey: e.survey });
        break;
      case 'survey.response':
        surveyResponses.inc({ survey: e.survey, score: String(e.score) });
        break;
      case 'transfer':
        transfers.inc({ queue: q(e.queue), kind: e.kind, mode: e.mode, result: e.result });
        break;
      case 'supervisor.monitor':
        monitors.inc({ queue: q(e.queue), mode: e.mode });
        break;
      case 'hold':
      case 'call.ended':
      case 'ewt.announced':
        break;
    }
  };

  const route = (r: string): string => {
    // Route patterns come from registered routes; unknown URLs (404s) fold into one value.
    if (r.startsWith('/twilio/') || r.startsWith('/api/') || r === '/metrics' || r === '/health') {
      if (knownRoutes.size < 200) knownRoutes.add(r);
      return knownRoutes.has(r) ? r : 'other';
    }
    return 'other';
  };
  const onService = (e: ServiceEvent): void => {
    switch (e.type) {
      case 'webhook.served':
        if (e.route.startsWith('/twilio/'))
          webhookDuration.observe({ route: route(e.route), status: `${Math.floor(e.statusCode / 100)}xx` }, e.seconds);
        break;
      case 'webhook.fallback':
        webhookFallbacks.inc({ route: route(e.route), reason: e.reason });
        break;
      case 'webhook.rejected':
        webhookRejected.inc({ route: route(e.route), reason: e.reason });
        break;
      case 'webhook.unprocessed':
        webhookUnprocessed.inc({ route: route(e.route), reason: e.reason });
        break;
      case 'queue.ghost_closed':
        ghostsClosed.inc({ queue: q(e.queue), via: e.via });
        break;
      case 'redis.error':
        redisErrors.inc({ op: e.op });
        break;
      case 'twilio.rest':
        restCalls.inc({ op: e.op, result: e.result });
        break;
      case 'rate.limited':
        rateLimited.inc({ limiter: e.limiter });
        break;
    }
  };
  bus.onDomain(onDomain);
  bus.onService(onService);

  registerRuntimeMetrics({ registry, center, now, today: () => safe(sources.today), queueLabel: q });
  registerRecordingMetrics({ registry, bus, queueLabel: q });

  // Scrape-time gauges: the same value on every instance (combine with max in PromQL).
  new Gauge({
    name: P + 'queue_waiting',
    help: 'Callers on the line waiting, per queue (read from Redis at scrape time).',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of (await safe(sources.queues)) ?? []) {
        this.set({ queue: q(s.queue) }, s.waiting);
      }
    },
  });
  new Gauge({
    name: P + 'queue_callbacks_pending',
    help: 'Callbacks holding a place, per queue.',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of (await safe(sources.queues)) ?? []) this.set({ queue: q(s.queue) }, s.callbacksPending);
    },
  });
  new Gauge({
    name: P + 'queue_longest_wait_seconds',
    help: 'Wait of the oldest caller on the line, per queue.',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of (await safe(sources.queues)) ?? []) this.set({ queue: q(s.queue) }, s.longestWaitSeconds);
    },
  });
  new Gauge({
    name: P + 'agents',
    help: 'Agents by state and team (read from Redis at scrape time).',
    labelNames: ['state', 'team'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await safe(sources.agents);
      if (!rows) return;
      for (const t of teams) for (const st of AGENT_STATES) this.set({ state: st, team: t }, 0);
      for (const r of rows) this.inc({ state: r.state, team: team(r.team) }, r.count);
    },
  });
  const staffingGauge = (name: string, help: string, pick: (r: StaffingRow) => number | null, extra?: string) =>
    new Gauge({
      name: P + name,
      help,
      labelNames: extra ? ['queue', extra] : ['queue'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const r of (await safe(sources.staffing)) ?? []) {
          const v = pick(r);
          if (v !== null && Number.isFinite(v)) this.set({ queue: q(r.queue) }, v);
        }
      },
    });
  staffingGauge('arrival_rate_per_hour', 'Arrivals per hour observed over the capacity window.', (r) => r.arrivalsPerHour);
  staffingGauge('observed_aht_seconds', 'Mean handle time observed over the capacity window.', (r) => r.ahtSeconds);
  staffingGauge(
    'caller_patience_seconds',
    'Mean caller patience over the capacity window: waits of callers who left / abandons (from 5 abandons).',
    (r) => r.patienceSeconds,
  );
  staffingGauge('agents_staffed', "Agents signed in with the queue's skills.", (r) => r.staffed);
  new Gauge({
    name: P + 'staffing_required_agents',
    help: 'Agents needed for the target service level from observed arrivals and handle time.',
    labelNames: ['queue', 'model'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of (await safe(sources.staffing)) ?? []) {
        this.set({ queue: q(r.queue), model: 'erlang_c' }, r.requiredErlangC);
        if (r.requiredErlangA !== null) this.set({ queue: q(r.queue), model: 'erlang_a' }, r.requiredErlangA);
      }
    },
  });

  // The stored plan of the current interval: the same figure on every instance, absent when there is none.
  const planGauge = (name: string, help: string, pick: (r: PlanRow) => number) =>
    new Gauge({
      name: P + name,
      help,
      labelNames: ['queue'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const r of (await safe(sources.plan)) ?? []) if (Number.isFinite(pick(r))) this.set({ queue: q(r.queue) }, pick(r));
      },
    });
  planGauge(
    'forecast_arrivals_per_hour',
    'Forecast calls offered per hour in the current planning interval (npm run plan, from Prometheus history).',
    (r) => r.forecastArrivalsPerHour,
  );
  planGauge(
    'staffing_planned_agents',
    'Agents the plan puts on the phones in the current planning interval (Erlang A/C on the forecast, before shrinkage).',
    (r) => r.plannedAgents,
  );

  // A Redis outage must not break /metrics: gauges go missing for that scrape, and the error is counted.
  async function safe<T>(fn: (() => Promise<T>) | undefined): Promise<T | undefined> {
    if (!fn) return undefined;
    try {
      return await fn();
    } catch {
      redisErrors.inc({ op: 'scrape' });
      return undefined;
    }
  }

  return {
    registry,
    setGaugeSources(s) {
      Object.assign(sources, s);
    },
  };
}
