/**
 * The error catalogue (src/errors.ts) is the only place error bodies are made: docs/errors.md lists
 * exactly its codes, and no file under src/ builds an HTTP error body or a socket `error` by hand.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ERRORS, ERROR_CODES, fromZod, httpBody, sbError, SCRIPT_ERRORS, socketError, SwitchboardError } from '../../src/errors.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Lines that build an error answer without the catalogue. */
const HAND_BUILT: [string, RegExp][] = [
  ['an HTTP body with an `error` field', /\bsend\(\s*\{[^}]*\berror\s*:/],
  ['an `error` code literal', /\berror\s*:\s*['"`][a-z_]+['"`]/],
  ["a socket `type: 'error'` message", /\btype\s*:\s*['"]error['"]/],
  ['a literal 4xx/5xx status', /\.code\(\s*[45]\d\d\s*\)/],
  ['a socket error code literal', /\bcode\s*:\s*['"][a-z_]+['"]\s*,\s*(field|message)\s*:/],
  ['an error made outside the catalogue', /new SwitchboardError\(/],
];

function handBuilt(text: string): string[] {
  const found: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (/^\s*(\*|\/\/|\/\*)/.test(line)) return; // comments describe the shapes
    for (const [what, re] of HAND_BUILT) if (re.test(line)) found.push(`${i + 1}: ${what}: ${line.trim().slice(0, 120)}`);
  });
  return found;
}

describe('error catalogue', () => {
  it('docs/errors.md lists exactly the codes that exist, with their HTTP status and socket code', () => {
    const rows = readFileSync('docs/errors.md', 'utf8')
      .split('\n')
      .map((l) => /^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|\s*`([a-z_]+)`\s*\|/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ code: m[1]!, status: Number(m[2]), socket: m[3]! }));
    expect(rows.map((r) => r.code).sort()).toEqual([...ERROR_CODES].sort());
    expect(new Set(rows.map((r) => r.code)).size).toBe(rows.length);
    for (const r of rows) {
      const e = sbError(r.code as keyof typeof ERRORS);
      expect({ code: r.code, status: e.statusCode, socket: e.socketCode }).toEqual(r);
    }
  });

  it('every code is used: named in src/ outside the catalogue, or a store script reply maps to it', () => {
    const src = files('src')
      .filter((f) => f !== join('src', 'errors.ts'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const fromScripts = new Set(Object.values(SCRIPT_ERRORS).map((e) => e.code));
    const viaInvalid = /\binvalid\(|\bfromZod\(/.test(src) ? ['invalid_params'] : [];
    const unused = ERROR_CODES.filter((c) => !src.includes(`'${c}'`) && !fromScripts.has(c) && !viaInvalid.includes(c));
    expect(unused).toEqual([]);
  });

  it('no file in src/ builds an error body by hand (the Twilio emulator, which answers as Twilio does, aside)', () => {
    const offenders = files('src')
      .filter((f) => f !== join('src', 'errors.ts') && !f.startsWith(join('src', 'sim', 'twilio')))
      .flatMap((f) => handBuilt(readFileSync(f, 'utf8')).map((l) => `${f}:${l}`));
    expect(offenders).toEqual([]);
  });

  it('the hand-built detector finds each kind of hand-built error', () => {
    const samples = [
      "return reply.code(400).send({ error: 'invalid_query', field, message });",
      "refuse(socket, { error: 'not_found', message: 'no' });",
      "reply(ws, { type: 'error', code: 'unavailable', message: 'try again' });",
      'await reply.code(403).header("x", "y");',
      "const m = { code: 'stale_offer', field: 'offerId' };",
      "throw new SwitchboardError('conflict', 'no');",
    ];
    for (const s of samples) expect(handBuilt(s), s).not.toEqual([]);
    expect(handBuilt("return replyError(reply, sbError('forbidden'));")).toEqual([]);
  });

  it('an error naming a field says it first, on both surfaces', () => {
    const e = sbError('not_your_call', 'callSid', 'not a call you are talking on');
    expect(e).toBeInstanceOf(SwitchboardError);
    expect(httpBody(e)).toEqual({ error: 'not_your_call', field: 'callSid', message: 'callSid: not a call you are talking on' });
    expect(socketError(e, 'r1')).toEqual({
      type: 'error',
      code: 'not_your_call',
      field: 'callSid',
      message: 'callSid: not a call you are talking on',
      ref: 'r1',
    });
    expect(e.statusCode).toBe(409);
    // Without a field or detail: the catalogue's message.
    expect(httpBody(sbError('unauthorized'))).toEqual({ error: 'unauthorized', message: ERRORS.unauthorized.message });
  });

  it('invalid_params is invalid_message on a socket; rate_limited carries when to retry', () => {
    const bad = sbError('invalid_params', 'disposition', 'must be one of resolved, not_resolved, escalated');
    expect(socketError(bad)).toMatchObject({ code: 'invalid_message', field: 'disposition' });
    expect(httpBody(bad)).toMatchObject({ error: 'invalid_params', field: 'disposition' });
    const limited = sbError('rate_limited', 'token', 'too many failed sign-ins; retry after 6 s', {
      limiter: 'sign_in',
      retryAfterSeconds: 6,
    });
    expect(httpBody(limited)).toMatchObject({ error: 'rate_limited', limiter: 'sign_in', retryAfterSeconds: 6 });
    expect(socketError(limited)).toMatchObject({ code: 'rate_limited', retryAfterMs: 6000 });
    expect(socketError(limited)).not.toHaveProperty('limiter');
  });

  it('one zod formatter: the first issue, its dotted path named, or the whole value', () => {
    const schema = z.object({ to: z.object({ queue: z.string().min(1) }), n: z.number() });
    const nested = schema.safeParse({ to: { queue: '' }, n: 1 });
    expect(nested.success).toBe(false);
    if (!nested.success)
      expect(httpBody(fromZod(nested.error))).toMatchObject({
        error: 'invalid_params',
        field: 'to.queue',
        message: expect.stringMatching(/^to\.queue: /),
      });
    const whole = z.string().safeParse(5);
    if (!whole.success)
      expect(fromZod(whole.error, 'callSid')).toMatchObject({ field: 'callSid', message: expect.stringMatching(/^callSid: /) });
  });
});
