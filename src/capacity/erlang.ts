/**
 * Staffing models for a single queue with Poisson arrivals and exponential handle times.
 *
 * - Erlang B (M/M/N/N) and Erlang C (M/M/N): Erlang B comes from its recursion, which never overflows,
 *   and Erlang C is derived from it, so hundreds of agents are as safe as ten.
 * - Erlang A (M/M/N+M, Palm's model): callers abandon after an exponential patience with mean
 *   `patienceSeconds`. Closed forms follow Mandelbaum & Zeltyn, "The M/M/n+G queue: summary of performance
 *   measures" (Technion technical note) and Garnett, Mandelbaum & Reiman, "Designing a call center with impatient
 *   customers" (MSOM 4(3), 2002). With λ the arrival rate, μ = 1/AHT, θ = 1/patience, a = Nμ/θ, x = λ/θ,
 *   everything reduces to Erlang B and the scaled incomplete gamma function
 *   M(b, y) = e^y · y^-b · γ(b, y) = Σ_k y^k / (b(b+1)…(b+k)), evaluated here in log space with its
 *   derivative in b (needed for the mean wait of answered calls).
 *
 * Units: arrivals per hour, seconds for everything else; rates are per second internally.
 */

const SECONDS_PER_HOUR = 3600;
/** Relative tolerance of the series and continued fractions: a few ulps. */
const EPS = 1e-15;
/** Lentz's guard against a zero denominator. */
const FPMIN = 1e-300;
/** Far beyond any realistic call centre; only there so a bug cannot spin forever. */
const MAX_ITERATIONS = 50_000_000;

// ---------------------------------------------------------------------------------------------------------
// Input validation

function finite(name: string, value: number, min: number, strictlyAbove = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || (strictlyAbove ? value <= min : value < min)) {
    throw new RangeError(`${name} must be a finite number ${strictlyAbove ? '>' : '≥'} ${min} (got ${String(value)})`);
  }
  return value;
}

function count(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be an integer ≥ 0 (got ${String(value)})`);
  return value;
}

// ---------------------------------------------------------------------------------------------------------
// Special functions

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
/** Below this the Stirling series is not accurate to double precision, so arguments are shifted up first. */
const STIRLING_MIN = 10;

/** lnΓ(z) − [(z − ½)ln z − z + ½ln 2π] for z ≥ 10: Stirling's series, accurate to ~1e-17 there. */
function stirlingTail(z: number): number {
  const w = 1 / (z * z);
  return (
    (1 / 12 +
      w * (-1 / 360 + w * (1 / 1260 + w * (-1 / 1680 + w * (1 / 1188 + w * (-691 / 360360 + w * (1 / 156 + w * (-3617 / 122400)))))))) /
    z
  );
}

/** ψ(z) − ln z for z ≥ 10 (asymptotic series; the ln z is kept out so callers can cancel it exactly). */
function digammaMinusLogLarge(z: number): number {
  const w = 1 / (z * z);
  return -0.5 / z - w * (1 / 12 + w * (-1 / 120 + w * (1 / 252 + w * (-1 / 240 + w * (1 / 132 + w * (-691 / 32760 + w * (1 / 12)))))));
}

/** ln Γ(z) for z > 0. */
export function logGamma(z: number): number {
  finite('z', z, 0, true);
  let shift = 0;
  let product = 1;
  while (z + shift < STIRLING_MIN) {
    product *= z + shift;
    shift++;
  }
  const w = z + shift;
  return (w - 0.5) * Math.log(w) - w + HALF_LOG_2PI + stirlingTail(w) - Math.log(product);
}

/** ψ(b) − ln y, computed so that the two nearly equal logarithms cancel without losing digits. */
function digammaMinusLog(b: number, y: number): number {
  if (b >= STIRLING_MIN) return digammaMinusLogLarge(b) - Math.log1p((y - b) / b);
  let correction = 0;
  let z = b;
  while (z < STIRLING_MIN) {
    correction += 1 / z;
    z++;
  }
  return digammaMinusLogLarge(z) + Math.log(z) - correction - Math.log(y);
}

/**
 * ln(e^y · y^-b · Γ(b)), the normaliser between M(b, y) and the regularised incomplete gamma functions.
 * For large b it is written as b·(r − ln(1 + r)) + … with r = (y − b)/b, because y and b ln y are both huge
 * while their difference (what matters) is not.
 */
function logScaledGamma(b: number, y: number): number {
  if (b >= STIRLING_MIN) {
    const r = (y - b) / b;
    return b * (r - Math.log1p(r)) + 0.5 * Math.log((2 * Math.PI) / b) + stirlingTail(b);
  }
  return y - b * Math.log(y) + logGamma(b);
}

interface LogKummer {
  /** ln M(b, y) */
  log: number;
  /** ∂/∂b ln M(b, y) */
  dlog: number;
  /** ln(e^y y^-b Γ(b)) − ln M(b, y) = −ln P(b, y), kept for the regularised gamma functions. */
  upperOverScale: number;
}

/**
 * M(b, y) = e^y y^-b γ(b, y) and its b-derivative, in log space.
 * Numerical Recipes' split (gser for y < b + 1, gcf otherwise): the series then has ratios below one from
 * its second term on, and the continued fraction converges fast; the derivative is carried along as a dual
 * number through the same recurrences, so it needs no separate (and cancellation-prone) formula.
 */
function logKummer(b: number, y: number): LogKummer {
  if (y < b + 1) {
    let term = 1 / b;
    let h = -1 / b; // ∂/∂b ln(term)
    let sum = term;
    let dsum = term * h;
    for (let k = 1; k < MAX_ITERATIONS; k++) {
      term *= y / (b + k);
      h -= 1 / (b + k);
      sum += term;
      dsum += term * h;
      // The later ratios are all ≤ r < 1, so these geometric bounds cover the whole tail.
      const r = y / (b + k + 1);
      const tail = (term * r) / (1 - r);
      const dtail = tail * -h + (term * r) / ((b + k + 1) * (1 - r) * (1 - r));
      if (tail <= EPS * sum && dtail <= EPS * -dsum) {
        const log = Math.log(sum);
        return { log, dlog: dsum / sum, upperOverScale: logScaledGamma(b, y) - log };
      }
    }
    throw new Error(`incomplete gamma series did not converge (b=${b}, y=${y})`);
  }

  // Modified Lentz on e^y y^-b Γ(b, y) = 1/(y+1−b− 1(1−b)/(y+3−b− 2(2−b)/(y+5−b− …))), as dual numbers (v, d/db).
  let bbV = y + 1 - b;
  const bbD = -1;
  let cV = 1 / FPMIN;
  let cD = 0;
  let dV = 1 / bbV;
  let dD = -bbD / (bbV * bbV);
  let hV = dV;
  let hD = dD;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const anV = -i * (i - b);
    const anD = i;
    bbV += 2;
    let ndV = anV * dV + bbV;
    let ndD = anD * dV + anV * dD + bbD;
    if (Math.abs(ndV) < FPMIN) {
      ndV = FPMIN;
      ndD = 0;
    }
    let ncV = bbV + anV / cV;
    let ncD = bbD + (anD * cV - anV * cD) / (cV * cV);
    if (Math.abs(ncV) < FPMIN) {
      ncV = FPMIN;
      ncD = 0;
    }
    dV = 1 / ndV;
    dD = -ndD / (ndV * ndV);
    cV = ncV;
    cD = ncD;
    const delV = dV * cV;
    const delD = dD * cV + dV * cD;
    hD = hD * delV + hV * delD;
    hV *= delV;
    // delD tends to zero only up to rounding of its two terms, so it is judged against their size.
    if (Math.abs(delV - 1) <= EPS && Math.abs(delD) <= 4 * EPS * (Math.abs(dD * cV) + Math.abs(dV * cD))) {
      const scale = logScaledGamma(b, y); // ln(e^y y^-b Γ(b)) = ln M + ln(1/P)
      const q = hV * Math.exp(-scale); // Q(b, y), at most about ½ in this branch
      const log = scale + Math.log1p(-q);
      // ∂b [e^y y^-b Γ(b)] = (ψ(b) − ln y)·e^y y^-b Γ(b); both terms below are ≤ 0, so nothing cancels.
      const dlog = (digammaMinusLog(b, y) - hD * Math.exp(-scale)) / (1 - q);
      return { log, dlog, upperOverScale: -Math.log1p(-q) };
    }
  }
  throw new Error(`incomplete gamma continued fraction did not converge (b=${b}, y=${y})`);
}

/** Regularised lower incomplete gamma P(a, x) = γ(a, x)/Γ(a), for a > 0, x ≥ 0. */
export function regularizedGammaP(a: number, x: number): number {
  finite('a', a, 0, true);
  finite('x', x, 0);
  if (x === 0) return 0;
  return Math.exp(-logKummer(a, x).upperOverScale);
}

/** Regularised upper incomplete gamma Q(a, x) = Γ(a, x)/Γ(a) = 1 − P(a, x), accurate when it is tiny. */
export function regularizedGammaQ(a: number, x: number): number {
  finite('a', a, 0, true);
  finite('x', x, 0);
  if (x === 0) return 1;
  const lnP = -logKummer(a, x).upperOverScale;
  return -Math.expm1(lnP);
}

// ---------------------------------------------------------------------------------------------------------
// Erlang B and C

/** Traffic in Erlangs offered by `arrivalsPerHour` calls of `ahtSeconds` each. */
export function trafficErlangs(arrivalsPerHour: number, ahtSeconds: number): number {
  finite('arrivalsPerHour', arrivalsPerHour, 0);
  finite('ahtSeconds', ahtSeconds, 0, true);
  return (arrivalsPerHour * ahtSeconds) / SECONDS_PER_HOUR;
}

/** Erlang B: the probability a call is blocked when `agents` servers face `trafficErlangs` with no queue. */
export function erlangB(agents: number, trafficErlangs: number): number {
  count('agents', agents);
  finite('trafficErlangs', trafficErlangs, 0);
  // B(n) = A·B(n−1) / (n + A·B(n−1)): every step stays in [0, 1], unlike A^n/n! which overflows near n = 170.
  let b = 1;
  for (let n = 1; n <= agents; n++) b = (trafficErlangs * b) / (n + trafficErlangs * b);
  return b;
}

export interface ErlangCInput {
  arrivalsPerHour: number;
  ahtSeconds: number;
  agents: number;
  /** Service-level threshold: a call answered within this many seconds counts as "in service level". */
  targetSeconds: number;
}

export interface ErlangCResult {
  agents: number;
  trafficErlangs: number;
  /** P(W > 0): a caller finds every agent busy. */
  probabilityOfWaiting: number;
  /** P(W ≤ targetSeconds) = 1 − Pw·e^{−(N−A)·T/AHT}. */
  serviceLevel: number;
  /** Average speed of answer over all calls (those answered at once count as 0): Pw·AHT/(N−A). */
  asaSeconds: number;
  /** A/N, the fraction of time an agent is busy. */
  occupancy: number;
  /**
   * False when N ≤ A (and A > 0): the queue grows without bound, so the stationary formulas do not apply.
   * Then Pw = 1, serviceLevel = 0, asaSeconds = Infinity and occupancy = 1, the limits as the wait grows.
   */
  stable: boolean;
}

/** Erlang C (M/M/N): waiting probability, service level, ASA and occupancy for a fixed number of agents. */
export function erlangC(input: ErlangCInput): ErlangCResult {
  const n = count('agents', input.agents);
  const aht = finite('ahtSeconds', input.ahtSeconds, 0, true);
  const t = finite('targetSeconds', input.targetSeconds, 0);
  const a = trafficErlangs(input.arrivalsPerHour, aht);
  if (a === 0) {
    return { agents: n, trafficErlangs: 0, probabilityOfWaiting: 0, serviceLevel: 1, asaSeconds: 0, occupancy: 0, stable: true };
  }
  if (n <= a) {
    return { agents: n, trafficErlangs: a, probabilityOfWaiting: 1, serviceLevel: 0, asaSeconds: Infinity, occupancy: 1, stable: false };
  }
  const b = erlangB(n, a);
  // C = N·B / (N − A(1 − B)); the denominator is > N − A > 0, so no cancellation.
  const pw = (n * b) / (n - a * (1 - b));
  return {
    agents: n,
    trafficErlangs: a,
    probabilityOfWaiting: pw,
    serviceLevel: 1 - pw * Math.exp((-(n - a) * t) / aht),
    asaSeconds: (pw * aht) / (n - a),
    occupancy: a / n,
    stable: true,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Erlang A

export interface ErlangAInput extends ErlangCInput {
  /** Mean of the callers' exponential patience (1/θ), in seconds. */
  patienceSeconds: number;
}

export interface ErlangAResult {
  agents: number;
  trafficErlangs: number;
  /** P(V > 0): an arriving caller finds every agent busy (and so has to queue). */
  probabilityOfWaiting: number;
  /** P(Ab): fraction of offered calls that hang up before an agent answers. */
  abandonProbability: number;
  /** Calls answered within targetSeconds ÷ calls offered (abandoned calls count against it). */
  serviceLevel: number;
  /** Calls answered within targetSeconds ÷ calls answered (abandoned calls ignored). */
  serviceLevelOfAnswered: number;
  /**
   * P(V > T) for the *virtual* caller with infinite patience: the offered wait, i.e. how long an arriving
   * caller would have to hold to reach an agent. As patience → ∞ this is Erlang C's Pw·e^{−(N−A)T/AHT}.
   */
  probabilityWaitExceeds: number;
  /** P(min(V, patience) > T): an offered caller is still on hold T seconds after arriving (served or not). */
  probabilityQueueTimeExceeds: number;
  /** Mean wait of answered calls (those answered at once count as 0). */
  asaSeconds: number;
  /** Mean time in queue over all offered calls, answered or abandoned (P(Ab) × patience, by Little's law). */
  meanQueueTimeSeconds: number;
  /** Busy fraction of agents: A·(1 − P(Ab))/N, since abandoned calls take no agent time. */
  occupancy: number;
}

/** Erlang A (M/M/N+M): Erlang C with exponential caller patience, giving abandonment and its effect on waits. */
export function erlangA(input: ErlangAInput): ErlangAResult {
  const n = count('agents', input.agents);
  const aht = finite('ahtSeconds', input.ahtSeconds, 0, true);
  const t = finite('targetSeconds', input.targetSeconds, 0);
  const patience = finite('patienceSeconds', input.patienceSeconds, 0, true);
  const traffic = trafficErlangs(input.arrivalsPerHour, aht);

  if (traffic === 0) {
    return {
      agents: n,
      trafficErlangs: 0,
      probabilityOfWaiting: 0,
      abandonProbability: 0,
      serviceLevel: 1,
      serviceLevelOfAnswered: 1,
      probabilityWaitExceeds: 0,
      probabilityQueueTimeExceeds: 0,
      asaSeconds: 0,
      meanQueueTimeSeconds: 0,
      occupancy: 0,
    };
  }
  if (n === 0) {
    // Nobody is ever answered: every caller waits out their patience. Answer-based figures take their limits.
    return {
      agents: 0,
      trafficErlangs: traffic,
      probabilityOfWaiting: 1,
      abandonProbability: 1,
      serviceLevel: 0,
      serviceLevelOfAnswered: 0,
      probabilityWaitExceeds: 1,
      probabilityQueueTimeExceeds: Math.exp(-t / patience),
      asaSeconds: Infinity,
      meanQueueTimeSeconds: patience,
      occupancy: 1,
    };
  }

  const theta = 1 / patience;
  const nMu = n / aht;
  const a = nMu / theta; // Nμ/θ
  const x = traffic * (patience / aht); // λ/θ
  const erlangBlocking = erlangB(n, traffic);

  // Stationary chain: π_i ∝ A^i/i! up to N, then π_{N+k} = π_N Π_{j≤k} λ/(Nμ + jθ); the queue part sums to
  // π_N·S with S = a·M(a, x). So Pw = E·S / (1 − E + E·S), E = Erlang B. S can be astronomically large when
  // N < A and patience is long, hence the logs.
  const mx = logKummer(a, x);
  const pWait = 1 / (1 + Math.exp(Math.log1p(-erlangBlocking) - Math.log(erlangBlocking) - Math.log(a) - mx.log));

  // Conditional on waiting, everything is a ratio against M(a, x):
  //   served           M(a+1, x)/M(a, x)                         (e^{−θV} averaged over the offered wait V)
  //   V > T            e^{x−y}(y/x)^a · M(a, y)/M(a, x)           with y = x e^{−θT}
  //   served, V > T    e^{x−y}(y/x)^{a+1} · M(a+1, y)/M(a, x)
  // (from the offered-wait density f_V(s) = Nμ π_N exp(x(1 − e^{−θs}) − Nμ s), substituting u = x e^{−θs}).
  const y = x * Math.exp(-theta * t);
  const m1x = logKummer(a + 1, x);
  const my = logKummer(a, y);
  const m1y = logKummer(a + 1, y);
  let servedGivenWait: number;
  let abandonGivenWait: number;
  let exceedsGivenWait: number;
  let servedLateGivenWait: number;
  if (x < a + 1) {
    // Here M(a, x) is of moderate size, so ratios of M are accurate (P(a, x) may be tiny: avoided).
    const xMinusY = -x * Math.expm1(-theta * t);
    servedGivenWait = Math.exp(m1x.log - mx.log);
    exceedsGivenWait = Math.exp(xMinusY - nMu * t + my.log - mx.log);
    servedLateGivenWait = Math.exp(xMinusY - (nMu + theta) * t + m1y.log - mx.log);
    // 1 − M(a+1,x)/M(a,x) would cancel (it tends to 0 with θ); this all-positive series is θE[Q]/(λ·Pw).
    let term = 1 / (a + 1);
    let sum = term;
    for (let k = 1; ; k++) {
      term *= x / (a + k + 1);
      sum += (k + 1) * term;
      const r = (x * (k + 2)) / ((a + k + 2) * (k + 1));
      if (r < 1 && ((k + 1) * term * r) / (1 - r) <= EPS * sum) break;
      if (k > MAX_ITERATIONS) throw new Error('abandonment series did not converge');
    }
    abandonGivenWait = sum / (a * Math.exp(mx.log));
  } else {
    // Here M(a, x) can be astronomically large (its log carries an absolute error of ε·ln M), while
    // P(a, x) ≥ about ½, so the same ratios are taken as γ(·, ·)/γ(a, x) = ratios of regularised P.
    const lnPx = -mx.upperOverScale;
    const lnServed = Math.log(a / x) - m1x.upperOverScale - lnPx;
    servedGivenWait = Math.exp(lnServed);
    abandonGivenWait = -Math.expm1(lnServed);
    exceedsGivenWait = Math.exp(-my.upperOverScale - lnPx);
    servedLateGivenWait = Math.exp(Math.log(a / x) - m1y.upperOverScale - lnPx);
  }
  const abandonProbability = pWait * abandonGivenWait;
  const pServed = 1 - abandonProbability;
  const probabilityWaitExceeds = Math.min(1, pWait * exceedsGivenWait);
  const serviceLevel = Math.min(1, Math.max(0, pServed - pWait * servedLateGivenWait));

  // E[V; served] = ∫ s f_V(s) e^{−θs} ds = −(π_N a/θ)·∂M(c, x)/∂c at c = a + 1 (differentiate the Laplace
  // transform of f_V at θ); π_N a = Pw / M(a, x).
  const waitOfServed = -(pWait / theta) * servedGivenWait * m1x.dlog;

  return {
    agents: n,
    trafficErlangs: traffic,
    probabilityOfWaiting: pWait,
    abandonProbability,
    serviceLevel,
    serviceLevelOfAnswered: Math.min(1, serviceLevel / pServed),
    probabilityWaitExceeds,
    probabilityQueueTimeExceeds: probabilityWaitExceeds * Math.exp(-theta * t),
    asaSeconds: Math.max(0, waitOfServed / pServed),
    meanQueueTimeSeconds: abandonProbability * patience,
    occupancy: Math.min(1, (traffic * pServed) / n),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Staffing

export interface StaffingInput {
  arrivalsPerHour: number;
  ahtSeconds: number;
  targetSeconds: number;
  /** Required fraction in (0, 1), e.g. 0.8 for "80% answered within targetSeconds". */
  targetServiceLevel: number;
  /** With it, Erlang A is used and its serviceLevel (answered within T ÷ offered) must reach the target. */
  patienceSeconds?: number;
  /** Give up above this many agents (default A + 10√A + 100). */
  maxAgents?: number;
}

export type StaffingResult =
  { model: 'erlang_c'; agents: number; result: ErlangCResult } | { model: 'erlang_a'; agents: number; result: ErlangAResult };

/** The smallest agent count whose service level reaches the target (Erlang C, or Erlang A given patience). */
export function agentsForServiceLevel(input: StaffingInput): StaffingResult {
  const target = finite('targetServiceLevel', input.targetServiceLevel, 0, true);
  if (target >= 1) throw new RangeError(`targetServiceLevel must be < 1 (got ${target}): no finite staff reaches 100%`);
  const traffic = trafficErlangs(input.arrivalsPerHour, input.ahtSeconds);
  finite('targetSeconds', input.targetSeconds, 0);
  const patience = input.patienceSeconds;
  if (patience !== undefined) finite('patienceSeconds', patience, 0, true);
  const maxAgents =
    input.maxAgents === undefined ? Math.ceil(traffic + 10 * Math.sqrt(traffic)) + 100 : count('maxAgents', input.maxAgents);

  const evaluate = (agents: number): StaffingResult => {
    const base = { arrivalsPerHour: input.arrivalsPerHour, ahtSeconds: input.ahtSeconds, targetSeconds: input.targetSeconds, agents };
    return patience === undefined
      ? { model: 'erlang_c', agents, result: erlangC(base) }
      : { model: 'erlang_a', agents, result: erlangA({ ...base, patienceSeconds: patience }) };
  };

  if (traffic === 0) return evaluate(0);
  // Lower bounds that are provably short: Erlang C needs N > A to be stable at all; under Erlang A at most
  // N/A of the offered calls can be answered (agents answer N/AHT per second at most), so N ≥ target·A.
  let agents = patience === undefined ? Math.floor(traffic) + 1 : Math.max(1, Math.floor(target * traffic));
  for (; agents <= maxAgents; agents++) {
    const r = evaluate(agents);
    if (r.result.serviceLevel >= target) return r;
  }
  throw new RangeError(`no agent count up to maxAgents=${maxAgents} reaches a service level of ${target}`);
}
