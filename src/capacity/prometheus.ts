/**
 * A small client for Prometheus' HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/):
 * range queries of one aggregated series and label values. Failures are PlanErrors naming Prometheus'
 * address and what went wrong, so the CLI and /api/plan can say it plainly.
 */
import { PlanError } from './plan-error.js';

/** Prometheus refuses range queries of more than 11,000 points per series; stay below it. */
const MAX_POINTS = 10_000;

export interface PrometheusClient {
  readonly url: string;
  /**
   * The value of `expr` (one series, e.g. a `sum(...)`) at `start`, `start + step`, … up to `end` (seconds):
   * one entry per step, null where Prometheus has no value.
   */
  rangeValues(expr: string, start: number, end: number, step: number): Promise<(number | null)[]>;
  /** Values of `label` on series matching `match` between start and end (seconds). */
  labelValues(label: string, match: string, start: number, end: number): Promise<string[]>;
}

interface ApiAnswer<T> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
}

/** A client for the Prometheus at `url`; each request times out after `timeoutMs` (default 20 s). */
export function createPrometheusClient(url: string, opts: { timeoutMs?: number } = {}): PrometheusClient {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new PlanError('bad_request', `--prometheus: not a URL: "${url}"`, 'prometheus');
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new PlanError('bad_request', `--prometheus: must be an http:// or https:// URL (got "${url}")`, 'prometheus');
  const root = url.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 20_000;

  // query_range takes POST (long expressions); the label values endpoint is GET only.
  async function get<T>(path: string, params: URLSearchParams, method: 'GET' | 'POST' = 'POST'): Promise<T> {
    let response: Response;
    try {
      response =
        method === 'POST'
          ? await fetch(`${root}${path}`, {
              method,
              headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
              body: params,
              signal: AbortSignal.timeout(timeoutMs),
            })
          : await fetch(`${root}${path}?${params.toString()}`, {
              headers: { accept: 'application/json' },
              signal: AbortSignal.timeout(timeoutMs),
            });
    } catch (e) {
      // fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, a timeout, a bad port) is its cause.
      const inner = e instanceof Error ? (e.cause as { code?: string; message?: string } | undefined) : undefined;
      const cause = inner?.code ?? inner?.message ?? (e instanceof Error ? e.message : String(e));
      throw new PlanError('prometheus_unreachable', `cannot reach Prometheus at ${root}: ${cause}`);
    }
    let body: ApiAnswer<T>;
    try {
      body = (await response.json()) as ApiAnswer<T>;
    } catch {
      throw new PlanError(
        'prometheus_unreachable',
        `${root} answered ${response.status} without a Prometheus API answer (is it Prometheus?)`,
      );
    }
    if (body.status !== 'success' || body.data === undefined) {
      throw new PlanError(
        'prometheus_failed',
        `Prometheus at ${root} answered ${response.status} (${body.errorType ?? 'error'}): ${body.error ?? 'no detail'}`,
      );
    }
    return body.data;
  }

  return {
    url: root,
    async rangeValues(expr, start, end, step) {
      const n = Math.floor((end - start) / step) + 1;
      const out = new Array<number | null>(Math.max(0, n)).fill(null);
      for (let first = 0; first < n; first += MAX_POINTS) {
        const last = Math.min(n - 1, first + MAX_POINTS - 1);
        const params = new URLSearchParams({
          query: expr,
          start: String(start + first * step),
          end: String(start + last * step),
          step: String(step),
        });
        const data = await get<{ resultType: string; result: { values: [number, string][] }[] }>('/api/v1/query_range', params);
        if (data.result.length > 1) throw new PlanError('prometheus_failed', `expected one series from ${expr}, got ${data.result.length}`);
        for (const [t, v] of data.result[0]?.values ?? []) {
          const i = Math.round((t - start) / step);
          const x = Number(v);
          if (i >= 0 && i < n && Number.isFinite(x)) out[i] = x;
        }
      }
      return out;
    },
    async labelValues(label, match, start, end) {
      const params = new URLSearchParams({ start: String(start), end: String(end) });
      params.append('match[]', match);
      return get<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values`, params, 'GET');
    },
  };
}
