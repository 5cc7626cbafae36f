/**
 * PromQL found in the repository: the recording and alerting rules (prometheus/rules/*.yml) and the Grafana
 * dashboards (grafana/dashboards/*.json), plus the series names docs/metrics.md documents. Used by
 * test/observability/dashboards.test.ts (every name an expression uses must exist) and by the tests that
 * evaluate each expression against a live Prometheus (test/helpers/prometheus.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const RULES_DIR = join(REPO_ROOT, 'prometheus/rules');
export const DASHBOARDS_DIR = join(REPO_ROOT, 'grafana/dashboards');
export const METRICS_DOC = join(REPO_ROOT, 'docs/metrics.md');

export interface RuleExpression {
  /** Path relative to the repository root. */
  file: string;
  group: string;
  kind: 'record' | 'alert';
  /** The recorded series or the alert name. */
  name: string;
  expr: string;
}

export interface DashboardExpression {
  /** Path relative to the repository root. */
  file: string;
  dashboardUid: string;
  /** `panel`: a panel target; `variable`: a template variable's query (label_values(metric, label) gives `metric`). */
  source: 'panel' | 'variable';
  panelId: number | undefined;
  panelTitle: string;
  refId: string;
  /** True when the target is an instant query (stat/gauge "now" values). */
  instant: boolean;
  /** The expression as written, with Grafana variables ($queue, $__range, ...). */
  expr: string;
  /** The expression with the Grafana variables replaced (see substituteGrafanaVariables), ready for /api/v1/query. */
  promql: string;
}

interface RuleFile {
  groups?: { name: string; rules?: { record?: string; alert?: string; expr: string | number }[] }[];
}

export function ruleFiles(): string[] {
  return readdirSync(RULES_DIR)
    .filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'))
    .sort()
    .map((f) => join(RULES_DIR, f));
}

/** Every rule's expression, in file order. */
export function ruleExpressions(): RuleExpression[] {
  const out: RuleExpression[] = [];
  for (const path of ruleFiles()) {
    const doc = parseYaml(readFileSync(path, 'utf8')) as RuleFile;
    for (const g of doc.groups ?? []) {
      for (const r of g.rules ?? []) {
        const kind = r.record !== undefined ? 'record' : 'alert';
        out.push({
          file: relativeToRepo(path),
          group: g.name,
          kind,
          name: (r.record ?? r.alert)!,
          expr: String(r.expr).trim(),
        });
      }
    }
  }
  return out;
}

/** Names of the series the recording rules define. */
export function recordingRuleNames(): Set<string> {
  return new Set(
    ruleExpressions()
      .filter((r) => r.kind === 'record')
      .map((r) => r.name),
  );
}

export interface GrafanaTarget {
  refId?: string;
  expr?: string;
  instant?: boolean;
  datasource?: { type?: string; uid?: string };
  [k: string]: unknown;
}
export interface GrafanaPanel {
  id?: number;
  type?: string;
  title?: string;
  description?: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: GrafanaTarget[];
  panels?: GrafanaPanel[];
  [k: string]: unknown;
}
export interface GrafanaDashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: GrafanaPanel[];
  templating?: { list?: { name: string; type: string; query?: unknown; definition?: string; datasource?: { uid?: string } }[] };
  [k: string]: unknown;
}

export function dashboardFiles(): string[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(DASHBOARDS_DIR, f));
}

/** Every dashboard, parsed (throws on invalid JSON, naming the file). */
export function loadDashboards(): { file: string; dashboard: GrafanaDashboard }[] {
  return dashboardFiles().map((path) => {
    try {
      return { file: relativeToRepo(path), dashboard: JSON.parse(readFileSync(path, 'utf8')) as GrafanaDashboard };
    } catch (e) {
      throw new Error(`${relativeToRepo(path)}: ${(e as Error).message}`, { cause: e });
    }
  });
}

/** Panels of a dashboard, including panels nested in collapsed rows. */
export function allPanels(d: GrafanaDashboard): GrafanaPanel[] {
  const out: GrafanaPanel[] = [];
  const walk = (ps: GrafanaPanel[] | undefined) => {
    for (const p of ps ?? []) {
      out.push(p);
      walk(p.panels);
    }
  };
  walk(d.panels);
  return out;
}

/**
 * Values for the Grafana variables the dashboards use, so an expression can be sent to Prometheus as is.
 * `queue` is multi-value with allValue ".*" and only ever used in `=~` matchers.
 */
export const DEFAULT_GRAFANA_VARIABLES: Readonly<Record<string, string>> = {
  queue: '.*',
  __range: '1h',
  __rate_interval: '1m',
  __interval: '1m',
  __range_s: '3600',
  __interval_ms: '60000',
};

/** Replace $var, ${var} and ${var:format} with values (DEFAULT_GRAFANA_VARIABLES unless given). */
export function substituteGrafanaVariables(expr: string, vars: Readonly<Record<string, string>> = DEFAULT_GRAFANA_VARIABLES): string {
  return expr.replace(/\$\{(\w+)(?::[^}]*)?\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    const value = vars[name];
    if (value === undefined) throw new Error(`no value for Grafana variable ${whole} in: ${expr}`);
    return value;
  });
}

/** Every PromQL expression of every dashboard: panel targets and template-variable queries. */
export function dashboardExpressions(vars: Readonly<Record<string, string>> = DEFAULT_GRAFANA_VARIABLES): DashboardExpression[] {
  const out: DashboardExpression[] = [];
  for (const { file, dashboard } of loadDashboards()) {
    const uid = dashboard.uid ?? file;
    for (const v of dashboard.templating?.list ?? []) {
      if (v.type !== 'query') continue;
      const q = typeof v.query === 'string' ? v.query : ((v.query as { query?: string } | undefined)?.query ?? v.definition ?? '');
      const m = /^\s*label_values\(\s*(.+?)\s*,\s*(\w+)\s*\)\s*$/s.exec(q);
      const expr = m ? m[1]! : q;
      out.push({
        file,
        dashboardUid: uid,
        source: 'variable',
        panelId: undefined,
        panelTitle: `$${v.name}`,
        refId: v.name,
        instant: true,
        expr,
        promql: substituteGrafanaVariables(expr, vars),
      });
    }
    for (const p of allPanels(dashboard)) {
      for (const t of p.targets ?? []) {
        if (typeof t.expr !== 'string') continue;
        out.push({
          file,
          dashboardUid: uid,
          source: 'panel',
          panelId: p.id,
          panelTitle: p.title ?? '',
          refId: t.refId ?? '',
          instant: t.instant === true,
          expr: t.expr,
          promql: substituteGrafanaVariables(t.expr, vars),
        });
      }
    }
  }
  return out;
}

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'inf',
  'nan',
]);

/**
 * Series names an expression reads: metric names and recording-rule names, without functions,
 * aggregations, keywords, label names, label values, durations or Grafana variables.
 * A lexical scan, not a parser; Prometheus itself checks the syntax (promtool and the live tests).
 */
export function metricNamesIn(expr: string): string[] {
  let s = expr
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ') // Grafana variables
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // string literals (label values)
    .replace(/#[^\n]*/g, ' '); // comments
  // {name="x"} selectors: keep a name given as {__name__="..."}? Values are gone already, so just drop the block.
  s = s.replace(/\{[^{}]*\}/g, ' ');
  s = s.replace(/\[[^\]]*\]/g, ' '); // ranges and subqueries
  s = s.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)/g, ' '); // label lists
  const names = new Set<string>();
  const re = /(?<![\w.:])[A-Za-z_:][A-Za-z0-9_:]*/g;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const word = m[0];
    const rest = s.slice(m.index + word.length);
    if (/^\s*\(/.test(rest)) continue; // function or aggregation call
    if (KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

/**
 * Series docs/metrics.md documents: every `switchboard_*`, `process_*` and `nodejs_*` name in backticks, label set stripped
 * (`switchboard_calls_offered_total{queue}` gives `switchboard_calls_offered_total`), and whether it is a
 * histogram (its row or paragraph says "histogram").
 */
export function documentedSeries(): Map<string, { histogram: boolean }> {
  const text = readFileSync(METRICS_DOC, 'utf8');
  const out = new Map<string, { histogram: boolean }>();
  for (const line of text.split('\n')) {
    for (const m of line.matchAll(/`((?:switchboard|process|nodejs)_[a-z0-9_]+)(?:\{[^}`]*\})?`/g)) {
      const name = m[1]!;
      // A histogram is named in a table row "(histogram)" or in a paragraph "Histogram `name`".
      const histogram = /histogram/i.test(line);
      const prev = out.get(name);
      out.set(name, { histogram: (prev?.histogram ?? false) || histogram });
    }
  }
  return out;
}

/**
 * True when `name` is a documented series, a histogram's _bucket/_sum/_count of one, or a recording rule.
 * `extra` allows series Prometheus itself adds (up, scrape_*).
 */
export function isKnownSeries(
  name: string,
  documented: Map<string, { histogram: boolean }>,
  recorded: Set<string>,
  extra: ReadonlySet<string> = new Set(),
): boolean {
  if (recorded.has(name) || extra.has(name) || documented.has(name)) return true;
  const base = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
  return base !== undefined && documented.get(base)?.histogram === true;
}

function relativeToRepo(path: string): string {
  return path.startsWith(REPO_ROOT + '/') ? path.slice(REPO_ROOT.length + 1) : path;
}
