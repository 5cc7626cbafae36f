/**
 * The planner against a real Prometheus with known truth: ten weeks of Switchboard's own series generated
 * call by call (weekly pattern, +2 %/week trend, Poisson noise, a holiday, an outage), backfilled with
 * `promtool tsdb create-blocks-from openmetrics`, Prometheus started on those blocks, then the plan run as
 * a planner would (`npm run -s plan -- … --json`) and through GET /api/plan.
 *
 * Checks against the truth, with tolerances the test derives from the noise model (not fixed numbers):
 *   forecast  every interval within 4.5 SD of the true expected calls; WAPE against the truth within
 *             1.25 × its expected value; total bias within 4 SD;
 *   backtest  the WAPE it reports within ±25 % of what Poisson noise predicts for that week;
 *   staffing  agents within ±1 of Erlang A on the true rate, AHT and patience, every interval;
 *             scheduled = ⌈agents ÷ (1 − shrinkage)⌉.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentsForServiceLevel } from '../../src/capacity/erlang.js';
import type { Plan } from '../../src/capacity/plan.js';
import { planMain } from '../../src/capacity/plan-cli.js';
import { backfill, expectedCalls, generateOpenMetrics, WEEK, type CallModel } from '../helpers/history.js';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { REPO_ROOT } from '../helpers/promql.js';
import { freePort } from '../setup/global-redis.js';
import { makeApp, sample, SUPERVISOR_TOKEN, type TestApp } from '../helpers/app.js';
import { eventually } from '../helpers/redis.js';

/** Monday 7 Sep 2026 00:00 UTC: the first interval of the plan; history is the ten weeks before. */
const PLAN_START = Date.UTC(2026, 8, 7) / 1000;
const WEEKS = 10;
const HISTORY_START = PLAN_START - WEEKS * WEEK;
const INTERVAL = 1800;
const DAY = 86_400;
const AHT = 120;
const PATIENCE = 90;

const WEEKDAY = [1.0, 0.95, 0.9, 0.95, 0.85, 0.35, 0.2]; // Monday first (PLAN_START is a Monday)
const gauss = (x: number, mu: number, sd: number) => Math.exp(-0.5 * ((x - mu) / sd) ** 2);
/** Calls per hour: 100 × trend × weekday × (night floor + morning and afternoon peaks). */
const rate = (t: number): number => {
  const weeks = (t - HISTORY_START) / WEEK;
  const day = Math.floor((t - HISTORY_START) / DAY) % 7;
  const hour = ((t - HISTORY_START) % DAY) / 3600;
  return 100 * (1 + 0.02 * weeks) * WEEKDAY[day]! * (0.04 + gauss(hour, 10.5, 2) + 0.8 * gauss(hour, 15, 2));
};
/** Wednesday of week 6: a holiday at 10 % of normal volume. Thursday of week 3, 09:00–12:30: no samples. */
const HOLIDAY = { from: HISTORY_START + 5 * WEEK + 2 * DAY, to: HISTORY_START + 5 * WEEK + 3 * DAY, factor: 0.1 };
const OUTAGE = { from: HISTORY_START + 2 * WEEK + 3 * DAY + 9 * 3600, to: HISTORY_START + 2 * WEEK + 3 * DAY + 12.5 * 3600 };

const model: CallModel = {
  queue: 'support',
  start: HISTORY_START,
  weeks: WEEKS,
  stepSeconds: 600,
  ratePerHour: rate,
  ahtSeconds: AHT,
  patienceSeconds: PATIENCE,
  offeredWaitSeconds: 25,
  holidays: [HOLIDAY],
  outages: [OUTAGE],
  seed: 20261,
};

const SLOTS = WEEK / INTERVAL;
const overlaps = (t: number, r: { from: number; to: number }) => t < r.to && t + INTERVAL > r.from;
/** Slot s of history week w is used by the forecast unless it lies on the holiday or in the outage. */
const usable = (w: number, s: number): boolean => {
  const t = HISTORY_START + w * WEEK + s * INTERVAL;
  const dayStart = HISTORY_START + Math.floor((t - HISTORY_START) / DAY) * DAY;
  return !overlaps(dayStart, { from: HOLIDAY.from, to: HOLIDAY.from + 1 }) && !overlaps(t, OUTAGE);
};

/**
 * The noise model of the forecast of a week from `weeks` history weeks starting at `first`: a slot's
 * profile is a ratio of Poisson sums (relative variance 1 / Σ expected calls in that slot over the weeks
 * used), times a weekly level extrapolated by a line through `weeks` weekly levels (relative variance
 * f / weekly calls, f = 1/n + 3(n+1)/(n(n−1)) for a line's prediction one step past n points; ×1.25 for
 * Theil–Sen's efficiency). Returns each slot's truth and forecast SD.
 */
function noiseModel(first: number, weeks: number, target: number): { truth: number[]; sd: number[]; levelRelVar: number } {
  let weekly = 0;
  for (let w = 0; w < weeks; w++) weekly += expectedCalls(model, first + w * WEEK, first + (w + 1) * WEEK) / weeks;
  const f = 1 / weeks + (3 * (weeks + 1)) / (weeks * (weeks - 1));
  const levelRelVar = (1.25 * f) / weekly;
  const truth: number[] = [];
  const sd: number[] = [];
  const w0 = Math.round((first - HISTORY_START) / WEEK);
  for (let s = 0; s < SLOTS; s++) {
    const t = target + s * INTERVAL;
    const lambda = rate(t + INTERVAL / 2) > 0 ? expectedCalls(model, t, t + INTERVAL) : 0;
    let seen = 0;
    for (let w = 0; w < weeks; w++)
      if (usable(w0 + w, s)) seen += expectedCalls(model, first + w * WEEK + s * INTERVAL, first + w * WEEK + (s + 1) * INTERVAL);
    truth.push(lambda);
    sd.push(lambda * Math.sqrt(1 / seen + levelRelVar));
  }
  return { truth, sd, levelRelVar };
}

/** As a planner types it: `npm run -s plan -- … | jq -c .` (jq fails on anything but JSON on stdout). */
function runPlanThroughJq(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const p = spawn('bash', ['-o', 'pipefail', '-c', `npm run -s plan -- ${quoted} | jq -c .`], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The CLI's main in this process (same parsing, output and exit codes as the script; no process start-up). */
async function runPlan(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await planMain(args, { out: (t) => (stdout += t), err: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

describe('plan against a Prometheus backfilled with ten weeks of known history', () => {
  let dir: string;
  let prom: RunningPrometheus;
  let cliPlan: Plan | undefined;
  const startIso = new Date(PLAN_START * 1000).toISOString();
  const common = () => [
    '--prometheus',
    prom.url,
    '--queue',
    'support',
    '--interval-minutes',
    '30',
    '--target-seconds',
    '20',
    '--target-service-level',
    '0.8',
    '--shrinkage',
    '0.3',
    '--start',
    startIso,
  ];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-plan-'));
    const { text } = generateOpenMetrics(model);
    await backfill(text, join(dir, 'history.om'), join(dir, 'tsdb'));
    prom = await startPrometheus({ targets: [], tsdb: join(dir, 'tsdb') });
  }, 120_000);

  afterAll(async () => {
    await prom?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('forecasts next week within the noise, backtests honestly and staffs within ±1 of Erlang A on the truth', async () => {
    const r = await runPlanThroughJq([...common(), '--weeks', String(WEEKS), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as Plan;
    cliPlan = plan;
    expect(Object.keys(plan).sort()).toEqual(['backtest', 'intervalMinutes', 'intervals', 'queue']);
    expect(plan.queue).toBe('support');
    expect(plan.intervalMinutes).toBe(30);
    expect(plan.intervals).toHaveLength(SLOTS);
    expect(Object.keys(plan.intervals[0]!).sort()).toEqual([
      'agents',
      'ahtSeconds',
      'arrivals',
      'patienceSeconds',
      'scheduledAgents',
      'start',
    ]);
    expect(plan.intervals[0]!.start).toBe(startIso);

    // Forecast against the truth.
    const { truth, sd, levelRelVar } = noiseModel(HISTORY_START, WEEKS, PLAN_START);
    const err = plan.intervals.map((i, s) => i.arrivals - truth[s]!);
    const z = err.map((e, s) => Math.abs(e) / sd[s]!);
    const worst = z.indexOf(Math.max(...z));
    expect(
      z[worst],
      `interval ${plan.intervals[worst]!.start}: forecast ${plan.intervals[worst]!.arrivals}, truth ${truth[worst]!.toFixed(2)}`,
    ).toBeLessThan(4.5);
    const totalTruth = truth.reduce((a, x) => a + x, 0);
    const wapeTruth = err.reduce((a, e) => a + Math.abs(e), 0) / totalTruth;
    const wapeExpected = sd.reduce((a, x) => a + Math.sqrt(2 / Math.PI) * x, 0) / totalTruth;
    expect(wapeTruth).toBeLessThan(1.25 * wapeExpected);
    const biasSd = Math.sqrt(truth.reduce((a, x, s) => a + sd[s]! ** 2 - x * x * levelRelVar, 0) + levelRelVar * totalTruth ** 2);
    const bias = err.reduce((a, e) => a + e, 0);
    expect(Math.abs(bias)).toBeLessThan(4 * biasSd);

    // The backtest: week 10 forecast from weeks 1–9, against what actually arrived in week 10.
    const bt = noiseModel(HISTORY_START, WEEKS - 1, HISTORY_START + (WEEKS - 1) * WEEK);
    const btTotal = bt.truth.reduce((a, x) => a + x, 0);
    const btExpected = bt.truth.reduce((a, x, s) => a + Math.sqrt(2 / Math.PI) * Math.sqrt(x + bt.sd[s]! ** 2), 0) / btTotal;
    expect(plan.backtest.weeks).toBe(WEEKS - 1);
    expect(plan.backtest.wape).toBeGreaterThan(0.75 * btExpected);
    expect(plan.backtest.wape).toBeLessThan(1.25 * btExpected);
    const btBiasSd =
      Math.sqrt(btTotal + bt.levelRelVar * btTotal ** 2 + bt.truth.reduce((a, x, s) => a + bt.sd[s]! ** 2 - x * x * bt.levelRelVar, 0)) /
      btTotal;
    expect(Math.abs(plan.backtest.bias!)).toBeLessThan(4 * btBiasSd);

    // Staffing against Erlang A on the true rate, handle time and patience.
    const off: string[] = [];
    for (const [s, i] of plan.intervals.entries()) {
      const need = agentsForServiceLevel({
        arrivalsPerHour: truth[s]! * 2,
        ahtSeconds: AHT,
        targetSeconds: 20,
        targetServiceLevel: 0.8,
        patienceSeconds: PATIENCE,
      }).agents;
      if (Math.abs(i.agents - need) > 1) off.push(`${i.start}: ${i.agents} planned, ${need} on the truth`);
      expect(i.scheduledAgents).toBe(Math.max(0, Math.ceil(i.agents / 0.7 - 1e-9)));
      expect(i.patienceSeconds).not.toBeNull();
    }
    expect(off).toEqual([]);
    // Patience and AHT come from the history (true values 90 s and 120 s; ±4 SE of the estimates).
    expect(Math.abs(plan.intervals[0]!.patienceSeconds! - PATIENCE)).toBeLessThan(
      (4 * PATIENCE) / Math.sqrt(totalTruth * WEEKS * (25 / (25 + PATIENCE))),
    );

    console.info(
      `[plan accuracy] forecast vs truth: WAPE ${(100 * wapeTruth).toFixed(2)} % (noise allows ${(100 * 1.25 * wapeExpected).toFixed(2)} %), ` +
        `bias ${((100 * bias) / totalTruth).toFixed(2)} %, worst |z| ${z[worst]!.toFixed(2)}; backtest WAPE ${(100 * plan.backtest.wape!).toFixed(2)} % ` +
        `(noise predicts ${(100 * btExpected).toFixed(2)} %), bias ${(100 * plan.backtest.bias!).toFixed(2)} %`,
    );
  }, 120_000);

  it('prints a table naming the method, the backtest and the holiday, and CSV', async () => {
    const [table, csv] = await Promise.all([runPlan([...common(), '--weeks', '10']), runPlan([...common(), '--weeks', '8', '--csv'])]);
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/backtest/);
    expect(table.stdout).toMatch(/\* (seasonal_trend|holt_winters|seasonal_naive) +WAPE/);
    expect(table.stdout).toContain(new Date(HOLIDAY.from * 1000).toISOString().slice(0, 10));
    expect(table.stdout).toContain('2026-09-07 10:30');
    expect(csv.code).toBe(0);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('start,arrivals,ahtSeconds,patienceSeconds,agents,scheduledAgents');
    expect(lines).toHaveLength(SLOTS + 1);
    expect(lines[1]!.split(',')[0]).toBe(startIso);
  }, 120_000);

  it('says clearly what is wrong: Prometheus unreachable, unknown queue, too little history', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const [down, unknown, young] = await Promise.all([
      runPlan(['--prometheus', nobody, '--queue', 'support', '--json']),
      runPlan([...common().map((a) => (a === 'support' ? 'sales' : a)), '--json']),
      runPlan([
        '--prometheus',
        prom.url,
        '--queue',
        'support',
        '--start',
        new Date((HISTORY_START + 9 * DAY + 4 * 3600) * 1000).toISOString(),
        '--json',
      ]),
    ]);
    expect(down.code).toBe(3);
    expect(down.stdout).toBe('');
    expect(down.stderr).toContain(`cannot reach Prometheus at ${nobody}`);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toMatch(/unknown queue "sales".*"support"/);
    expect(young.code).toBe(5);
    expect(young.stderr).toMatch(/too little history for queue "support".* has 9 days 4 hours of switchboard_calls_offered_total/);
  }, 120_000);

  describe('GET /api/plan and the current plan in /metrics', () => {
    const apps: TestApp[] = [];
    const auth = { authorization: `Bearer ${SUPERVISOR_TOKEN}` };
    /** Monday of the plan week, 10:40 UTC: the current interval starts 10:30. */
    const NOW = (PLAN_START + 10 * 3600 + 40 * 60) * 1000;
    afterAll(async () => {
      for (const a of apps) await a.close();
    });
    const app = async (config: Record<string, unknown>, now = NOW) => {
      const a = await makeApp({ now, config });
      apps.push(a);
      return a;
    };

    it('answers the same plan as the CLI, and names what is wrong otherwise', async () => {
      const a = await app({ prometheusUrl: prom.url });
      const get = (query: string, headers: Record<string, string> = auth) =>
        a.app.inject({ method: 'GET', url: `/api/plan?${query}`, headers });
      const q = `queue=support&weeks=${WEEKS}&intervalMinutes=30&targetSeconds=20&targetServiceLevel=0.8&shrinkage=0.3&start=${startIso}`;
      const ok = await get(q);
      expect(ok.statusCode).toBe(200);
      const cli = cliPlan ?? (JSON.parse((await runPlan([...common(), '--weeks', String(WEEKS), '--json'])).stdout) as Plan);
      expect(ok.json()).toEqual(cli);

      expect((await get(q, {})).statusCode).toBe(401);
      const bad = await get('queue=support&weeks=1');
      expect([bad.statusCode, bad.json().field]).toEqual([400, 'weeks']);
      const unknown = await get('queue=sales');
      expect([unknown.statusCode, unknown.json().field]).toEqual([404, 'queue']);
      expect(unknown.json().message).toMatch(/unknown queue "sales"/);
      const young = await get(`queue=support&start=${new Date((HISTORY_START + 9 * DAY) * 1000).toISOString()}`);
      expect(young.statusCode).toBe(422);
      expect(young.json().message).toMatch(/too little history for queue "support".* has 9 days 0 hours/);

      const unset = await (await app({})).app.inject({ method: 'GET', url: '/api/plan?queue=support', headers: auth });
      expect(unset.statusCode).toBe(503);
      expect(unset.json()).toMatchObject({ field: 'PROMETHEUS_URL' });
      const nobody = `http://127.0.0.1:${await freePort()}`;
      const down = await (
        await app({ prometheusUrl: nobody })
      ).app.inject({ method: 'GET', url: '/api/plan?queue=support', headers: auth });
      expect(down.statusCode).toBe(503);
      expect(down.json().message).toContain(`cannot reach Prometheus at ${nobody}`);
    }, 120_000);

    it('exports the current interval forecast and plan, the same on an instance without PROMETHEUS_URL', async () => {
      const a = await app({ prometheusUrl: prom.url });
      // The plan for the current interval with the live planner's settings: 8 weeks, the queue's target.
      const expected = (await a.app.inject({ method: 'GET', url: '/api/plan?queue=support', headers: auth })).json() as Plan;
      expect(expected.intervals[0]!.start).toBe(new Date(NOW - 10 * 60_000).toISOString());
      const first = expected.intervals[0]!;
      expect(first.agents).toBeGreaterThan(2);
      let text = '';
      await eventually(async () => {
        text = await a.metrics();
        return sample(text, 'switchboard_staffing_planned_agents', { queue: 'support' }) !== undefined;
      });
      expect(sample(text, 'switchboard_forecast_arrivals_per_hour', { queue: 'support' })).toBeCloseTo(first.arrivals * 2, 1);
      expect(sample(text, 'switchboard_staffing_planned_agents', { queue: 'support' })).toBe(first.agents);
      // Another instance on the same Redis, without PROMETHEUS_URL, reads the stored plan.
      const b = await app({ redisPrefix: a.prefix });
      const other = await b.metrics();
      expect(sample(other, 'switchboard_forecast_arrivals_per_hour', { queue: 'support' })).toBe(
        sample(text, 'switchboard_forecast_arrivals_per_hour', { queue: 'support' }),
      );
      expect(sample(other, 'switchboard_staffing_planned_agents', { queue: 'support' })).toBe(first.agents);
      // Once the interval is over, a stale plan is not exported.
      const later = await app({ redisPrefix: a.prefix }, NOW + 30 * 60_000);
      expect(sample(await later.metrics(), 'switchboard_staffing_planned_agents', { queue: 'support' })).toBeUndefined();
    }, 120_000);
  });
});
