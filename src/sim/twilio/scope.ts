/**
 * Cancellation for a call's activities. A call has a root scope (aborted when the call ends), a scope per
 * TwiML document run (aborted when the call is redirected by REST) and child scopes for sub-activities
 * (queue hold music, conference hold, ...). Every wait races its scope, so a hang-up or a redirect
 * unwinds whatever the call was doing, and `finally` blocks clean up (leave the queue, the bridge, ...).
 */
import type { Clock } from '../../clock.js';
import type { EndedBy, TerminalStatus } from './types.js';
import type { DocTarget } from './target.js';

export type Interrupt =
  { type: 'hangup'; by: EndedBy; status: TerminalStatus } | { type: 'redirect'; target: DocTarget } | { type: 'stop'; why: string };

export class Aborted extends Error {
  constructor(readonly reason: Interrupt) {
    super(`aborted: ${reason.type}`);
    this.name = 'Aborted';
  }
}

export class Scope {
  reason: Interrupt | undefined;
  private listeners = new Set<(r: Interrupt) => void>();
  private detach: (() => void) | undefined;

  constructor(parent?: Scope) {
    if (parent) {
      if (parent.reason) this.reason = parent.reason;
      else this.detach = parent.onAbort((r) => this.abort(r));
    }
  }

  get aborted(): boolean {
    return this.reason !== undefined;
  }

  child(): Scope {
    return new Scope(this);
  }

  abort(reason: Interrupt): void {
    if (this.reason) return;
    this.reason = reason;
    const ls = [...this.listeners];
    this.listeners.clear();
    for (const l of ls) l(reason);
    this.dispose();
  }

  /** Run `fn` when aborted (at once if already aborted). Returns an unsubscribe function. */
  onAbort(fn: (r: Interrupt) => void): () => void {
    if (this.reason) {
      fn(this.reason);
      return () => {};
    }
    this.listeners.add(fn);
    return () => {
      this.listeners.delete(fn);
    };
  }

  throwIfAborted(): void {
    if (this.reason) throw new Aborted(this.reason);
  }

  /** Stop listening to the parent (call when this scope's activity is over). */
  dispose(): void {
    this.detach?.();
    this.detach = undefined;
  }
}

/** Resolve after `ms` of clock time, or reject with Aborted when the scope is aborted first. */
export function sleep(clock: Clock, ms: number, scope: Scope): Promise<void> {
  if (scope.reason) return Promise.reject(new Aborted(scope.reason));
  return new Promise<void>((resolve, reject) => {
    let off: () => void = () => {};
    const cancel = clock.setTimer(Math.max(0, ms), () => {
      off();
      resolve();
    });
    off = scope.onAbort((r) => {
      cancel();
      reject(new Aborted(r));
    });
  });
}

/** `p`, unless the scope is aborted first. */
export function race<T>(p: Promise<T>, scope: Scope): Promise<T> {
  if (scope.reason) return Promise.reject(new Aborted(scope.reason));
  return new Promise<T>((resolve, reject) => {
    const off = scope.onAbort((r) => reject(new Aborted(r)));
    p.then(
      (v) => {
        off();
        resolve(v);
      },
      (e: unknown) => {
        off();
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Never resolves; rejects when the scope is aborted. */
export function forever(scope: Scope): Promise<never> {
  if (scope.reason) return Promise.reject(new Aborted(scope.reason));
  return new Promise<never>((_resolve, reject) => {
    scope.onAbort((r) => reject(new Aborted(r)));
  });
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  settled: boolean;
}

export function deferred<T>(): Deferred<T> {
  let res!: (v: T) => void;
  const d: Deferred<T> = {
    promise: new Promise<T>((r) => {
      res = r;
    }),
    resolve: (v: T) => {
      if (d.settled) return;
      d.settled = true;
      res(v);
    },
    settled: false,
  };
  return d;
}
