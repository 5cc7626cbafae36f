/**
 * Simulated caller populations: Poisson arrivals on the clock (constant or time-varying rate, by thinning),
 * exponential patience, a pool of caller numbers with repeat callers, and Gather answers drawn from
 * weighted choices matched by document path, prompt text or attempt. Generic: the menu digits and survey
 * answers are passed in by the user of the generator.
 */
import type { Call } from './call.js';
import type { TwilioEmulator } from './emulator.js';
import { Random } from './random.js';
import type { CallerBehaviour, CallSummary, GatherAnswer, GatherContext, GatherResponse } from './types.js';

export interface GatherChoice {
  weight: number;
  digits?: string;
  speech?: string;
  confidence?: number;
  /** Hang up at this Gather. */
  hangup?: boolean;
  /** Say nothing (the Gather times out). */
  none?: boolean;
}

export interface GatherRule {
  /** Substring of, or RegExp tested on, the Gather document's path. */
  path?: string | RegExp;
  /** Substring of, or RegExp tested on, one of the texts heard in the Gather's prompts. */
  heard?: string | RegExp;
  /** Only for this attempt number (1 = first time at this document). */
  attempt?: number;
  choices: GatherChoice[];
  /** Reaction time before the first key: fixed, or uniform in [min, max] (default 1000 ms). */
  delayMs?: number | [number, number];
}

export interface PopulationOptions {
  seed?: number;
  /** Arrivals per hour: a constant, or a function of clock time (then give maxRatePerHour). */
  ratePerHour: number | ((nowMs: number) => number);
  /** Upper bound of a time-varying rate (needed for thinning). */
  maxRatePerHour?: number;
  /** Mean patience in a queue (exponential); undefined = never abandons. */
  meanPatienceMs?: number;
  numbers?: {
    /** Distinct caller numbers available (default 100000). */
    poolSize?: number;
    /** Probability an arrival is a repeat caller (a number seen before) (default 0.1). */
    repeatProbability?: number;
    /** E.164 prefix; numbers are prefix + zero-padded index (default '+1555'). */
    prefix?: string;
  };
  /** First matching rule answers a Gather; no match = no input. */
  gather?: GatherRule[];
  /** Probability the caller answers a callback (default 1). */
  answerCallbackProbability?: number;
  /** Mean time the caller talks once bridged (exponential); undefined = the agent side ends the call. */
  meanTalkMs?: number;
  /** Absolute cap on call length. */
  hangupAfterMs?: number;
  /** Callers who leave a message speak for this long (exponential mean) at a `<Record>`. */
  meanRecordMs?: number;
}

export interface SimulatedCaller {
  from: string;
  repeat: boolean;
  behaviour: CallerBehaviour;
}

function matches(p: string | RegExp | undefined, s: string): boolean {
  if (p === undefined) return true;
  return typeof p === 'string' ? s.includes(p) : p.test(s);
}

export class CallerPopulation {
  private readonly rand: Random;
  private readonly seen: string[] = [];
  private readonly seenSet = new Set<string>();
  private nextIndex = 0;

  constructor(readonly o: PopulationOptions) {
    this.rand = new Random(o.seed ?? 7);
  }

  private rateAt(now: number): number {
    return typeof this.o.ratePerHour === 'function' ? Math.max(0, this.o.ratePerHour(now)) : this.o.ratePerHour;
  }

  /** Time to the next arrival from `now` (Poisson; thinning for a time-varying rate). Infinity if the rate is 0. */
  nextInterarrivalMs(now: number): number {
    const max = typeof this.o.ratePerHour === 'function' ? (this.o.maxRatePerHour ?? 0) : this.o.ratePerHour;
    if (max <= 0) return Infinity;
    const meanMs = 3_600_000 / max;
    let t = 0;
    for (let i = 0; i < 1_000_000; i++) {
      t += this.rand.exponential(meanMs);
      if (typeof this.o.ratePerHour !== 'function') return t;
      if (this.rand.next() * max <= this.rateAt(now + t)) return t;
    }
    return Infinity;
  }

  /** A caller number: sometimes one seen before (a repeat caller), else a fresh one from the pool. */
  nextNumber(): { from: string; repeat: boolean } {
    const n = this.o.numbers ?? {};
    const pool = n.poolSize ?? 100_000;
    const prefix = n.prefix ?? '+1555';
    const width = Math.max(7, String(pool - 1).length);
    const repeatP = n.repeatProbability ?? 0.1;
    if (this.seen.length > 0 && (this.rand.bernoulli(repeatP) || this.seen.length >= pool))
      return { from: this.rand.pick(this.seen), repeat: true };
    const from = prefix + String(this.nextIndex++ % pool).padStart(width, '0');
    if (!this.seenSet.has(from)) {
      this.seenSet.add(from);
      this.seen.push(from);
    }
    return { from, repeat: false };
  }

  /** A fresh behaviour (its own random stream, so callers do not disturb each other's draws). */
  behaviour(): CallerBehaviour {
    const r = this.rand.fork();
    const o = this.o;
    const b: CallerBehaviour = {
      answerCallback: r.bernoulli(o.answerCallbackProbability ?? 1),
      answerDelayMs: Math.round(r.range(1000, 6000)),
    };
    if (o.meanPatienceMs !== undefined) b.patienceMs = Math.round(r.exponential(o.meanPatienceMs));
    if (o.meanTalkMs !== undefined) b.talkMs = Math.round(r.exponential(o.meanTalkMs));
    if (o.hangupAfterMs !== undefined) b.hangupAfterMs = o.hangupAfterMs;
    if (o.meanRecordMs !== undefined) b.record = { durationMs: Math.max(1000, Math.round(r.exponential(o.meanRecordMs))) };
    const rules = o.gather ?? [];
    if (rules.length > 0) b.gather = (ctx) => answerGather(rules, ctx, r);
    return b;
  }

  nextCaller(): SimulatedCaller {
    const { from, repeat } = this.nextNumber();
    return { from, repeat, behaviour: this.behaviour() };
  }
}

/** Pick an answer for a Gather from the first matching rule. */
export function answerGather(rules: GatherRule[], ctx: GatherContext, r: Random): GatherResponse {
  const rule = rules.find(
    (x) =>
      matches(x.path, ctx.path) &&
      (x.heard === undefined || ctx.heard.some((h) => matches(x.heard, h))) &&
      (x.attempt === undefined || x.attempt === ctx.attempt),
  );
  if (!rule || rule.choices.length === 0) return null;
  const c = r.weighted(rule.choices.map((value) => ({ weight: value.weight, value })));
  if (c.hangup) return 'hangup';
  if (c.none) return null;
  const d = rule.delayMs;
  const delayMs = d === undefined ? 1000 : typeof d === 'number' ? d : Math.round(r.range(d[0], d[1]));
  const a: GatherAnswer = { delayMs };
  if (c.digits !== undefined) a.digits = c.digits;
  if (c.speech !== undefined) a.speech = c.speech;
  if (c.confidence !== undefined) a.confidence = c.confidence;
  return a;
}

export interface TrafficOptions {
  /** Our number to call. */
  to: string;
  /** Stop generating arrivals after this much clock time. */
  durationMs?: number;
  /** Stop after this many calls. */
  maxCalls?: number;
  onCall?: (call: Call, caller: SimulatedCaller) => void;
}

export interface Traffic {
  readonly calls: Call[];
  readonly callers: SimulatedCaller[];
  stop(): void;
  /** Resolves when arrivals have stopped (duration, maxCalls or stop()). */
  readonly arrivalsDone: Promise<void>;
  /** Resolves with every call's summary once arrivals have stopped and all calls have ended. */
  done(): Promise<CallSummary[]>;
}

/** Place calls from `pop` into the emulator at Poisson arrival times on the emulator's clock. */
export function startTraffic(emu: TwilioEmulator, pop: CallerPopulation, o: TrafficOptions): Traffic {
  const clock = emu.clock;
  const start = clock.now();
  const calls: Call[] = [];
  const callers: SimulatedCaller[] = [];
  let stopped = false;
  let cancel: () => void = () => {};
  let finish: () => void = () => {};
  const arrivalsDone = new Promise<void>((r) => {
    finish = r;
  });
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    cancel();
    finish();
  };
  const scheduleNext = (): void => {
    if (stopped) return;
    const dt = pop.nextInterarrivalMs(clock.now());
    if (!Number.isFinite(dt) || (o.durationMs !== undefined && clock.now() + dt - start > o.durationMs)) {
      if (o.durationMs !== undefined && Number.isFinite(dt)) {
        cancel = clock.setTimer(start + o.durationMs - clock.now(), stop);
      } else stop();
      return;
    }
    cancel = clock.setTimer(dt, () => {
      if (stopped) return;
      const caller = pop.nextCaller();
      const call = emu.placeCall({ from: caller.from, to: o.to, behaviour: caller.behaviour });
      calls.push(call);
      callers.push(caller);
      o.onCall?.(call, caller);
      if (o.maxCalls !== undefined && calls.length >= o.maxCalls) stop();
      else scheduleNext();
    });
  };
  scheduleNext();
  return {
    calls,
    callers,
    stop,
    arrivalsDone,
    done: async () => {
      await arrivalsDone;
      return Promise.all(calls.map((c) => c.ended));
    },
  };
}
