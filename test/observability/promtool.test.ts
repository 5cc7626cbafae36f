/**
 * The Prometheus side checked by Prometheus' own tool: both configs load (with the rule files they
 * reference), the rule files are valid, and the unit tests in prometheus/tests (hand-computed expectations
 * for every recording rule and every alert) pass. Also checks that the unit tests do cover every rule.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { testPrometheusConfig } from '../helpers/prometheus.js';
import { REPO_ROOT, ruleExpressions, ruleFiles } from '../helpers/promql.js';

const TESTS_DIR = join(REPO_ROOT, 'prometheus/tests');

function promtool(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync(process.env.PROMTOOL_BIN ?? 'promtool', args, { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
  if (r.error)
    return { status: null, output: `promtool ${args.join(' ')}: ${r.error.message} (is promtool installed? scripts/setup.sh installs it)` };
  return { status: r.status, output: `$ promtool ${args.join(' ')}\n${r.stdout}${r.stderr}` };
}

/** Run promtool and fail with its whole output unless it exits 0. */
function expectPromtoolOk(...args: string[]): void {
  const { status, output } = promtool(...args);
  if (status !== 0) console.error(output);
  expect(status, output).toBe(0);
}

const testFiles = () =>
  readdirSync(TESTS_DIR)
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .map((f) => join('prometheus/tests', f));

interface UnitTestFile {
  rule_files: string[];
  tests: {
    name?: string;
    promql_expr_test?: { expr: string }[];
    alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[];
  }[];
}

describe('promtool', () => {
  it('checks prometheus.yml (and the rule files it references, relative to the config)', () => {
    expectPromtoolOk('check', 'config', 'prometheus.yml');
  });

  it('checks prometheus/prometheus.local.yml', () => {
    expectPromtoolOk('check', 'config', 'prometheus/prometheus.local.yml');
  });

  it('checks every rule file', () => {
    const files = ruleFiles().map((f) => f.slice(REPO_ROOT.length + 1));
    expect(files).toEqual(['prometheus/rules/alerts.yml', 'prometheus/rules/recording.yml']);
    expectPromtoolOk('check', 'rules', ...files);
  });

  it('passes the rule unit tests', { timeout: 120_000 }, () => {
    const files = testFiles();
    expect(files.length).toBeGreaterThan(0);
    expectPromtoolOk('test', 'rules', ...files);
  });
});

describe('rule unit tests cover every rule', () => {
  const units = testFiles().map((f) => parseYaml(readFileSync(join(REPO_ROOT, f), 'utf8')) as UnitTestFile);
  const rules = ruleExpressions();

  it('tests every recording rule by name', () => {
    const tested = new Set(units.flatMap((u) => u.tests.flatMap((t) => (t.promql_expr_test ?? []).map((e) => e.expr.trim()))));
    const untested = rules.filter((r) => r.kind === 'record' && !tested.has(r.name)).map((r) => r.name);
    expect(untested).toEqual([]);
  });

  it('tests every alert both firing and not firing', () => {
    const cases = units.flatMap((u) => u.tests.flatMap((t) => t.alert_rule_test ?? []));
    for (const alert of rules.filter((r) => r.kind === 'alert')) {
      const mine = cases.filter((c) => c.alertname === alert.name);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${alert.name} never expected to fire`,
      ).toBe(true);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${alert.name} never expected to stay quiet`,
      ).toBe(true);
    }
  });

  it('gives every alert a severity label, summary/description annotations and a runbook_url', () => {
    for (const path of ruleFiles()) {
      const doc = parseYaml(readFileSync(path, 'utf8')) as {
        groups: { rules: { alert?: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[];
      };
      for (const r of doc.groups.flatMap((g) => g.rules).filter((x) => x.alert)) {
        expect(['critical', 'warning', 'info'], `${r.alert} severity`).toContain(r.labels?.severity);
        expect(r.annotations?.summary, `${r.alert} summary`).toBeTruthy();
        expect(r.annotations?.description, `${r.alert} description`).toBeTruthy();
        // What to do: a section of docs/runbook.md named after the alert (test/unit/docs-links.test.ts checks it exists).
        expect(r.annotations?.runbook_url, `${r.alert} runbook_url`).toBe(`docs/runbook.md#${r.alert!.toLowerCase()}`);
      }
    }
  });

  it('names recording rules level:measure:operation and records each once', () => {
    const names = rules.filter((r) => r.kind === 'record').map((r) => r.name);
    for (const n of names) expect(n).toMatch(/^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$/);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('prometheus/prometheus.local.yml', () => {
  it('is prometheus.yml with other targets', () => {
    const main = testPrometheusConfig({ targets: ['x:1'], baseConfig: join(REPO_ROOT, 'prometheus.yml') });
    const local = testPrometheusConfig({ targets: ['x:1'], baseConfig: join(REPO_ROOT, 'prometheus/prometheus.local.yml') });
    expect(local).toEqual(main);
    const raw = (f: string) =>
      parseYaml(readFileSync(join(REPO_ROOT, f), 'utf8')) as {
        global: unknown;
        scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
      };
    expect(raw('prometheus/prometheus.local.yml').global).toEqual(raw('prometheus.yml').global);
    expect(raw('prometheus.yml').scrape_configs[0]!.static_configs[0]!.targets).toEqual(['app:3000']);
  });
});
