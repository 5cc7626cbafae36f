/**
 * A plain discrete-event simulation of M/M/N+M (Poisson arrivals, N agents, exponential handle times,
 * exponential patience, first come first served): the reference the Erlang A check uses to know how far a
 * finite run may fall from the formulas by chance alone. Pure and seeded.
 */
import { erlangA } from './erlang.js';

export interface MmnmInput {
  agents: number;
  arrivalsPerHour: number;
  ahtSeconds: number;
  patienceSeconds: number;
  targetSeconds: number;
  /** Calls measured (after `warmupCalls` discarded). */
  calls: number;
  warmupCalls?: number;
  seed: number;
}

export interface MmnmRun {
  offered: number;
  serviceLevel: number;
  abandonment: number;
  asaSeconds: number;
  /** The run's own parameters: arrival rate, mean handle time of answered calls, mean patience drawn. */
  realised: { arrivalsPerHour: number; ahtSeconds: number; patienceSeconds: number };
}

/** Uniform (0, 1) from a 32-bit seed (mulberry32). */
function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
}

/**
 * One run. FCFS with abandonment: callers are served in arrival order, each by the agent free first; a
 * caller whose wait for that agent would exceed their patience abandons and takes no agent time.
 */
export function simulateMmnm(o: MmnmInput): MmnmRun {
  const u = uniform(o.seed);
  const exp = (mean: number) => -mean * Math.log(u());
  const free = new Array<number>(o.agents).fill(0);
  const warm = o.warmupCalls ?? 0;
  let t = 0;
  let first = 0;
  let offered = 0;
  let answered = 0;
  let abandoned = 0;
  let within = 0;
  let waitSum = 0;
  let handleSum = 0;
  let patienceSum = 0;
  for (let i = 0; i < warm + o.calls; i++) {
    t += exp(3600 / o.arrivalsPerHour);
    const patience = exp(o.patienceSeconds);
    let k = 0;
    for (let j = 1; j < o.agents; j++) if (free[j]! < free[k]!) k = j;
    const wait = Math.max(t, free[k]!) - t;
    const counted = i >= warm;
    if (i === warm) first = t;
    if (counted) {
      offered++;
      patienceSum += patience;
    }
    if (wait > patience) {
      if (counted) abandoned++;
      continue;
    }
    const handle = exp(o.ahtSeconds);
    free[k] = t + wait + handle;
    if (counted) {
      answered++;
      waitSum += wait;
      handleSum += handle;
      if (wait <= o.targetSeconds) within++;
    }
  }
  return {
    offered,
    serviceLevel: within / offered,
    abandonment: abandoned / offered,
    asaSeconds: waitSum / answered,
    realised: {
      arrivalsPerHour: ((offered - 1) * 3600) / (t - first),
      ahtSeconds: handleSum / answered,
      patienceSeconds: patienceSum / offered,
    },
  };
}

export interface Spread {
  mean: number;
  sd: number;
}

/**
 * Many runs: mean and standard deviation of each measure, as is (against Erlang A at the nominal
 * parameters) and against Erlang A at each run's realised parameters (ASA as a relative difference).
 */
export function mmnmSpread(
  o: Omit<MmnmInput, 'seed'>,
  runs: number,
  seed = 1,
): {
  nominal: Record<'serviceLevel' | 'abandonment' | 'asaRelative', Spread>;
  realised: Record<'serviceLevel' | 'abandonment' | 'asaRelative', Spread>;
} {
  const model = erlangA({
    arrivalsPerHour: o.arrivalsPerHour,
    ahtSeconds: o.ahtSeconds,
    agents: o.agents,
    targetSeconds: o.targetSeconds,
    patienceSeconds: o.patienceSeconds,
  });
  const nominal = { serviceLevel: [] as number[], abandonment: [] as number[], asaRelative: [] as number[] };
  const realised = { serviceLevel: [] as number[], abandonment: [] as number[], asaRelative: [] as number[] };
  for (let i = 0; i < runs; i++) {
    const r = simulateMmnm({ ...o, seed: seed + i * 7919 });
    const m = erlangA({ ...r.realised, agents: o.agents, targetSeconds: o.targetSeconds });
    nominal.serviceLevel.push(r.serviceLevel - model.serviceLevel);
    nominal.abandonment.push(r.abandonment - model.abandonProbability);
    nominal.asaRelative.push(r.asaSeconds / model.asaSeconds - 1);
    realised.serviceLevel.push(r.serviceLevel - m.serviceLevel);
    realised.abandonment.push(r.abandonment - m.abandonProbability);
    realised.asaRelative.push(r.asaSeconds / m.asaSeconds - 1);
  }
  const spread = (xs: number[]): Spread => {
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    return { mean, sd: Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1)) };
  };
  const all = (g: typeof nominal) => ({
    serviceLevel: spread(g.serviceLevel),
    abandonment: spread(g.abandonment),
    asaRelative: spread(g.asaRelative),
  });
  return { nominal: all(nominal), realised: all(realised) };
}
