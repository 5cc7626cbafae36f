/**
 * Grafana dashboards: valid dashboard JSON the provisioning can load, every panel explained and wired to
 * the provisioned Prometheus datasource, and every series any expression reads (dashboards and rules)
 * exists: a series docs/metrics.md lists (histograms with their _bucket/_sum/_count) or a recording rule.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  allPanels,
  dashboardExpressions,
  documentedSeries,
  isKnownSeries,
  loadDashboards,
  metricNamesIn,
  recordingRuleNames,
  REPO_ROOT,
  ruleExpressions,
} from '../helpers/promql.js';

/** Series Prometheus adds itself for every target (not exported by the app, so not in docs/metrics.md). */
const PROMETHEUS_SERIES = new Set([
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'scrape_samples_post_metric_relabeling',
  'scrape_series_added',
]);
const PANEL_TYPES = new Set(['timeseries', 'stat', 'gauge', 'bargauge', 'table']);
/** Every panel, target and variable names the data source through the dashboard's `datasource` variable. */
const DS_UID = '${datasource}';
const EXPECTED = ['agents.json', 'capacity.json', 'service-quality.json', 'wallboard.json'];

describe('metricNamesIn', () => {
  it('finds metric and recording-rule names, and nothing else', () => {
    expect(metricNamesIn('sum by (queue) (rate(switchboard_calls_offered_total{queue=~"$queue",x="a b"}[5m])) * 3600').sort()).toEqual([
      'switchboard_calls_offered_total',
    ]);
    expect(
      metricNamesIn(
        'queue_after:abandoned_after_offered:ratio_rate1h / on (queue) group_left () (sum(rate(foo_total[$__range] offset 1h)) > 0) or vector(0.35)',
      ).sort(),
    ).toEqual(['foo_total', 'queue_after:abandoned_after_offered:ratio_rate1h']);
    expect(
      metricNamesIn('histogram_quantile(0.9, sum without (instance) (rate(x_bucket[1h]))) and on () (hour(vector(time() - 60)) == 9)'),
    ).toEqual(['x_bucket']);
    expect(metricNamesIn('1e-9 + Inf - NaN + avg_over_time((a:b:c > bool d)[7d:1h])').sort()).toEqual(['a:b:c', 'd']);
  });
});

describe('grafana dashboards', () => {
  const dashboards = loadDashboards();

  it('are the four dashboards, each parsing as JSON', () => {
    expect(dashboards.map((d) => d.file.split('/').pop()).sort()).toEqual(EXPECTED);
  });

  it('have a uid, a title and a current schema version', () => {
    const uids = new Set<string>();
    for (const { file, dashboard: d } of dashboards) {
      expect(d.uid, file).toMatch(/^[a-z0-9-]{1,40}$/);
      expect(d.title, file).toBeTruthy();
      expect(d.schemaVersion, file).toBeGreaterThanOrEqual(36);
      expect(uids.has(d.uid!), `${file}: duplicate uid ${d.uid}`).toBe(false);
      uids.add(d.uid!);
      expect(Array.isArray(d.panels) && d.panels.length > 0, file).toBe(true);
    }
  });

  it('have a datasource variable for Prometheus data sources, and no hard-wired data source uid', () => {
    for (const { file, dashboard: d } of dashboards) {
      const v = d.templating?.list?.find((x) => x.name === 'datasource');
      expect(v, file).toBeDefined();
      expect(v!.type).toBe('datasource');
      expect(v!.query).toBe('prometheus');
      // Anywhere in the file (panels, targets, variables, annotations): a data source is the variable.
      const raw = readFileSync(join(REPO_ROOT, file), 'utf8');
      const uids = [...raw.matchAll(/"uid":\s*"([^"]*)"/g)].map((m) => m[1]).filter((u) => u !== d.uid);
      expect(uids.length, file).toBeGreaterThan(10);
      expect(
        uids.filter((u) => u !== DS_UID),
        file,
      ).toEqual([]);
    }
  });

  it('have a queue variable from label_values(switchboard_calls_offered_total, queue) on the datasource variable', () => {
    for (const { file, dashboard: d } of dashboards) {
      const v = d.templating?.list?.find((x) => x.name === 'queue');
      expect(v, file).toBeDefined();
      expect(v!.type).toBe('query');
      expect(v!.datasource?.uid).toBe(DS_UID);
      const q = typeof v!.query === 'string' ? v!.query : (v!.query as { query: string }).query;
      expect(q.replace(/\s+/g, '')).toBe('label_values(switchboard_calls_offered_total,queue)');
    }
  });

  it('give every panel a unique id, a known type, a grid position, a description and Prometheus targets', () => {
    for (const { file, dashboard: d } of dashboards) {
      const ids = new Set<number>();
      for (const p of allPanels(d)) {
        const where = `${file} panel ${p.id} "${p.title}"`;
        expect(typeof p.id, where).toBe('number');
        expect(ids.has(p.id!), `${where}: duplicate id`).toBe(false);
        ids.add(p.id!);
        expect(p.title, where).toBeTruthy();
        const g = p.gridPos;
        expect(g && [g.h, g.w, g.x, g.y].every((n) => Number.isInteger(n) && n >= 0), `${where}: gridPos`).toBe(true);
        expect(g!.w >= 1 && g!.x + g!.w <= 24 && g!.h >= 1, `${where}: gridPos inside 24 columns`).toBe(true);
        if (p.type === 'row') {
          // A row only groups the panels under it: a full-width title bar, no query of its own.
          expect(g!.w === 24 && g!.h === 1, `${where}: row gridPos`).toBe(true);
          expect(p.targets, `${where}: row targets`).toBeUndefined();
          continue;
        }
        expect(PANEL_TYPES.has(p.type ?? ''), `${where}: type ${p.type}`).toBe(true);
        // The description says which definition the panel shows.
        expect(p.description ?? '', `${where}: description`).toMatch(/\S{3,}/);
        expect(p.description, `${where}: description cites docs/definitions.md or docs/metrics.md`).toMatch(
          /docs\/(definitions|metrics)\.md/,
        );
        expect(p.datasource?.uid, `${where}: datasource`).toBe(DS_UID);
        expect((p.targets ?? []).length, `${where}: targets`).toBeGreaterThan(0);
        const refIds = new Set<string>();
        for (const t of p.targets ?? []) {
          expect(typeof t.expr === 'string' && t.expr.trim().length > 0, `${where}: target ${t.refId} expr`).toBe(true);
          expect(t.datasource?.uid, `${where}: target ${t.refId} datasource`).toBe(DS_UID);
          expect(refIds.has(t.refId!), `${where}: duplicate refId ${t.refId}`).toBe(false);
          refIds.add(t.refId!);
        }
      }
    }
  });

  it('do not overlap panels', () => {
    for (const { file, dashboard: d } of dashboards) {
      const cells = new Map<string, number>();
      for (const p of allPanels(d)) {
        const g = p.gridPos!;
        for (let y = g.y; y < g.y + g.h; y++)
          for (let x = g.x; x < g.x + g.w; x++) {
            const k = `${x},${y}`;
            expect(cells.has(k), `${file}: panels ${cells.get(k)} and ${p.id} overlap at ${k}`).toBe(false);
            cells.set(k, p.id!);
          }
      }
    }
  });

  it('show the configured target and the labelled 35 % / 67 % caller-patience reference lines', () => {
    const quality = dashboardExpressions().filter((e) => e.file.endsWith('service-quality.json'));
    const raw = loadDashboards().find((d) => d.file.endsWith('service-quality.json'))!.dashboard;
    const legends = allPanels(raw).flatMap((p) =>
      (p.targets ?? []).map((t) => ({ expr: String(t.expr), legend: String(t.legendFormat ?? '') })),
    );
    expect(quality.some((e) => metricNamesIn(e.expr).includes('queue:service_level_target:max'))).toBe(true);
    for (const v of ['0.35', '0.67']) {
      const line = legends.find((l) => l.expr.replace(/\s/g, '') === `vector(${v})`);
      expect(line, `reference line ${v}`).toBeDefined();
      expect(line!.legend).toMatch(/reference/i);
    }
  });

  it('take targets from the series the app exports, never a literal', () => {
    const loaded = loadDashboards();
    const reference = new Set(['vector(0.35)', 'vector(0.67)']); // industry figures (docs/definitions.md), not configuration
    for (const { file, dashboard: d } of loaded) {
      for (const p of allPanels(d)) {
        const where = `${file} panel ${p.id} "${p.title}"`;
        // No "80 %" (the example file's target) in a title, a description or a legend.
        const texts = [p.title ?? '', p.description ?? '', ...(p.targets ?? []).map((t) => String(t.legendFormat ?? ''))];
        for (const t of texts) expect(t, where).not.toMatch(/\b80 ?%|80\/20/);
        for (const t of p.targets ?? []) {
          const e = String(t.expr ?? '').replace(/\s/g, '');
          // A constant line is either a labelled industry reference or nothing.
          if (/^vector\([\d.]+\)$/.test(e)) expect(reference.has(e), `${where}: constant ${e}`).toBe(true);
        }
        // Panels colouring a service level do it against the exported target, not a fixed step.
        const showsServiceLevel = (p.targets ?? []).some((t) => /service_level(_asterisk|_connect)?[a-z0-9_]*:ratio_/.test(String(t.expr)));
        const steps = (p.fieldConfig as { defaults?: { thresholds?: { mode?: string; steps?: { value: number | null }[] } } } | undefined)
          ?.defaults?.thresholds;
        if (showsServiceLevel && (steps?.steps ?? []).length > 1) {
          expect(steps!.mode, `${where}: thresholds relative to the target`).toBe('percentage');
          const cfg = (p.transformations as { id: string; options: { configRefId: string } }[] | undefined)?.find(
            (x) => x.id === 'configFromData',
          );
          expect(cfg, `${where}: target from query results`).toBeDefined();
          const t = (p.targets ?? []).find((x) => x.refId === cfg!.options.configRefId);
          expect(metricNamesIn(String(t?.expr))).toEqual(['queue:service_level_target:max']);
          expect(t!.legendFormat, `${where}: the target query's field is the max`).toBe('max');
        }
      }
    }
    const alerts = ruleExpressions().filter((r) => r.kind === 'alert' && r.name === 'SwitchboardServiceLevelBelowTarget');
    expect(alerts).toHaveLength(1);
    expect(metricNamesIn(alerts[0]!.expr)).toContain('queue:service_level_target:max');
    expect(alerts[0]!.expr).not.toMatch(/\d\.\d/);
  });

  it('count "today" in the call center\'s time zone, and say so on the panel', () => {
    for (const { file, dashboard: d } of loadDashboards()) {
      const vars = new Set((d.templating?.list ?? []).map((v) => v.name));
      for (const p of allPanels(d)) {
        const where = `${file} panel ${p.id} "${p.title}"`;
        expect(String(p.timeFrom ?? ''), `${where}: a relative day is the browser's day`).not.toMatch(/\/d/);
        expect(`${p.title} ${p.description}`, where).not.toMatch(/\bUTC\b/);
        if (/today/i.test(p.title ?? '')) {
          expect(p.title, where).toContain('$center_tz');
          expect(p.description, where).toContain('docs/definitions.md#today');
          expect(
            (p.targets ?? []).every((t) =>
              metricNamesIn(String(t.expr)).some((n) => /[:_]today$/.test(n) || n === 'queue:service_level_target:max'),
            ),
            where,
          ).toBe(true);
        }
        if (/\$center_tz/.test(`${p.title}`)) expect(vars.has('center_tz'), `${where}: $center_tz variable`).toBe(true);
      }
    }
    const capacity = dashboardExpressions().filter((e) => e.file.endsWith('capacity.json') && /\b(hour|day_of_week)\(/.test(e.expr));
    expect(capacity.length).toBe(24 + 7);
    for (const e of capacity) expect(metricNamesIn(e.expr), e.refId).toContain('center:utc_offset_seconds:max');
  });

  it('have a Server row with CPU, memory and event-loop lag per instance', () => {
    const wall = loadDashboards().find((d) => d.file.endsWith('wallboard.json'))!.dashboard;
    const panels = allPanels(wall);
    const row = panels.find((p) => p.type === 'row' && p.title === 'Server');
    expect(row).toBeDefined();
    const below = panels.filter((p) => p.type !== 'row' && p.gridPos!.y > row!.gridPos!.y);
    const names = below.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNamesIn(String(t.expr))));
    for (const n of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'switchboard_build_info',
    ])
      expect(names).toContain(n);
    for (const p of below)
      for (const t of p.targets ?? []) expect(String(t.legendFormat), `${p.title}: per instance`).toContain('{{instance}}');
  });

  it('use the recording rules for the measures that have one', () => {
    const used = new Set(dashboardExpressions().flatMap((e) => metricNamesIn(e.expr)));
    for (const name of [
      'queue:service_level:ratio_rate1h',
      'queue:service_level_asterisk:ratio_rate1h',
      'queue:service_level_asterisk_sl2:ratio_rate1h',
      'queue:service_level_connect:ratio_rate1h',
      'queue:asa_seconds:mean1h',
      'queue:abandonment:ratio_rate1h',
      'queue_after:abandoned_after_offered:ratio_rate1h',
      'queue_after:abandoned_after_reached:ratio_rate1h',
      'queue:aht_seconds:mean1h',
      'queue:talk_seconds:mean1h',
      'queue:hold_seconds:mean1h',
      'queue:wrapup_seconds:mean1h',
      'team:occupancy:ratio_rate1h',
      'queue:fcr_claimed:ratio_rate1d',
      'queue:fcr_verified:ratio_rate1d',
      'queue:overclaimed:ratio_rate1d',
      'flow:ivr_containment:ratio_rate1h',
      'center:csat:ratio_rate1d',
      'center:nps:score_rate1d',
      'center:ces:mean_rate1d',
      'center:ces_easy:ratio_rate1d',
      'survey:responses:ratio_rate1d',
      'queue:ewt_error_seconds:mean1h',
      'queue:arrivals_per_hour:rate1h',
      'queue:calls_waiting:max',
      'queue:longest_wait_seconds:max',
      'team_state:agents:max',
      'queue:agents_staffed:max',
      'queue_model:staffing_required_agents:max',
    ]) {
      expect(used.has(name), name).toBe(true);
    }
  });
});

describe('series names in expressions', () => {
  const documented = documentedSeries();
  const recorded = recordingRuleNames();

  it('reads the catalogue of docs/metrics.md', () => {
    expect(documented.size).toBeGreaterThan(40);
    expect(documented.get('switchboard_queue_wait_seconds')?.histogram).toBe(true);
    expect(documented.get('switchboard_calls_offered_total')?.histogram).toBe(false);
  });

  it('exist for every rule expression: documented series or recording rules', () => {
    const unknown = ruleExpressions().flatMap((r) =>
      metricNamesIn(r.expr)
        .filter((n) => !isKnownSeries(n, documented, recorded, PROMETHEUS_SERIES))
        .map((n) => `${r.file} ${r.name}: ${n}`),
    );
    expect(unknown).toEqual([]);
  });

  it('exist for every dashboard expression: documented series or recording rules', () => {
    const exprs = dashboardExpressions();
    expect(exprs.length).toBeGreaterThan(50);
    const unknown = exprs.flatMap((e) =>
      metricNamesIn(e.expr)
        .filter((n) => !isKnownSeries(n, documented, recorded, PROMETHEUS_SERIES))
        .map((n) => `${e.file} "${e.panelTitle}" ${e.refId}: ${n}`),
    );
    expect(unknown).toEqual([]);
  });

  it('keep every expression free of unsubstituted Grafana variables once substituted', () => {
    for (const e of dashboardExpressions()) expect(e.promql, `${e.file} ${e.panelTitle}`).not.toMatch(/\$/);
  });
});
