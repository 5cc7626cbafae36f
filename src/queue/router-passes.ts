/**
 * Routing passes of each queue, one at a time per queue (per instance), coalesced: a request made while a
 * pass is claiming and reserving joins the one pass queued after it. The queued pass reads the queue and
 * the agents when it starts, so it sees whatever change led to every request it answers; agents freed
 * together, or many callers arriving, cost one pass, not one each. A pass lets the next one start once it
 * has reserved its agents (`reservedNow`), while it still saves and sends its offers.
 */

/** One pass of a queue: done reserving (the next pass may start), done sending its offers. */
export interface Pass {
  reserved: Promise<void>;
  done: Promise<number>;
}

export interface Passes {
  /** The pass that will answer a request made now: the one queued, or a new one. */
  pass(queue: string): Pass;
  /** Wait for every pass started or queued (on stop). */
  settle(): Promise<void>;
}

/** `run(queue, reservedNow)` makes one pass and calls `reservedNow` once it has reserved its agents. */
export function createPasses(run: (queue: string, reservedNow: () => void) => Promise<number>): Passes {
  /** The pass of each queue that is claiming and reserving now (or sending, until the next one starts). */
  const running = new Map<string, Pass>();
  const queued = new Map<string, Pass>();
  const inFlight = new Set<Promise<unknown>>();

  function pass(queue: string): Pass {
    const waiting = queued.get(queue);
    if (waiting) return waiting;
    const before = running.get(queue);
    let reservedNow!: () => void;
    const p = { reserved: new Promise<void>((r) => (reservedNow = r)) } as Pass;
    const start = async (): Promise<number> => {
      if (queued.get(queue) === p) queued.delete(queue);
      running.set(queue, p);
      try {
        return await run(queue, reservedNow);
      } finally {
        reservedNow();
        if (running.get(queue) === p) running.delete(queue);
      }
    };
    if (before) {
      queued.set(queue, p);
      p.done = before.reserved.then(start);
    } else {
      p.done = start(); // sets `running` before it first awaits
    }
    // Tracked for settle(); this handler also keeps a failed pass nobody awaits from being unhandled.
    const tracked = p.done.catch(() => 0);
    inFlight.add(tracked);
    void tracked.then(() => inFlight.delete(tracked));
    return p;
  }

  return {
    pass,
    async settle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
