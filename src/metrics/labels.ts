/**
 * Label values must stay in bounded sets: anything outside the configured names is folded into "other"
 * (queues, teams, flows, IVR nodes, routes).
 */
import type { CenterConfig } from '../config/callcenter.js';

export interface Labels {
  queue(name: string): string;
  team(name: string | undefined): string;
  flow(name: string): string;
  node(flow: string, node: string): string;
  /** A route pattern (known /twilio/, /api/ routes, /metrics, /health), or "other". */
  route(r: string): string;
  /** The configured flows and languages (label values that are not folded, only filtered). */
  flows: ReadonlySet<string>;
  langs: ReadonlySet<string>;
  teams: ReadonlySet<string>;
}

export function createLabels(center: CenterConfig): Labels {
  const queues = new Set([...Object.keys(center.queues), 'none']);
  const flows = new Set(Object.keys(center.flows));
  const teams = new Set([...center.teams, 'default']);
  const langs = new Set(Object.keys(center.languages));
  const knownRoutes = new Set<string>();
  return {
    queue: (name) => (queues.has(name) ? name : 'other'),
    team: (name) => (name && teams.has(name) ? name : 'other'),
    flow: (name) => (flows.has(name) ? name : 'other'),
    node: (f, n) => (center.flows[f]?.nodes[n] ? n : 'other'),
    route(r) {
      // Route patterns come from registered routes; unknown URLs (404s) fold into one value.
      if (r.startsWith('/twilio/') || r.startsWith('/api/') || r === '/metrics' || r === '/health') {
        if (knownRoutes.size < 200) knownRoutes.add(r);
        return knownRoutes.has(r) ? r : 'other';
      }
      return 'other';
    },
    flows,
    langs,
    teams,
  };
}
