/**
 * The capacity CLI: argument parsing and output in-process, plus a few real runs of the script
 * (`node --import tsx src/capacity/cli.ts …`, what `npm run capacity -- …` does) for exit codes and streams.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { capacityReport, formatCapacityTable, main, parseCapacityArgs, type CapacityOptions } from '../../src/capacity/cli.js';
import { erlangA, erlangC } from '../../src/capacity/erlang.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BASE = ['--arrivals-per-hour', '200', '--aht-seconds', '180', '--target-seconds', '20'];

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/capacity/cli.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function capture(argv: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('parseCapacityArgs', () => {
  it('parses the required flags and applies the 0.8 default', () => {
    expect(parseCapacityArgs(BASE)).toEqual({
      kind: 'run',
      options: { arrivalsPerHour: 200, ahtSeconds: 180, targetSeconds: 20, targetServiceLevel: 0.8, json: false },
    });
  });

  it('takes --flag=value, optional flags and --json in any order', () => {
    const r = parseCapacityArgs(['--json', '--patience-seconds=300', '--agents', '14', '--target-service-level', '0.9', ...BASE]);
    expect(r).toEqual({
      kind: 'run',
      options: {
        arrivalsPerHour: 200,
        ahtSeconds: 180,
        targetSeconds: 20,
        targetServiceLevel: 0.9,
        agents: 14,
        patienceSeconds: 300,
        json: true,
      },
    });
  });

  it('ignores a forwarded `--` separator and recognises --help', () => {
    expect(parseCapacityArgs(['--', ...BASE]).kind).toBe('run');
    expect(parseCapacityArgs([...BASE, '--help'])).toEqual({ kind: 'help' });
    expect(parseCapacityArgs(['-h'])).toEqual({ kind: 'help' });
  });

  it.each([
    [['--aht-seconds', '180', '--target-seconds', '20'], '--arrivals-per-hour'],
    [[...BASE, '--bogus', '1'], '--bogus'],
    [[...BASE, '--agents'], '--agents'],
    [[...BASE, '--agents', '--json'], '--agents'],
    [[...BASE, '--agents', '1.5'], '--agents'],
    [[...BASE, '--agents', '-3'], '--agents'],
    [[...BASE, '--target-service-level', '80'], '--target-service-level'],
    [[...BASE, '--target-service-level', '1'], '--target-service-level'],
    [[...BASE, '--patience-seconds', '0'], '--patience-seconds'],
    [['--arrivals-per-hour', 'lots', '--aht-seconds', '180', '--target-seconds', '20'], '--arrivals-per-hour'],
    [['--arrivals-per-hour', '0x10', '--aht-seconds', '180', '--target-seconds', '20'], '--arrivals-per-hour'],
    [['--arrivals-per-hour', '', '--aht-seconds', '180', '--target-seconds', '20'], '--arrivals-per-hour'],
    [[...BASE, '--aht-seconds', '200'], '--aht-seconds'],
    [[...BASE, '--json=yes'], '--json'],
    [[...BASE, 'extra'], 'extra'],
  ])('rejects %j naming %s', (argv, named) => {
    const r = parseCapacityArgs(argv);
    expect(r.kind).toBe('error');
    if (r.kind === 'error') expect(r.error).toContain(named);
  });
});

describe('capacityReport and main (in-process)', () => {
  const options: CapacityOptions = { arrivalsPerHour: 200, ahtSeconds: 180, targetSeconds: 20, targetServiceLevel: 0.8, json: true };

  it('reports the minimum staffing under Erlang C', () => {
    const r = capacityReport(options);
    const c = erlangC({ arrivalsPerHour: 200, ahtSeconds: 180, targetSeconds: 20, agents: 14 });
    expect(r).toMatchObject({ model: 'erlang_c', mode: 'minimum_for_target', agents: 14, meetsTarget: true, stable: true });
    expect(r.serviceLevel).toBe(c.serviceLevel);
    expect(r.asaSeconds).toBe(c.asaSeconds);
    expect(r.abandonProbability).toBeUndefined();
  });

  it('evaluates given agents under Erlang A', () => {
    const r = capacityReport({ ...options, agents: 12, patienceSeconds: 300 });
    const a = erlangA({ arrivalsPerHour: 200, ahtSeconds: 180, targetSeconds: 20, agents: 12, patienceSeconds: 300 });
    expect(r).toMatchObject({ model: 'erlang_a', mode: 'given', agents: 12, patienceSeconds: 300 });
    expect(r.abandonProbability).toBe(a.abandonProbability);
    expect(r.serviceLevel).toBe(a.serviceLevel);
    expect(r.meetsTarget).toBe(a.serviceLevel >= 0.8);
  });

  it('turns an infinite ASA into null (JSON has no Infinity) and flags the unstable queue', () => {
    const r = capacityReport({ ...options, agents: 9 });
    expect(r).toMatchObject({ asaSeconds: null, stable: false, meetsTarget: false, serviceLevel: 0 });
    expect(formatCapacityTable(r)).toContain('unstable');
  });

  it('prints a table by default and usage with exit code 2 on bad input', () => {
    const table = capture(BASE);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/agents needed for 80\.00% in 20 s\s+14/);
    expect(table.out).toContain('88.84%');
    const bad = capture([...BASE, '--agents', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.out).toBe('');
    expect(bad.err).toContain('--agents');
    expect(bad.err).toContain('usage:');
  });
});

describe('capacity CLI (spawned)', () => {
  it('prints one JSON object with the staffing for the target', () => {
    const r = run([...BASE, '--json']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const key of ['agents', 'trafficErlangs', 'probabilityOfWaiting', 'serviceLevel', 'asaSeconds', 'occupancy']) {
      expect(typeof out[key], key).toBe('number');
    }
    expect(out).toMatchObject({ model: 'erlang_c', agents: 14, trafficErlangs: 10 });
    expect(out.serviceLevel as number).toBeCloseTo(0.88835, 5);
  });

  it('adds abandonment with --patience-seconds, and evaluates --agents', () => {
    const r = run([...BASE, '--agents', '14', '--patience-seconds', '300', '--json']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({ model: 'erlang_a', mode: 'given', agents: 14 });
    expect(out.abandonProbability as number).toBeCloseTo(0.0139837, 6);
  });

  it('prints a readable table without --json', () => {
    const r = run(BASE);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Erlang C');
    expect(r.stdout).toMatch(/occupancy\s+71\.43%/);
  });

  it.each([
    [['--aht-seconds', '180', '--target-seconds', '20'], 'missing --arrivals-per-hour'],
    [[...BASE, '--frobnicate'], 'unknown argument: --frobnicate'],
    [[...BASE, '--target-service-level', '85'], '--target-service-level must be'],
  ])('exits 2 with usage on stderr for %j', (args, message) => {
    const r = run(args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('usage: npm run -s capacity --');
  });

  it("does not run main when imported (this file imports it; main would have failed on vitest's argv)", () => {
    expect(process.exitCode ?? 0).toBe(0);
  });
});
