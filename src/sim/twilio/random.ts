/**
 * Seedable PRNG (sfc32 seeded through splitmix32) so a run of the emulator is reproducible: the same seed
 * gives the same SIDs, tokens, arrivals and choices (as long as events happen in the same order).
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed = 1) {
    let s = seed >>> 0;
    const split = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An independent stream derived from this one (consumes one draw). */
  fork(label = 0): Random {
    return new Random((this.nextUint32() ^ Math.imul(label + 1, 0x9e3779b1)) >>> 0);
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  range(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Standard normal (Box-Muller). */
  normal(mean = 0, sd = 1): number {
    const u = 1 - this.next();
    const v = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal with the given mean and coefficient of variation (sd / mean). */
  logNormal(mean: number, cv: number): number {
    const sigma2 = Math.log(1 + cv * cv);
    const mu = Math.log(mean) - sigma2 / 2;
    return Math.exp(this.normal(mu, Math.sqrt(sigma2)));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)] as T;
  }

  /** Pick by weight (weights need not sum to 1). */
  weighted<T>(items: ReadonlyArray<{ weight: number; value: T }>): T {
    const total = items.reduce((s, x) => s + Math.max(0, x.weight), 0);
    if (items.length === 0 || total <= 0) throw new Error('weighted pick needs a positive total weight');
    let r = this.next() * total;
    for (const x of items) {
      r -= Math.max(0, x.weight);
      if (r < 0) return x.value;
    }
    return (items[items.length - 1] as { value: T }).value;
  }

  hex(length: number): string {
    let out = '';
    while (out.length < length) out += this.nextUint32().toString(16).padStart(8, '0');
    return out.slice(0, length);
  }

  /** A Twilio-style SID: two-letter prefix + 32 lowercase hex digits. */
  sid(prefix: string): string {
    return prefix + this.hex(32);
  }
}
