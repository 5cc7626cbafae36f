/**
 * The one way time enters Switchboard. Handlers, Lua scripts (which get `now` as an argument) and the
 * Twilio emulator all read this clock, so a day of traffic can be replayed in virtual time.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolve after `ms` of this clock's time. */
  sleep(ms: number): Promise<void>;
  /** Run `fn` after `ms` of this clock's time; returns a cancel function. */
  setTimer(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Earlier `at` first, then creation order. */
const before = (a: Timer, b: Timer): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/**
 * Virtual time: nothing moves until `advance` (or `runUntilIdle`) is called. Timers fire in time order,
 * and between timers the event loop gets to drain, so real I/O (HTTP, Redis) started by one timer
 * completes before the clock moves past it.
 */
export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  /** Binary min-heap by (at, seq); cancelled timers stay until they reach the top. */
  private heap: Timer[] = [];
  private live = 0;

  constructor(startMs = Date.UTC(2026, 0, 5, 9, 0, 0)) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.setTimer(ms, resolve);
    });
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.push(timer);
    this.live++;
    return () => {
      if (timer.cancelled) return;
      timer.cancelled = true;
      this.live--;
    };
  }

  pending(): number {
    return this.live;
  }

  private push(x: Timer): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }

  private nextTimer(): Timer | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap[0];
  }

  /** Take the next live timer off the heap and mark it fired. */
  private take(): Timer {
    const x = this.pop()!;
    x.cancelled = true;
    this.live--;
    return x;
  }

  /**
   * Move time forward by `ms`, firing due timers in order. `settle` is awaited after each timer so the
   * I/O it started (webhooks, Redis) finishes in "zero" virtual time. (Firing all timers of one instant
   * before one settle was tried: in a call-center run the timers sharing an instant are almost all created
   * by the I/O of the one before, so it saved no settles.)
   */
  async advance(ms: number, settle: () => Promise<void> = defaultSettle): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      const next = this.nextTimer();
      if (!next || next.at > end) break;
      this.t = Math.max(this.t, next.at);
      this.take().fn();
      await settle();
    }
    this.t = end;
  }
}
/** Let pending promise chains and socket I/O run: a few macrotask turns. */
export async function defaultSettle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
