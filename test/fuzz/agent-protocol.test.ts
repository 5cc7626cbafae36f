/**
 * Property-based bad input on every message type of the agent WebSocket protocol, over a real socket to
 * a listening app. Each generated frame starts from a valid message of one type (the types are read from
 * the protocol's zod schema, so a new type without an example here fails) and mutates it: fields
 * missing, wrongly typed (numbers, booleans, null, arrays, objects), oversized, unicode, `__proto__` /
 * `constructor` keys, repeated keys, NaN and huge numbers in the JSON text, bad JSON, binary frames.
 * Properties: every frame gets exactly one reply; a schema failure is an `error` naming the field; no
 * reply is `unavailable` (an internal failure); the socket stays open and answers a ping. Frames over
 * the 16 KiB limit close the socket with 1009 and the next connection works.
 */
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientMessage } from '../../src/agents/protocol.js';
import { makeApp, type TestApp } from '../helpers/app.js';
import { Sock } from '../helpers/ws.js';

const RUNS_PER_TYPE = Number(process.env.FUZZ_RUNS ?? 300);
const CALL = 'CA' + 'b'.repeat(32);

/** One valid message per client message type. */
const VALID: Record<string, Record<string, unknown>> = {
  hello: { type: 'hello', token: 'alice-demo-token' },
  set_state: { type: 'set_state', state: 'break', reason: 'lunch' },
  accept: { type: 'accept', offerId: 'of_abcdefgh' },
  reject: { type: 'reject', offerId: 'of_abcdefgh' },
  hold: { type: 'hold', callSid: CALL, on: true },
  wrap_up: { type: 'wrap_up', callSid: CALL, disposition: 'resolved', code: 'password_reset' },
  hangup: { type: 'hangup', callSid: CALL },
  transfer: { type: 'transfer', callSid: CALL, to: { kind: 'queue', queue: 'billing' }, warm: false },
  transfer_complete: { type: 'transfer_complete', callSid: CALL },
  transfer_cancel: { type: 'transfer_cancel', callSid: CALL },
  recording: { type: 'recording', action: 'pause', callSid: CALL },
  ping: { type: 'ping' },
};

const TYPES = clientMessage.options.map((o) => String((o.shape.type as unknown as { value: string }).value));

const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'then'];
/** JSON values (as text, so NaN and huge numerals can be sent as JSON parsers meet them). */
const hostileJson: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? 'null'),
  fc.string({ maxLength: 40 }).map((s) => JSON.stringify(s)),
  fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => JSON.stringify(s)),
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => JSON.stringify(s)),
  fc.constantFrom(
    'null',
    'true',
    'false',
    '0',
    '-1',
    '-0',
    '1e308',
    '1e309',
    '-1e309',
    '123456789012345678901234567890',
    '0.5',
    '[]',
    '{}',
    '[null]',
    '{"__proto__":{"admin":true}}',
    '{"kind":"queue","queue":"__proto__"}',
    '{"kind":"external","number":"+15551230001"}',
    '"NaN"',
    '""',
    '" "',
    '"\\u0000"',
    '"\\ud800"',
    '"of_"',
    '"of_abcd"',
    `"${'CA' + '0'.repeat(31)}"`,
    '"available"',
    '"offline"',
    '"resolved"',
    '"__proto__"',
    '"constructor"',
  ),
  fc.integer({ min: 100, max: 15_000 }).map((n) => JSON.stringify('x'.repeat(n))),
);

type Mutation = { kind: 'delete'; key: string } | { kind: 'set'; key: string; raw: string } | { kind: 'repeat'; key: string; raw: string };

/** Serialise entries as JSON text by hand (keeps repeated keys and `__proto__` as written). */
const toText = (entries: [string, string][]) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;

function frames(base: Record<string, unknown>): fc.Arbitrary<string> {
  const fields = [...Object.keys(base), 'ref', 'type'];
  const key = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...fields) },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_KEYS) },
    { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  );
  const m: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ kind: fc.constant('delete' as const), key: fc.constantFrom(...fields) }),
    fc.record({ kind: fc.constant('set' as const), key, raw: hostileJson }),
    fc.record({ kind: fc.constant('repeat' as const), key, raw: hostileJson }),
  );
  const mutated = fc.array(m, { minLength: 1, maxLength: 3 }).map((ms) => {
    let entries: [string, string][] = Object.entries(base).map(([k, v]) => [k, JSON.stringify(v)]);
    for (const x of ms) {
      if (x.kind === 'delete') entries = entries.filter(([k]) => k !== x.key);
      else if (x.kind === 'set') entries = [...entries.filter(([k]) => k !== x.key), [x.key, x.raw]];
      else entries = [...entries, [x.key, x.raw]];
    }
    return toText(entries);
  });
  const broken = fc.oneof(
    fc.constantFrom(
      '',
      ' ',
      '{',
      '}',
      '[]',
      'null',
      '1',
      '"hello"',
      '{"type":',
      '{"type":"ping",}',
      "{'type':'ping'}",
      '{"type":NaN}',
      '{"type":"ping"}{"type":"ping"}',
      '\u0000',
      '\uFEFF{"type":"ping"}',
    ),
    fc.string({ maxLength: 60 }),
    mutated.map((t) => t.slice(0, Math.max(1, t.length - 1))),
  );
  return fc.oneof({ weight: 6, arbitrary: mutated }, { weight: 1, arbitrary: broken });
}

let t: TestApp;
let url: string;
let app: FastifyInstance;
const figures = { frames: 0, errors: 0, acks: 0, oversized: 0, binary: 0 };

beforeAll(async () => {
  t = await makeApp();
  app = t.app;
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  url = `ws://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/agent/ws`;
});
afterAll(async () => {
  await t.close();
  console.log(
    `agent protocol fuzz: ${figures.frames} frames (${figures.errors} errors, ${figures.acks} acks/pongs), ${figures.binary} binary, ${figures.oversized} oversized`,
  );
});

async function signedIn(token = 'alice-demo-token'): Promise<Sock> {
  const s = await Sock.open(url);
  const w = await s.request(JSON.stringify({ type: 'hello', token }));
  expect(w?.type).toBe('welcome');
  return s;
}

function checkReply(reply: Record<string, unknown> | undefined, frame: string): void {
  figures.frames++;
  expect(reply, `no reply to ${frame.slice(0, 200)}`).toBeDefined();
  const r = reply!;
  if (r.type === 'error') {
    figures.errors++;
    expect(r.code, frame.slice(0, 200)).not.toBe('unavailable');
    expect(typeof r.message).toBe('string');
    if (r.code === 'invalid_message' || r.code === 'invalid_json') {
      expect(typeof r.field).toBe('string');
      expect((r.field as string).length).toBeGreaterThan(0);
      expect((r.message as string).startsWith(String(r.field)) || r.code === 'invalid_json').toBe(true);
    }
  } else {
    figures.acks++;
    expect(['ack', 'pong']).toContain(r.type);
  }
}

describe('agent protocol: hostile frames', () => {
  it('has a valid example for every message type of the schema', () => {
    expect(TYPES.sort()).toEqual(Object.keys(VALID).sort());
  });

  for (const type of Object.keys(VALID)) {
    it(`${type}: one reply per frame, errors name the field, never "unavailable", socket stays up`, async () => {
      let s = await signedIn();
      await fc.assert(
        fc.asyncProperty(frames(VALID[type]!), async (frame) => {
          if (s.closed) s = await signedIn();
          const reply = await s.request(frame);
          if (Buffer.byteLength(frame) > 16 * 1024) {
            // Over the frame limit: the socket is closed with 1009 (message too big), nothing else.
            figures.oversized++;
            expect(reply).toBeUndefined();
            expect((await s.whenClosed()).code).toBe(1009);
            return;
          }
          checkReply(reply, frame);
          expect(s.closed).toBeUndefined();
        }),
        { numRuns: RUNS_PER_TYPE },
      );
      if (s.closed) s = await signedIn();
      expect((await s.request(JSON.stringify({ type: 'ping', ref: 'after' })))?.type).toBe('pong');
      s.close();
    });
  }

  it('binary frames are answered invalid_json; the socket stays up', async () => {
    const s = await signedIn();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 2_000 }), async (bytes) => {
        figures.binary++;
        const reply = await s.request(Buffer.from(bytes), true);
        expect(reply).toMatchObject({ type: 'error', code: 'invalid_json', field: '(message)' });
      }),
      { numRuns: 50 },
    );
    // A binary frame holding valid JSON is still refused: the protocol is text.
    expect(await s.request(Buffer.from(JSON.stringify({ type: 'ping' })), true)).toMatchObject({ code: 'invalid_json' });
    expect((await s.request(JSON.stringify({ type: 'ping' })))?.type).toBe('pong');
    s.close();
  });

  it('an oversized frame closes that socket with 1009; the agent reconnects and works', async () => {
    for (const size of [16 * 1024 + 1, 64 * 1024, 1024 * 1024]) {
      const s = await signedIn();
      figures.oversized++;
      s.ws.send(JSON.stringify({ type: 'set_state', state: 'break', reason: 'x'.repeat(size) }));
      expect((await s.whenClosed()).code).toBe(1009);
      const again = await signedIn();
      expect(await again.request(JSON.stringify({ type: 'set_state', state: 'available', ref: 'r1' }))).toMatchObject({
        type: 'ack',
        ref: 'r1',
      });
      again.close();
    }
  });

  it('hostile hello tokens are refused with a clear error and close 4401; the process keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(hostileJson, async (raw) => {
        const s = await Sock.open(url, { 'x-forwarded-for': `198.51.100.${Math.floor(Math.random() * 250)}` });
        const reply = await s.request(`{"type":"hello","token":${raw}}`);
        expect(reply?.type).toBe('error');
        expect(['invalid_message', 'unauthorized', 'rate_limited']).toContain(reply?.code);
        if (reply?.code !== 'invalid_message') expect((await s.whenClosed()).code).toBeGreaterThanOrEqual(4400);
        else s.close();
      }),
      { numRuns: 40 },
    );
    const ok = await signedIn('bob-demo-token');
    ok.close();
    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
  });
});
