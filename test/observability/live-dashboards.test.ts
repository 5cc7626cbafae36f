/**
 * A real Prometheus (Debian package) with the repository's rules scrapes the real app while calls run
 * through it (Twilio emulator + an agent over the WebSocket). Every dashboard panel expression and every
 * recording/alert rule is then evaluated through Prometheus' HTTP API: all must succeed, none may name a
 * metric the app does not export, and the panels fed by this traffic must have data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { dashboardExpressions, metricNamesIn, recordingRuleNames, ruleExpressions } from '../helpers/promql.js';
import { makeStack, NUMBER, type Stack } from '../helpers/stack.js';
import { supportCaller } from '../helpers/callers.js';

const caller = (patienceMs: number) => supportCaller({ patienceMs, csat: '4', nps: '10#' });

describe('dashboards and rules against a live Prometheus scraping the app', () => {
  let s: Stack;
  let prom: RunningPrometheus;
  let exported: Set<string>;

  beforeAll(async () => {
    s = await makeStack();
    prom = await startPrometheus({ targets: [`127.0.0.1:${s.port}`], scrapeIntervalSeconds: 1 });
    await prom.waitForSeries('switchboard_up', 20_000);
    // Traffic after the first scrape, so rates see it.
    s.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
    const alice = await s.agent('alice-demo-token');
    const abandon = s.emu.placeCall({ from: '+15551239001', to: NUMBER, behaviour: caller(75_000) });
    const answered = s.emu.placeCall({ from: '+15551239002', to: NUMBER, behaviour: caller(3_600_000) });
    await s.emu.run(abandon.ended);
    alice.send({ type: 'set_state', state: 'available' });
    const offer = await s.until(alice.next('offer'));
    alice.send({ type: 'accept', offerId: offer.offerId });
    await s.until(alice.next('call', (m) => m.status === 'connected'));
    await s.emu.run(s.clock.sleep(120_000));
    alice.send({ type: 'hangup', callSid: answered.sid });
    await s.until(alice.next('wrap_up'));
    alice.send({ type: 'wrap_up', callSid: answered.sid, disposition: 'resolved', code: 'x' });
    await s.until(alice.next('ack', (m) => m.for === 'wrap_up'));
    await s.emu.run(answered.ended);
    const text = await s.metrics();
    exported = new Set(
      [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap((m) =>
        m[2] === 'histogram' ? [`${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`] : [m[1]!],
      ),
    );
    exported.add('up');
    // Let Prometheus scrape the new values a few times and evaluate the rules.
    await prom.waitForSeries('switchboard_calls_answered_total{queue="support"} > 0', 20_000);
    await new Promise((r) => setTimeout(r, 3000));
    alice.close();
  }, 120_000);

  afterAll(async () => {
    await prom?.stop();
    await s?.close();
  });

  it('every metric named by a panel or a rule is exported by the app or recorded by a rule', () => {
    const recorded = recordingRuleNames();
    const names = new Set([...dashboardExpressions(), ...ruleExpressions()].flatMap((e) => metricNamesIn(e.expr)));
    expect([...names].filter((n) => !exported.has(n) && !recorded.has(n))).toEqual([]);
  });

  it('every rule and panel expression evaluates without error', async () => {
    const failures: string[] = [];
    for (const e of ruleExpressions()) {
      await prom.query(e.expr).catch((err: Error) => failures.push(`${e.file} ${e.name}: ${err.message}`));
    }
    for (const e of dashboardExpressions()) {
      await prom.query(e.promql).catch((err: Error) => failures.push(`${e.file} ${e.panelTitle}: ${err.message}`));
    }
    expect(failures).toEqual([]);
  });

  it('panels fed by this traffic have data', async () => {
    const empty: string[] = [];
    const mustHave = [
      'switchboard_calls_offered_total',
      'switchboard_calls_answered_total',
      'switchboard_queue_wait_seconds_bucket',
      'switchboard_agents',
      'switchboard_queue_waiting',
      'queue:calls_waiting:max',
      'team_state:agents:max',
      'queue:arrivals_per_hour:rate5m',
      'queue:abandonment:ratio_rate5m',
      // today in the center's time zone, the configured target, the Server row
      'queue:calls_offered:today',
      'queue:service_level:ratio_today',
      'queue:service_level_target:max',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'switchboard_build_info',
    ];
    const panels = dashboardExpressions().filter((e) => e.source === 'panel' && metricNamesIn(e.expr).some((n) => mustHave.includes(n)));
    expect(panels.length).toBeGreaterThan(5);
    for (const e of panels) {
      const r = await prom.query(e.promql);
      if (!Array.isArray(r.result) || r.result.length === 0) empty.push(`${e.file}: ${e.panelTitle} (${e.refId})`);
    }
    expect(empty).toEqual([]);
    const sl = await prom.query('queue:calls_waiting:max');
    expect(Array.isArray(sl.result) && sl.result.length).toBeTruthy();
    // The hour-of-day panels shift by the offset the app exports (their 1-hour subquery steps need hours of history).
    const offset = await prom.query('center:utc_offset_seconds:max');
    expect(Array.isArray(offset.result) && offset.result.length).toBe(1);
  });
});
