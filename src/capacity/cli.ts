#!/usr/bin/env node
/**
 * Staffing calculator: `npm run -s capacity -- --arrivals-per-hour 200 --aht-seconds 180 --target-seconds 20`
 * (`-s`: without npm's banner on stdout, so `--json | jq` works), or the built `switchboard-capacity`
 * (package.json `bin`: dist/capacity/cli.js).
 * Without --agents it finds the smallest agent count meeting the target service level; with --agents it
 * evaluates that count. --patience-seconds switches from Erlang C to Erlang A (callers abandon).
 * Exit codes: 0 ok, 1 no agent count found, 2 bad arguments (usage on stderr).
 */
import { agentsForServiceLevel, erlangA, erlangC, type ErlangAResult, type ErlangCResult } from './erlang.js';
import { isEntryPoint } from './entry.js';
import { packageVersion } from '../version.js';

export const USAGE = `usage: npm run -s capacity -- --arrivals-per-hour N --aht-seconds S --target-seconds T
                           [--agents N] [--target-service-level F] [--patience-seconds P] [--json]

  --arrivals-per-hour N     offered calls per hour (≥ 0)
  --aht-seconds S           average handle time in seconds, talk + hold + wrap-up (> 0)
  --target-seconds T        service-level threshold: answered within T seconds (≥ 0)
  --agents N                evaluate this many agents instead of finding the minimum (integer ≥ 0)
  --target-service-level F  required fraction answered within T, in (0, 1); default 0.8
  --patience-seconds P      mean caller patience: use Erlang A (with abandonment) instead of Erlang C
  --json                    print one JSON object instead of a table
  --help                    show this help
  --version                 print the Switchboard version
`;

export interface CapacityOptions {
  arrivalsPerHour: number;
  ahtSeconds: number;
  targetSeconds: number;
  targetServiceLevel: number;
  agents?: number;
  patienceSeconds?: number;
  json: boolean;
}

export type ParsedCapacityArgs =
  { kind: 'run'; options: CapacityOptions } | { kind: 'help' } | { kind: 'version' } | { kind: 'error'; error: string };

type NumericFlag = 'arrivals-per-hour' | 'aht-seconds' | 'target-seconds' | 'agents' | 'target-service-level' | 'patience-seconds';

interface FlagRule {
  check: (x: number) => boolean;
  expected: string;
}

const NUMERIC_FLAGS: Record<NumericFlag, FlagRule> = {
  'arrivals-per-hour': { check: (x) => x >= 0, expected: 'a number ≥ 0' },
  'aht-seconds': { check: (x) => x > 0, expected: 'a number > 0' },
  'target-seconds': { check: (x) => x >= 0, expected: 'a number ≥ 0' },
  agents: { check: (x) => Number.isInteger(x) && x >= 0, expected: 'an integer ≥ 0' },
  'target-service-level': { check: (x) => x > 0 && x < 1, expected: 'a fraction strictly between 0 and 1, e.g. 0.8' },
  'patience-seconds': { check: (x) => x > 0, expected: 'a number > 0' },
};

const isNumericFlag = (name: string): name is NumericFlag => Object.hasOwn(NUMERIC_FLAGS, name);

// Plain decimal only: Number() would also take '', '0x1f' and ' 12 ', which are typos here, not numbers.
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** Parses CLI arguments (without node and the script path) into options, a help request or an error. */
export function parseCapacityArgs(argv: readonly string[]): ParsedCapacityArgs {
  const values = new Map<NumericFlag, number>();
  let json = false;
  const fail = (error: string): ParsedCapacityArgs => ({ kind: 'error', error });

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') continue; // `npm run capacity -- …` may forward the separator
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg === '--version') return { kind: 'version' };
    if (!arg.startsWith('--')) return fail(`unexpected argument: ${arg}`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (name === 'json') {
      if (eq !== -1) return fail(`--json takes no value: ${arg}`);
      json = true;
      continue;
    }
    if (!isNumericFlag(name)) return fail(`unknown argument: ${arg}`);
    let raw: string | undefined;
    if (eq !== -1) raw = arg.slice(eq + 1);
    else {
      raw = argv[i + 1];
      if (raw === undefined || raw.startsWith('--')) return fail(`--${name} needs a value`);
      i++;
    }
    if (values.has(name)) return fail(`--${name} given more than once`);
    const rule = NUMERIC_FLAGS[name];
    const value = DECIMAL.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isFinite(value) || !rule.check(value)) return fail(`--${name} must be ${rule.expected} (got "${raw}")`);
    values.set(name, value);
  }

  for (const required of ['arrivals-per-hour', 'aht-seconds', 'target-seconds'] as const) {
    if (!values.has(required)) return fail(`missing --${required}`);
  }
  const options: CapacityOptions = {
    arrivalsPerHour: values.get('arrivals-per-hour')!,
    ahtSeconds: values.get('aht-seconds')!,
    targetSeconds: values.get('target-seconds')!,
    targetServiceLevel: values.get('target-service-level') ?? 0.8,
    json,
  };
  const agents = values.get('agents');
  if (agents !== undefined) options.agents = agents;
  const patience = values.get('patience-seconds');
  if (patience !== undefined) options.patienceSeconds = patience;
  return { kind: 'run', options };
}

export interface CapacityReport {
  model: 'erlang_c' | 'erlang_a';
  /** `minimum_for_target`: agents is the smallest count meeting the target; `given`: agents came from --agents. */
  mode: 'minimum_for_target' | 'given';
  arrivalsPerHour: number;
  ahtSeconds: number;
  targetSeconds: number;
  targetServiceLevel: number;
  patienceSeconds: number | null;
  agents: number;
  trafficErlangs: number;
  meetsTarget: boolean;
  probabilityOfWaiting: number;
  serviceLevel: number;
  /** null when infinite (Erlang C with agents ≤ traffic, or no agents at all). */
  asaSeconds: number | null;
  occupancy: number;
  /** Erlang C only: false when agents ≤ traffic and the queue grows without bound. */
  stable?: boolean;
  /** Erlang A only. */
  abandonProbability?: number;
  serviceLevelOfAnswered?: number;
  probabilityWaitExceeds?: number;
  meanQueueTimeSeconds?: number;
}

/** Computes the report for parsed options; throws RangeError when no agent count reaches the target. */
export function capacityReport(options: CapacityOptions): CapacityReport {
  const common = { arrivalsPerHour: options.arrivalsPerHour, ahtSeconds: options.ahtSeconds, targetSeconds: options.targetSeconds };
  let result: ErlangCResult | ErlangAResult;
  if (options.agents !== undefined) {
    const input = { ...common, agents: options.agents };
    result = options.patienceSeconds === undefined ? erlangC(input) : erlangA({ ...input, patienceSeconds: options.patienceSeconds });
  } else {
    const staffing = agentsForServiceLevel({
      ...common,
      targetServiceLevel: options.targetServiceLevel,
      patienceSeconds: options.patienceSeconds,
    });
    result = staffing.result;
  }
  const report: CapacityReport = {
    model: options.patienceSeconds === undefined ? 'erlang_c' : 'erlang_a',
    mode: options.agents === undefined ? 'minimum_for_target' : 'given',
    ...common,
    targetServiceLevel: options.targetServiceLevel,
    patienceSeconds: options.patienceSeconds ?? null,
    agents: result.agents,
    trafficErlangs: result.trafficErlangs,
    meetsTarget: result.serviceLevel >= options.targetServiceLevel,
    probabilityOfWaiting: result.probabilityOfWaiting,
    serviceLevel: result.serviceLevel,
    asaSeconds: Number.isFinite(result.asaSeconds) ? result.asaSeconds : null,
    occupancy: result.occupancy,
  };
  if ('stable' in result) report.stable = result.stable;
  else {
    report.abandonProbability = result.abandonProbability;
    report.serviceLevelOfAnswered = result.serviceLevelOfAnswered;
    report.probabilityWaitExceeds = result.probabilityWaitExceeds;
    report.meanQueueTimeSeconds = result.meanQueueTimeSeconds;
  }
  return report;
}

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
const secs = (x: number | null): string => (x === null ? 'infinite (queue unstable)' : `${x.toFixed(1)} s`);

/** Renders a report as an aligned two-column table for people. */
export function formatCapacityTable(r: CapacityReport): string {
  const title =
    r.model === 'erlang_c' ? 'Erlang C (M/M/N, callers never abandon)' : `Erlang A (M/M/N+M, mean patience ${r.patienceSeconds ?? 0} s)`;
  const rows: [string, string][] = [
    ['traffic', `${r.arrivalsPerHour} calls/h × ${r.ahtSeconds} s = ${r.trafficErlangs.toFixed(2)} Erlangs`],
    [r.mode === 'given' ? 'agents (given)' : `agents needed for ${pct(r.targetServiceLevel)} in ${r.targetSeconds} s`, String(r.agents)],
    ['meets target', `${r.meetsTarget ? 'yes' : 'no'} (${pct(r.targetServiceLevel)} within ${r.targetSeconds} s)`],
    ['probability of waiting', pct(r.probabilityOfWaiting)],
    [`service level (≤ ${r.targetSeconds} s, of offered)`, pct(r.serviceLevel)],
  ];
  if (r.serviceLevelOfAnswered !== undefined)
    rows.push([`service level (≤ ${r.targetSeconds} s, of answered)`, pct(r.serviceLevelOfAnswered)]);
  if (r.abandonProbability !== undefined) rows.push(['abandoned', pct(r.abandonProbability)]);
  rows.push(['average speed of answer', secs(r.asaSeconds)], ['occupancy', pct(r.occupancy)]);
  if (r.stable === false) rows.push(['stable', 'no: agents ≤ traffic, the queue grows without bound']);
  const width = Math.max(...rows.map(([k]) => k.length));
  return [title, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n') + '\n';
}

export interface CapacityIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: CapacityIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Runs the CLI on `argv` (without node and the script path) and returns the exit code. */
export function main(argv: readonly string[], io: CapacityIo = processIo): number {
  const parsed = parseCapacityArgs(argv);
  if (parsed.kind === 'help') {
    io.out(USAGE);
    return 0;
  }
  if (parsed.kind === 'version') {
    io.out(`${packageVersion()}\n`);
    return 0;
  }
  if (parsed.kind === 'error') {
    io.err(`capacity: ${parsed.error}\n\n${USAGE}`);
    return 2;
  }
  let report: CapacityReport;
  try {
    report = capacityReport(parsed.options);
  } catch (e) {
    io.err(`capacity: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  io.out(parsed.options.json ? `${JSON.stringify(report)}\n` : formatCapacityTable(report));
  return 0;
}

if (isEntryPoint(import.meta.url)) process.exitCode = main(process.argv.slice(2));
