/**
 * docker-compose.yml, checked without a Docker engine: it validates against the Compose Specification
 * schema (a hand-written subset vendored in test/fixtures, see its $comment), and the services agree with
 * each other: mounted host paths exist, Prometheus scrapes the app service on its container port and reads
 * the rule files where its config says and sends alerts to the Alertmanager service, Grafana's datasource
 * points at the Prometheus service, and Redis persists with an append-only file on a named volume.
 * Production form: images pinned to exact current versions, the Dockerfile multi-stage on a Node LTS
 * running `node dist/main.js` as a non-root user, a stop grace period above the app's drain, the
 * call-center file mounted read-only, the monitoring UIs bound to loopback, a required Grafana password.
 * The real binaries check what they can without Docker: `promtool check config` and `amtool check-config`.
 */
import { execFileSync } from 'node:child_process';
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
  volumes?: (string | { type: string; source?: string; target: string; read_only?: boolean })[];
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
function mounts(s: Service): { source: string; target: string; bind: boolean; readOnly: boolean }[] {
  return (s.volumes ?? []).map((v) => {
    if (typeof v === 'string') {
      const [source, target, mode] = v.split(':');
      return { source: source!, target: target!, bind: /^[./~]/.test(source!), readOnly: mode === 'ro' };
    }
    // `${VAR:-default}`: the default, which is what runs when the variable is not set.
    return {
      source: (v.source ?? '').replace(/^\$\{[A-Z_]+:-(.+)\}$/, '$1'),
      target: v.target,
      bind: v.type === 'bind',
      readOnly: v.read_only === true,
    };
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
    else if (typeof p === 'string')
      out.push(
        Number(
          p
            .replace(/\/(tcp|udp)$/, '')
            .split(':')
            .pop(),
        ),
      );
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

  it('has the app, redis, prometheus, alertmanager and grafana services', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['alertmanager', 'app', 'grafana', 'prometheus', 'redis']);
  });

  it('pins every image to an exact current version', () => {
    expect(svc('redis').image).toMatch(/^redis:(7\.4|8\.\d+)\.\d+(-[a-z0-9]+)?$/);
    expect(svc('prometheus').image).toMatch(/^prom\/prometheus:v3\.\d+\.\d+$/);
    expect(svc('alertmanager').image).toMatch(/^prom\/alertmanager:v0\.\d+\.\d+$/);
    expect(svc('grafana').image).toMatch(/^grafana\/grafana:12\.\d+\.\d+$/);
  });

  it('gives the app a stop grace period above its 25 s drain, an init, and the call-center file read-only', () => {
    const app = svc('app') as Service & { stop_grace_period?: string; init?: boolean };
    const grace = /^(\d+)s$/.exec(app.stop_grace_period ?? '');
    expect(grace, 'stop_grace_period in seconds').not.toBeNull();
    expect(Number(grace![1])).toBeGreaterThan(25);
    expect(readFileSync(join(REPO_ROOT, 'src/main.ts'), 'utf8')).toMatch(/const DRAIN_MS = 25_000;/);
    expect(app.init).toBe(true);
    const configPath = env(app).SWITCHBOARD_CONFIG!;
    const mount = mounts(app).find((m) => m.target === configPath);
    expect(mount, `${configPath} is mounted`).toBeDefined();
    expect(mount!.bind && mount!.readOnly).toBe(true);
    expect(existsSync(join(REPO_ROOT, mount!.source))).toBe(true);
  });

  it('binds Prometheus, Alertmanager and Grafana to 127.0.0.1 unless told otherwise; Grafana needs an admin password', () => {
    for (const name of ['prometheus', 'alertmanager', 'grafana']) {
      for (const p of svc(name).ports ?? []) expect(String(p), name).toMatch(/^\$\{[A-Z]+_BIND:-127\.0\.0\.1\}:\d+:\d+$/);
    }
    const g = env(svc('grafana'));
    expect(g.GF_SECURITY_ADMIN_PASSWORD).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD:\?.+\}$/);
    expect(g.GF_AUTH_ANONYMOUS_ENABLED).toBe('${GRAFANA_ANONYMOUS:-false}');
  });

  it('has Prometheus send alerts to the alertmanager service, whose config amtool accepts with a receiver', () => {
    const prom = parseYaml(read('prometheus.yml')) as { alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] } };
    const targets = prom.alerting.alertmanagers.flatMap((a) => a.static_configs.flatMap((c) => c.targets));
    expect(targets).toEqual(['alertmanager:9093']);
    const am = svc('alertmanager');
    expect(containerPorts(am)).toContain(9093);
    const cmd = am.command as string[];
    const configInContainer = cmd.find((a) => a.startsWith('--config.file='))!.slice('--config.file='.length);
    const hostConfig = hostPathOf(am, configInContainer);
    expect(hostConfig).toBe(join(REPO_ROOT, 'alertmanager/alertmanager.yml'));
    const out = execFileSync('amtool', ['check-config', hostConfig!], { encoding: 'utf8' });
    expect(out).toContain('SUCCESS');
    const cfg = parseYaml(readFileSync(hostConfig!, 'utf8')) as {
      route: { receiver: string };
      receivers: { name: string; webhook_configs?: { url: string }[] }[];
    };
    expect(cfg.receivers.map((r) => r.name)).toContain(cfg.route.receiver);
    expect(cfg.receivers[0]!.webhook_configs?.[0]?.url).toMatch(/\.invalid\//);
    expect(execFileSync('promtool', ['check', 'config', join(REPO_ROOT, 'prometheus.yml')], { encoding: 'utf8' })).toMatch(
      /SUCCESS: .*prometheus\.yml is valid/,
    );
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

  it('builds the app from a multi-stage Dockerfile: Node LTS pinned, production dependencies, non-root, node dist/main.js, health check', () => {
    const b = svc('app').build;
    const context = typeof b === 'string' ? b : (b?.context ?? '.');
    const dockerfile = typeof b === 'string' ? 'Dockerfile' : (b?.dockerfile ?? 'Dockerfile');
    const path = join(REPO_ROOT, context, dockerfile);
    expect(existsSync(path)).toBe(true);
    const text = readFileSync(path, 'utf8');
    const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f).toMatch(/^node:(22|24)\.\d+\.\d+-bookworm-slim$/);
    expect(text).toMatch(/^RUN npm run build\b/m);
    expect(text).toMatch(/^RUN npm ci --omit=dev\b/m);
    const final = text.slice(text.lastIndexOf('\nFROM '));
    expect(final).toMatch(/^COPY --from=\S+ \/app\/dist \.\/dist$/m);
    expect(final).not.toMatch(/^COPY (src|config)\b/m);
    expect(final).toMatch(/^USER node$/m);
    expect(final).toMatch(/^HEALTHCHECK .*\n?.*\/health/m);
    expect(final).toMatch(/^CMD \["node", "dist\/main\.js"\]$/m);
    expect(text).not.toMatch(/^(CMD|ENTRYPOINT) .*\b(npm|npx|tsx)\b/m);
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
    const configInContainer =
      cmd.find((a) => a.startsWith('--config.file='))?.slice('--config.file='.length) ?? '/etc/prometheus/prometheus.yml';
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
    const ds = parseYaml(read('grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: { uid: string; type: string; url: string }[];
    };
    const prom = ds.datasources.find((d) => d.uid === 'prometheus');
    expect(prom?.type).toBe('prometheus');
    const { host, port } = hostPort(prom!.url);
    expect(Object.keys(compose.services)).toContain(host);
    expect(host).toBe('prometheus');
    const listen = (svc('prometheus').command as string[] | undefined)?.find((a) => a.startsWith('--web.listen-address='));
    expect(port).toBe(listen ? hostPort(listen.split('=')[1]!).port : 9090);

    const g = svc('grafana');
    expect(hostPathOf(g, '/etc/grafana/provisioning/datasources/prometheus.yml')).toBe(
      join(REPO_ROOT, 'grafana/provisioning/datasources/prometheus.yml'),
    );
    const prov = parseYaml(read('grafana/provisioning/dashboards/switchboard.yml')) as {
      providers: { type: string; options: { path: string } }[];
    };
    const dashboardsPath = prov.providers[0]!.options.path;
    expect(dashboardsPath).toBe('/var/lib/grafana/dashboards');
    expect(hostPathOf(g, dashboardsPath)).toBe(join(REPO_ROOT, 'grafana/dashboards'));
    expect(hostPathOf(g, `${dashboardsPath}/wallboard.json`)).toBe(join(REPO_ROOT, 'grafana/dashboards/wallboard.json'));
    expect(containerPorts(g)).toContain(3000);
    expect((g.ports ?? []).map(String)).toContain('${GRAFANA_BIND:-127.0.0.1}:3001:3000');
  });

  it('runs Redis with append-only persistence on a named volume', () => {
    const r = svc('redis');
    expect(r.image).toMatch(/^redis:(7\.4|8)\./);
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
