/**
 * Next week's staffing plan from Prometheus history:
 *   npm run -s plan -- --prometheus http://localhost:9090 --queue support [--json | --csv]
 * Prints only the plan on stdout (table, JSON or CSV), so `… --json | jq` works; warnings go to stderr.
 * Exit codes: 0 ok, 2 bad arguments, 3 Prometheus unreachable or failing, 4 unknown queue,
 * 5 too little history.
 */
import { makePlan, type Plan, type PlanOptions, type PlanReport } from './plan.js';
import { isEntryPoint } from './entry.js';
import { PlanError, type PlanErrorKind } from './plan-error.js';
import { createPrometheusClient } from './prometheus.js';

export const PLAN_USAGE = `usage: npm run -s plan -- --prometheus URL --queue Q [--weeks 8] [--interval-minutes 30]
                         [--target-seconds 20] [--target-service-level 0.8] [--shrinkage 0.3]
                         [--start ISO] [--json | --csv]

  --prometheus URL          Prometheus that scrapes Switchboard (its HTTP API), e.g. http://localhost:9090
  --queue Q                 queue name (the queue label of switchboard_calls_offered_total)
  --weeks N                 whole weeks of history to forecast from (default 8, at least 2)
  --interval-minutes M      planning interval, dividing a day (default 30)
  --target-seconds T        service-level threshold: answered within T seconds (default 20)
  --target-service-level F  fraction to answer within T, in (0, 1) (default 0.8)
  --shrinkage S             fraction of scheduled time agents are off the phones, in [0, 1) (default 0.3)
  --start ISO               first interval of the plan (default: the current interval), e.g. 2026-12-07T00:00:00Z
  --json                    print {queue, intervalMinutes, intervals, backtest} as JSON
  --csv                     print the intervals as CSV
  --help                    show this help
`;

export type PlanArgs =
  | { kind: 'run'; options: PlanOptions; prometheus: string; format: 'table' | 'json' | 'csv' }
  | { kind: 'help' }
  | { kind: 'error'; error: string };

type NumFlag = 'weeks' | 'interval-minutes' | 'target-seconds' | 'target-service-level' | 'shrinkage';
const DEFAULTS: Record<NumFlag, number> = {
  weeks: 8,
  'interval-minutes': 30,
  'target-seconds': 20,
  'target-service-level': 0.8,
  shrinkage: 0.3,
};
const CHECKS: Record<NumFlag, [(x: number) => boolean, string]> = {
  weeks: [(x) => Number.isInteger(x) && x >= 2 && x <= 104, 'an integer from 2 to 104'],
  'interval-minutes': [
    (x) => Number.isInteger(x) && x >= 5 && 1440 % x === 0,
    'a whole number of minutes ≥ 5 dividing a day (15, 30, 60, …)',
  ],
  'target-seconds': [(x) => x >= 0 && x <= 86_400, 'a number of seconds from 0 to 86400'],
  'target-service-level': [(x) => x > 0 && x < 1, 'a fraction strictly between 0 and 1, e.g. 0.8'],
  shrinkage: [(x) => x >= 0 && x < 1, 'a fraction in [0, 1), e.g. 0.3'],
};
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Parses CLI arguments (without node and the script path); `now` (ms) gives the default start. */
export function parsePlanArgs(argv: readonly string[], now: number): PlanArgs {
  const fail = (error: string): PlanArgs => ({ kind: 'error', error });
  const strings = new Map<string, string>();
  const nums = new Map<NumFlag, number>();
  let format: 'table' | 'json' | 'csv' = 'table';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') continue;
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (!arg.startsWith('--')) return fail(`unexpected argument: ${arg}`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (name === 'json' || name === 'csv') {
      if (eq !== -1) return fail(`--${name} takes no value`);
      if (format !== 'table') return fail('--json and --csv exclude each other');
      format = name;
      continue;
    }
    const known = ['prometheus', 'queue', 'start', ...Object.keys(DEFAULTS)];
    if (!known.includes(name)) return fail(`unknown argument: ${arg}`);
    let raw: string | undefined = eq !== -1 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined || (eq === -1 && raw.startsWith('--'))) return fail(`--${name} needs a value`);
    raw = raw.trim();
    if (strings.has(name) || nums.has(name as NumFlag)) return fail(`--${name} given more than once`);
    if (Object.hasOwn(DEFAULTS, name)) {
      const [check, expected] = CHECKS[name as NumFlag];
      const x = DECIMAL.test(raw) ? Number(raw) : Number.NaN;
      if (!Number.isFinite(x) || !check(x)) return fail(`--${name} must be ${expected} (got "${raw}")`);
      nums.set(name as NumFlag, x);
    } else strings.set(name, raw);
  }
  const prometheus = strings.get('prometheus');
  if (!prometheus) return fail('missing --prometheus URL (the Prometheus that scrapes Switchboard)');
  const queue = strings.get('queue');
  if (!queue) return fail('missing --queue');
  let start = now;
  const s = strings.get('start');
  if (s !== undefined) {
    start = ISO_DATE.test(s) ? Date.parse(s.length === 10 ? `${s}T00:00:00Z` : s) : Number.NaN;
    if (!Number.isFinite(start)) return fail(`--start must be an ISO 8601 date-time, e.g. 2026-12-07T00:00:00Z (got "${s}")`);
  }
  const n = (f: NumFlag) => nums.get(f) ?? DEFAULTS[f];
  return {
    kind: 'run',
    prometheus,
    format,
    options: {
      queue,
      weeks: n('weeks'),
      intervalMinutes: n('interval-minutes'),
      targetSeconds: n('target-seconds'),
      targetServiceLevel: n('target-service-level'),
      shrinkage: n('shrinkage'),
      start,
    },
  };
}

const pct = (x: number | null): string => (x === null || !Number.isFinite(x) ? 'n/a' : `${(100 * x).toFixed(1)}%`);
const signedPct = (x: number | null): string =>
  x === null || !Number.isFinite(x) ? 'n/a' : `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`;

/** The report for people: what the plan rests on, how far to trust it, then one row per interval. */
export function formatPlanTable(r: PlanReport, o: PlanOptions): string {
  const p = r.plan;
  const lines = [
    `Staffing plan for queue "${p.queue}", ${p.intervalMinutes}-minute intervals from ${p.intervals[0]?.start ?? '?'} (UTC)`,
    `  history     ${r.historyWeeks} weeks from ${r.historyStart}; ${r.missingIntervals} intervals without data; ` +
      `${r.anomalousDays.length ? `left out as anomalous: ${r.anomalousDays.map((d) => `${d.date} (×${d.ratio})`).join(', ')}` : 'no anomalous days'}`,
    `  target      ${pct(o.targetServiceLevel)} answered within ${o.targetSeconds} s; shrinkage ${pct(o.shrinkage)}; ` +
      (r.model === 'erlang_a'
        ? `Erlang A (mean patience ${p.intervals[0]?.patienceSeconds ?? '?'} s)`
        : 'Erlang C (too few abandons to know patience)'),
    `  backtest    last week (${r.plan.intervals.length ? 'forecast from the ' + p.backtest.weeks + ' weeks before it' : ''}):`,
    ...Object.entries(r.methods).map(
      ([m, a]) =>
        `              ${m === r.method ? '*' : ' '} ${m.padEnd(15)} WAPE ${pct(a.wape).padStart(6)}  bias ${signedPct(a.bias).padStart(7)}  (${a.intervals} intervals)`,
    ),
    `              * = used for this plan (lowest WAPE)`,
    '',
  ];
  const header = ['start (UTC)', 'calls', 'AHT s', 'patience s', 'agents', 'scheduled'];
  const rows = p.intervals.map((i) => [
    i.start.slice(0, 16).replace('T', ' '),
    i.arrivals.toFixed(1),
    i.ahtSeconds.toFixed(0),
    i.patienceSeconds === null ? '-' : i.patienceSeconds.toFixed(0),
    String(i.agents),
    String(i.scheduledAgents),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const fmt = (cells: string[]) => cells.map((x, c) => (c === 0 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join('  ');
  lines.push(fmt(header), ...rows.map(fmt));
  const total = p.intervals.reduce((a, i) => a + i.arrivals, 0);
  const hours = p.intervals.reduce((a, i) => a + (i.scheduledAgents * p.intervalMinutes) / 60, 0);
  lines.push('', `  week total  ${total.toFixed(0)} calls forecast, ${hours.toFixed(1)} scheduled agent-hours`);
  return lines.join('\n') + '\n';
}

export function formatPlanCsv(p: Plan): string {
  const rows = ['start,arrivals,ahtSeconds,patienceSeconds,agents,scheduledAgents'];
  for (const i of p.intervals)
    rows.push([i.start, i.arrivals, i.ahtSeconds, i.patienceSeconds ?? '', i.agents, i.scheduledAgents].join(','));
  return rows.join('\n') + '\n';
}

export const EXIT_CODES: Record<PlanErrorKind, number> = {
  bad_request: 2,
  prometheus_unreachable: 3,
  prometheus_failed: 3,
  unknown_queue: 4,
  too_little_history: 5,
};

export interface PlanIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** Runs the CLI on `argv` and resolves to the exit code. */
export async function planMain(argv: readonly string[], io: PlanIo, now = Date.now()): Promise<number> {
  const parsed = parsePlanArgs(argv, now);
  if (parsed.kind === 'help') {
    io.out(PLAN_USAGE);
    return 0;
  }
  if (parsed.kind === 'error') {
    io.err(`plan: ${parsed.error}\n\n${PLAN_USAGE}`);
    return 2;
  }
  try {
    const report = await makePlan(createPrometheusClient(parsed.prometheus), parsed.options);
    for (const w of report.warnings) io.err(`plan: warning: ${w}\n`);
    if (parsed.format === 'json') io.out(`${JSON.stringify(report.plan)}\n`);
    else if (parsed.format === 'csv') io.out(formatPlanCsv(report.plan));
    else io.out(formatPlanTable(report, parsed.options));
    return 0;
  } catch (e) {
    if (e instanceof PlanError) {
      io.err(`plan: ${e.message}\n`);
      return EXIT_CODES[e.kind];
    }
    io.err(`plan: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

if (isEntryPoint(import.meta.url)) {
  void planMain(process.argv.slice(2), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }).then((code) => {
    process.exitCode = code;
  });
}
