/**
 * The call-centre series fed by domain events (counts, waits, handle times, IVR, surveys, offers): their
 * definitions, and their bounded label sets created at 0.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { CenterConfig } from '../config/callcenter.js';

export const P = 'switchboard_';
const WAIT_BUCKETS = [5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200];
const HANDLE_BUCKETS = [10, 30, 60, 120, 180, 300, 600, 900, 1800, 3600];
const EWT_ERROR_BUCKETS = [-600, -300, -120, -60, -30, -10, 0, 10, 30, 60, 120, 300, 600];
export const PATIENCE_MARKS = [60, 180] as const;

/** Counter and histogram constructors on one registry, with the `switchboard_` prefix. */
export function seriesMakers(registry: Registry) {
  return {
    counter: (name: string, help: string, labelNames: string[] = []) =>
      new Counter({ name: P + name, help, labelNames, registers: [registry] }),
    histogram: (name: string, help: string, labelNames: string[], buckets: number[]) =>
      new Histogram({ name: P + name, help, labelNames, buckets, registers: [registry] }),
  };
}

/** Wait buckets: the fixed ones plus every service-level and short-abandon threshold configured. */
function waitBucketsFor(center: CenterConfig): number[] {
  return [
    ...new Set([
      ...WAIT_BUCKETS,
      center.thresholds.serviceLevelSeconds,
      center.thresholds.shortAbandonSeconds,
      ...Object.values(center.queues).map((q) => q.serviceLevelSeconds ?? center.thresholds.serviceLevelSeconds),
    ]),
  ]
    .filter((b) => b > 0)
    .sort((a, b) => a - b);
}

export type CallSeries = ReturnType<typeof createCallSeries>;

export function createCallSeries(registry: Registry, center: CenterConfig) {
  const { counter, histogram } = seriesMakers(registry);
  const waitBuckets = waitBucketsFor(center);
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

  return {
    offered,
    answered,
    abandoned,
    shortAbandoned,
    overflow,
    callbacks,
    callbackAttempts,
    answeredSl,
    abandonedSl,
    leftSl,
    abandonedAfter,
    reachedWait,
    transfers,
    monitors,
    wait,
    talk,
    hold,
    wrap,
    handle,
    handled,
    dispositions,
    repeats,
    overclaimed,
    agentStateSeconds,
    offers,
    ivrCalls,
    ivrVisits,
    ivrExits,
    ivrContained,
    ivrInvalid,
    languages,
    voicemails,
    surveyResponses,
    surveysOffered,
    ewtError,
    ewtTold,
  };
}

/** The bounded label sets of the call-centre series, created at 0. */
export function zeroCallSeries(s: CallSeries, center: CenterConfig, flows: Iterable<string>): void {
  const {
    offered,
    answered,
    abandoned,
    shortAbandoned,
    callbacks,
    answeredSl,
    abandonedSl,
    leftSl,
    abandonedAfter,
    reachedWait,
    transfers,
    monitors,
    wait,
    talk,
    hold,
    wrap,
    handle,
    handled,
    dispositions,
    repeats,
    overclaimed,
    ivrCalls,
    ivrContained,
  } = s;
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
}
