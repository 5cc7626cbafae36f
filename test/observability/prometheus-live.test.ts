/**
 * Self-test of test/helpers/prometheus.ts: a real Prometheus started with the repository's rules scrapes a
 * tiny HTTP server serving a fixed `switchboard_up 1`, and the series comes back through the HTTP API.
 * (The full check, every dashboard expression against a Prometheus scraping the real app, builds on this.)
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { ruleExpressions } from '../helpers/promql.js';
import { freePort } from '../setup/global-redis.js';

const METRICS = '# HELP switchboard_up 1 while the process serves.\n# TYPE switchboard_up gauge\nswitchboard_up 1\n';

describe('startPrometheus', () => {
  let server: Server;
  let target: string;
  let prom: RunningPrometheus | undefined;

  beforeAll(async () => {
    const port = await freePort();
    server = createServer((req, res) => {
      if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(METRICS);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    target = `127.0.0.1:${port}`;
    prom = await startPrometheus({ targets: [target], scrapeIntervalSeconds: 1 });
  });

  afterAll(async () => {
    await prom?.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('scrapes the target and answers switchboard_up through the query API', async () => {
    const samples = await prom!.waitForSeries('switchboard_up');
    expect(samples).toHaveLength(1);
    expect(samples[0]!.metric).toMatchObject({ __name__: 'switchboard_up', job: 'switchboard', instance: target });
    expect(samples[0]!.value[1]).toBe('1');
    const up = await prom!.waitForSeries('up{job="switchboard"}');
    expect(up[0]!.value[1]).toBe('1');
  });

  it('loaded every rule of prometheus/rules', async () => {
    const r = await fetch(`${prom!.url}/api/v1/rules`);
    const body = (await r.json()) as { data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } };
    const loaded = body.data.groups.flatMap((g) => g.rules);
    expect(loaded.map((x) => x.name).sort()).toEqual(
      ruleExpressions()
        .map((x) => x.name)
        .sort(),
    );
    expect(loaded.filter((x) => x.health === 'err').map((x) => `${x.name}: ${x.lastError}`)).toEqual([]);
  });

  it("reports a query error with Prometheus' message", async () => {
    await expect(prom!.query('sum(')).rejects.toThrow(/bad_data/);
  });
});
