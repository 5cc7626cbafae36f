import { describe, expect, it } from 'vitest';
import { parseForm } from '../../src/webhooks/plugin.js';

/** What the webhook form parser must give: URLSearchParams' pairs, a repeated name as an array. */
function reference(body: string): Record<string, string | string[]> {
  const out = Object.create(null) as Record<string, string | string[]>;
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return out;
}

/** A deterministic generator (mulberry32), so a failure names its seed. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Pieces a form body is made of: separators, escapes (valid, malformed, invalid UTF-8), plus signs and text.
const PIECES = [
  '&',
  '=',
  '+',
  '%',
  '%2B',
  '%20',
  '%3D',
  '%26',
  '%zz',
  '%4',
  '%C3%A9',
  '%E2%82%AC',
  '%ED%A0%80',
  '%C3',
  '%FF',
  '?',
  'a',
  'B',
  '0',
  'é',
  '€',
  '😀',
  '__proto__',
  'constructor',
  ' ',
];

describe('webhook form parser', () => {
  it("parses Twilio's voice parameters as URLSearchParams does", () => {
    const params = {
      AccountSid: 'AC' + 'a'.repeat(32),
      CallSid: 'CA' + '1'.repeat(32),
      From: '+14155550100',
      To: '+15005550006',
      CalledCity: 'SAN FRANCISCO',
      CallerName: 'Zoë & Co = 100%',
      Empty: '',
    };
    const body = new URLSearchParams(params).toString();
    expect({ ...parseForm(body) }).toEqual(params);
    expect(parseForm(body)).toEqual(reference(body));
  });

  it('keeps repeated names as arrays, in order, and has no prototype', () => {
    const f = parseForm('a=1&b=2&a=3&a=4&__proto__=x&constructor=y');
    expect(f.a).toEqual(['1', '3', '4']);
    expect(f.b).toBe('2');
    expect(Object.getPrototypeOf(f)).toBeNull();
    expect(f['__proto__']).toBe('x');
    expect(f['constructor']).toBe('y');
  });

  it('gives the same as URLSearchParams on 5,000 random bodies (escapes, malformed escapes, separators)', () => {
    for (let seed = 1; seed <= 5000; seed++) {
      const r = rng(seed);
      let body = '';
      const n = Math.floor(r() * 24);
      for (let i = 0; i < n; i++) body += PIECES[Math.floor(r() * PIECES.length)];
      expect(parseForm(body), `seed ${seed}: ${JSON.stringify(body)}`).toEqual(reference(body));
    }
  });

  it('gives the same on edge cases', () => {
    for (const body of ['', '&', '&&', '=', '==', 'a', 'a=', '=a', '?a=1', '??a=1', 'a=1&', '&a=1', 'a==b', '+=+', '%=%', 'a=%', '%%'])
      expect(parseForm(body), JSON.stringify(body)).toEqual(reference(body));
  });
});
