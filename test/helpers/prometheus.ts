/**
 * Start a real Prometheus (the Debian package's /usr/bin/prometheus, or $PROMETHEUS_BIN) for a test: a
 * temporary config with the repository's prometheus.yml settings and rule files (absolute paths) but the
 * test's own scrape targets and interval, a temporary TSDB, a free port on 127.0.0.1. Resolves once
 * /-/ready answers 200.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { freePort } from '../setup/global-redis.js';
import { REPO_ROOT } from './promql.js';

export const PROMETHEUS_CONFIG = join(REPO_ROOT, 'prometheus.yml');

export interface PrometheusOptions {
  /** host:port of each target to scrape (job `switchboard`). */
  targets: string[];
  /** Scrape and rule-evaluation interval; default 1 s. */
  scrapeIntervalSeconds?: number;
  /** The config whose rule_files and job settings are copied; default prometheus.yml at the repository root. */
  baseConfig?: string;
  /**
   * An existing TSDB to open (e.g. blocks backfilled with promtool), with a retention long enough to keep
   * old blocks; the caller owns (and deletes) it. Default: a new TSDB deleted on stop.
   */
  tsdb?: string;
}

export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface RunningPrometheus {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Instant query through /api/v1/query; throws with Prometheus' error message when the query fails. */
  query(expr: string, time?: number): Promise<{ resultType: string; result: VectorSample[] | unknown }>;
  /** Poll an instant query until it returns at least one sample (or the timeout passes). */
  waitForSeries(expr: string, timeoutMs?: number): Promise<VectorSample[]>;
  /** Stop the process and delete its config and TSDB. */
  stop(): Promise<void>;
}

interface ScrapeConfig {
  job_name: string;
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  [k: string]: unknown;
}
interface PromConfig {
  global?: Record<string, unknown>;
  rule_files?: string[];
  scrape_configs?: ScrapeConfig[];
  [k: string]: unknown;
}

/**
 * The config a test Prometheus runs: `baseConfig` with rule_files made absolute (relative paths are
 * relative to the config file's directory, as Prometheus reads them), the `switchboard` job's targets
 * replaced, and intervals set for a test.
 */
export function testPrometheusConfig(opts: PrometheusOptions): PromConfig {
  const base = opts.baseConfig ?? PROMETHEUS_CONFIG;
  const cfg = parseYaml(readFileSync(base, 'utf8')) as PromConfig;
  const interval = opts.scrapeIntervalSeconds ?? 1;
  const timeout = Math.min(interval, 10);
  const job = cfg.scrape_configs?.find((j) => j.job_name === 'switchboard');
  if (!job) throw new Error(`${base}: no scrape job "switchboard"`);
  return {
    global: { ...cfg.global, scrape_interval: `${interval}s`, scrape_timeout: `${timeout}s`, evaluation_interval: `${interval}s` },
    rule_files: (cfg.rule_files ?? []).map((f) => (isAbsolute(f) ? f : resolve(dirname(base), f))),
    scrape_configs: [
      {
        ...job,
        scrape_interval: `${interval}s`,
        scrape_timeout: `${timeout}s`,
        static_configs: [{ targets: opts.targets }],
      },
    ],
  };
}

function prometheusBinary(): string {
  if (process.env.PROMETHEUS_BIN) return process.env.PROMETHEUS_BIN;
  return existsSync('/usr/bin/prometheus') ? '/usr/bin/prometheus' : 'prometheus';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startPrometheus(opts: PrometheusOptions): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-prometheus-'));
  const configPath = join(dir, 'prometheus.yml');
  writeFileSync(configPath, stringifyYaml(testPrometheusConfig(opts)));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn(
    prometheusBinary(),
    [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${opts.tsdb ?? join(dir, 'data')}`,
      ...(opts.tsdb ? ['--storage.tsdb.retention.time=100y'] : []),
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  };
  proc.stdout?.on('data', collect);
  proc.stderr?.on('data', collect);
  let exited: string | undefined;
  const exitPromise = new Promise<void>((res) => {
    proc.on('exit', (code, signal) => {
      exited = `exited with ${code ?? signal}`;
      res();
    });
    proc.on('error', (e) => {
      exited = `failed to start: ${e.message}`;
      res();
    });
  });

  const stop = async () => {
    if (!exited) {
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exitPromise;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  // Wait for /-/ready (the TSDB is open and the config, rules included, is loaded).
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`prometheus ${exited}:\n${output}`);
    }
    try {
      const r = await fetch(`${url}/-/ready`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready on ${url} after 30 s:\n${output}`);
    }
    await sleep(100);
  }

  const query: RunningPrometheus['query'] = async (expr, time) => {
    const params = new URLSearchParams({ query: expr });
    if (time !== undefined) params.set('time', String(time));
    const r = await fetch(`${url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: params,
    });
    const body = (await r.json()) as { status: string; data?: { resultType: string; result: unknown }; errorType?: string; error?: string };
    if (body.status !== 'success' || !body.data)
      throw new Error(`query failed (${body.errorType ?? r.status}): ${body.error ?? ''}\n  ${expr}`);
    return body.data as { resultType: string; result: VectorSample[] | unknown };
  };

  const waitForSeries: RunningPrometheus['waitForSeries'] = async (expr, timeoutMs = 20_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const data = await query(expr);
      if (data.resultType === 'vector' && Array.isArray(data.result) && data.result.length > 0) return data.result as VectorSample[];
      if (Date.now() > until) throw new Error(`no sample for ${expr} after ${timeoutMs} ms`);
      await sleep(250);
    }
  };

  return { url, query, waitForSeries, stop };
}
