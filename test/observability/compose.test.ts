/**
 * docker-compose.yml, checked without a Docker engine: it validates against the Compose Specification
 * schema (a hand-written subset vendored in test/fixtures, see its $comment), and the services agree with
 * each other: mounted host paths exist, Prometheus scrapes the app service on its container port and reads
 * the rule files where its config says, Grafana's datasource points at the Prometheus service, and Redis
 * persists with an append-only file on a named volume.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from '../helpers/promql.js';

type Dict = Record<string, unknown>;
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | { target: number | string; published?: number | string })[];
  expose?: (string | number)[];
  volumes?: (string | { type: string; source?: string; target: string })[];
  depends_on?: string[] | Record<string, { condition: string }>;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, Dict | null>;
}

const read = (p: string) => readFileSync(join(REPO_ROOT, p), 'utf8');
const compose = parseYaml(read('docker-compose.yml')) as Compose;
const svc = (name: string): Service => {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml: no service ${name}`);
  return s;
};

/** Mounts of a service as { source, target, bind }, short and long syntax. */
function mounts(s: Service): { source: string; target: string; bind: boolean }[] {
  return (s.volumes ?? []).map((v) => {
    if (typeof v === 'string') {
      const [source, target] = v.split(':');
      return { source: source!, target: target!, bind: /^[./~]/.test(source!) };
    }
    return { source: v.source ?? '', target: v.target, bind: v.type === 'bind' };
  });
}

/** Environment as a map, list or map syntax. */
function env(s: Service): Record<string, string> {
  const e = s.environment ?? {};
  if (Array.isArray(e)) return Object.fromEntries(e.map((kv) => [kv.split('=')[0]!, kv.split('=').slice(1).join('=')]));
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, String(v ?? '')]));
}

/** Container ports a service publishes or exposes. */
function containerPorts(s: Service): number[] {
  const out: number[] = [];
  for (const p of s.ports ?? []) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') out.push(Number(p.replace(/\/(tcp|udp)$/, '').split(':').pop()));
    else out.push(Number(p.target));
  }
  for (const p of s.expose ?? []) out.push(Number(p));
  return out;
}

/** Host path of a container path, through the service's bind mounts (undefined when not mounted). */
function hostPathOf(s: Service, containerPath: string): string | undefined {
  const m = mounts(s)
    .filter((x) => x.bind && (containerPath === x.target || containerPath.startsWith(x.target + '/')))
    .sort((a, b) => b.target.length - a.target.length)[0];
  if (!m) return undefined;
  return join(REPO_ROOT, m.source, containerPath.slice(m.target.length));
}

/** "http://host:port/..." or "host:port" into host and port. */
function hostPort(s: string): { host: string; port: number } {
  const u = new URL(s.includes('://') ? s : `http://${s}`);
  return { host: u.hostname, port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)) };
}

describe('docker-compose.yml', () => {
  it('validates against the Compose Specification schema', () => {
    const schema = JSON.parse(read('test/fixtures/compose-spec.schema.json')) as Dict;
    expect(String(schema.$comment)).toMatch(/hand-written subset/i);
    const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strict: true });
    const validate = ajv.compile(schema);
    const ok = validate(compose);
    expect(ok, ajv.errorsText(validate.errors, { separator: '\n' })).toBe(true);

    // The schema is not vacuous: a misspelt service key and a bad depends_on condition are refused.
    const broken = structuredClone(compose) as unknown as { services: Record<string, Dict> };
    broken.services.app!.imagee = 'node:20';
    expect(validate(broken)).toBe(false);
    const badDep = structuredClone(compose) as unknown as { services: Record<string, Dict> };
    badDep.services.app!.depends_on = { redis: { condition: 'service_ready' } };
    expect(validate(badDep)).toBe(false);
  });

  it('has the app, redis, prometheus and grafana services', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['app', 'grafana', 'prometheus', 'redis']);
  });

  it('mounts only host paths that exist in the repository, and declares every named volume', () => {
    const declared = new Set(Object.keys(compose.volumes ?? {}));
    for (const [name, s] of Object.entries(compose.services)) {
      for (const m of mounts(s)) {
        if (m.bind) expect(existsSync(join(REPO_ROOT, m.source)), `${name}: host path ${m.source}`).toBe(true);
        else expect(declared.has(m.source), `${name}: named volume ${m.source} is not declared`).toBe(true);
      }
    }
  });

  it('builds the app from the Dockerfile in the repository (node:20-bookworm-slim, npm ci, tsx src/main.ts)', () => {
    const b = svc('app').build;
    const context = typeof b === 'string' ? b : (b?.context ?? '.');
    const dockerfile = typeof b === 'string' ? 'Dockerfile' : (b?.dockerfile ?? 'Dockerfile');
    const path = join(REPO_ROOT, context, dockerfile);
    expect(existsSync(path)).toBe(true);
    const text = readFileSync(path, 'utf8');
    expect(text).toMatch(/^FROM node:20-bookworm-slim\b/m);
    expect(text).toMatch(/^RUN npm ci\b/m);
    expect(text).toMatch(/^CMD \["npx", "tsx", "src\/main\.ts"\]/m);
    expect(existsSync(join(REPO_ROOT, context, '.dockerignore'))).toBe(true);
  });

  it('points the app at the redis service, with the Twilio settings overridable', () => {
    const e = env(svc('app'));
    const redis = hostPort(e.REDIS_URL!.replace(/^redis:/, 'http:'));
    expect(redis.host).toBe('redis');
    expect(redis.port).toBe(6379);
    for (const k of ['PUBLIC_BASE_URL', 'TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN']) expect(e[k], k).toMatch(/^\$\{[A-Z_]+:-.+\}$/);
  });

  it('has Prometheus scrape the app service on its container port', () => {
    const prom = parseYaml(read('prometheus.yml')) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
    const job = prom.scrape_configs.find((j) => j.job_name === 'switchboard')!;
    const targets = job.static_configs.flatMap((c) => c.targets);
    expect(targets.length).toBeGreaterThan(0);
    const app = svc('app');
    const port = Number(env(app).PORT ?? 3000);
    for (const t of targets) {
      const { host, port: p } = hostPort(t);
      expect(host).toBe('app');
      expect(p).toBe(port);
    }
    expect(containerPorts(app)).toContain(port);
  });

  it('gives Prometheus its config and the rule files at the paths the config names', () => {
    const p = svc('prometheus');
    const cmd = Array.isArray(p.command) ? p.command : (p.command ?? '').split(/\s+/);
    const configInContainer = cmd.find((a) => a.startsWith('--config.file='))?.slice('--config.file='.length) ?? '/etc/prometheus/prometheus.yml';
    const hostConfig = hostPathOf(p, configInContainer);
    expect(hostConfig, `${configInContainer} is not mounted`).toBe(join(REPO_ROOT, 'prometheus.yml'));
    const cfg = parseYaml(readFileSync(hostConfig!, 'utf8')) as { rule_files: string[] };
    for (const glob of cfg.rule_files) {
      const inContainer = posix.resolve(posix.dirname(configInContainer), glob);
      const onHost = hostPathOf(p, posix.dirname(inContainer));
      expect(onHost, `${inContainer}: its directory is not mounted`).toBeDefined();
      const pattern = new RegExp('^' + posix.basename(inContainer).replace(/\./g, '\\.').replace(/\*/g, '.*') + '$');
      const files = readdirSync(onHost!).filter((f) => pattern.test(f));
      expect(files.length, `${glob}: no rule file mounted`).toBeGreaterThan(0);
    }
    expect(containerPorts(p)).toContain(9090);
  });

  it('points the Grafana datasource at the prometheus service and port, and mounts the dashboards where the provider reads them', () => {
    const ds = parseYaml(read('grafana/provisioning/datasources/prometheus.yml')) as { datasources: { uid: string; type: string; url: string }[] };
    const prom = ds.datasources.find((d) => d.uid === 'prometheus');
    expect(prom?.type).toBe('prometheus');
    const { host, port } = hostPort(prom!.url);
    expect(Object.keys(compose.services)).toContain(host);
    expect(host).toBe('prometheus');
    const listen = (svc('prometheus').command as string[] | undefined)?.find((a) => a.startsWith('--web.listen-address='));
    expect(port).toBe(listen ? hostPort(listen.split('=')[1]!).port : 9090);

    const g = svc('grafana');
    expect(hostPathOf(g, '/etc/grafana/provisioning/datasources/prometheus.yml')).toBe(join(REPO_ROOT, 'grafana/provisioning/datasources/prometheus.yml'));
    const prov = parseYaml(read('grafana/provisioning/dashboards/switchboard.yml')) as { providers: { type: string; options: { path: string } }[] };
    const dashboardsPath = prov.providers[0]!.options.path;
    expect(dashboardsPath).toBe('/var/lib/grafana/dashboards');
    expect(hostPathOf(g, dashboardsPath)).toBe(join(REPO_ROOT, 'grafana/dashboards'));
    expect(hostPathOf(g, `${dashboardsPath}/wallboard.json`)).toBe(join(REPO_ROOT, 'grafana/dashboards/wallboard.json'));
    expect(containerPorts(g)).toContain(3000);
    expect((g.ports ?? []).map(String)).toContain('3001:3000');
  });

  it('runs Redis with append-only persistence on a named volume', () => {
    const r = svc('redis');
    expect(r.image).toMatch(/^redis:7/);
    const cmd = Array.isArray(r.command) ? r.command.join(' ') : (r.command ?? '');
    expect(cmd).toMatch(/--appendonly\s+yes/);
    const data = mounts(r).find((m) => m.target === '/data');
    expect(data?.bind).toBe(false);
    expect(Object.keys(compose.volumes ?? {})).toContain(data!.source);
  });

  it('starts the app once Redis is healthy', () => {
    const dep = svc('app').depends_on as Record<string, { condition: string }>;
    expect(dep.redis?.condition).toBe('service_healthy');
    expect(svc('redis')).toHaveProperty('healthcheck');
  });
});
