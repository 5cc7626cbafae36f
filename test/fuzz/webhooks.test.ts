/**
 * Property-based bad input on every Twilio webhook. Each generated request starts from a valid, properly
 * signed request for a call that is really in the system (IVR → queue), then mutates it: fields missing,
 * oversized, wrongly typed or hostile (unicode, lone surrogates, control characters, NaN, negative and
 * huge numbers, `__proto__` / `constructor` keys, repeated keys, query-string injection). The request is
 * signed with the twilio package, so it reaches validation. Properties: never a 5xx; a 400 names the
 * field; a 200 is TwiML; nothing falls back for an internal error; no error is logged; and the next valid
 * request still works. Unsigned and forged requests are refused and change nothing.
 */
import fc from 'fast-check';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/app.js';
import * as params from '../../src/webhooks/params.js';
import { conferenceRecordingParams } from '../../src/webhooks/recording-routes.js';
import { AUTH_TOKEN, callParams, makeApp, newCallSid, PUBLIC_BASE, type TestApp } from '../helpers/app.js';

const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS ?? 150);
const FORM_LIMIT = 64 * 1024;

type Entries = [string, string][];

interface RouteCase {
  query: Record<string, string>;
  extra: Record<string, string>;
  /** Field names the route's schema knows (mutations aim at these first). */
  fields: string[];
}

const keysOf = (schema: { shape: Record<string, unknown> }) => Object.keys(schema.shape);
const REC = {
  RecordingSid: 'RE' + '1'.repeat(32),
  RecordingUrl: 'https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE1',
  RecordingDuration: '12',
  RecordingStatus: 'completed',
};
const STATUS = { CallStatus: 'completed', SequenceNumber: '3', CallDuration: '42', Timestamp: 'Mon, 05 Jan 2026 14:00:00 +0000' };
const OFFER = 'of_' + 'a1b2c3d4e5f6';

/** One valid request per webhook route; the test fails if a route is added without an entry here. */
const CASES: Record<string, RouteCase> = {
  '/twilio/voice': { query: {}, extra: {}, fields: keysOf(params.baseParams) },
  '/twilio/ivr/gather': { query: { node: 'main-menu' }, extra: { Digits: '2' }, fields: keysOf(params.gatherParams) },
  '/twilio/ivr/recorded': { query: { node: 'support-voicemail' }, extra: REC, fields: keysOf(params.recordingParams) },
  '/twilio/recording': { query: { node: 'queue:support' }, extra: REC, fields: keysOf(params.recordingParams) },
  '/twilio/status': { query: {}, extra: STATUS, fields: keysOf(params.statusParams) },
  '/twilio/fallback': {
    query: {},
    extra: { ErrorCode: '11200', ErrorUrl: PUBLIC_BASE + '/twilio/voice' },
    fields: keysOf(params.baseParams),
  },
  '/twilio/fallback/recorded': { query: {}, extra: REC, fields: keysOf(params.recordingParams) },
  '/twilio/queue/wait': {
    query: { queue: 'support' },
    extra: { QueuePosition: '1', QueueSid: 'QU' + '2'.repeat(32), QueueTime: '30', AvgQueueTime: '20', CurrentQueueSize: '1' },
    fields: keysOf(params.queueWaitParams),
  },
  '/twilio/queue/keys': { query: { queue: 'support' }, extra: { Digits: '1' }, fields: keysOf(params.gatherParams) },
  '/twilio/queue/result': {
    query: { queue: 'support' },
    extra: { QueueResult: 'hangup', QueueSid: 'QU' + '2'.repeat(32), QueueTime: '75' },
    fields: keysOf(params.queueResultParams),
  },
  '/twilio/queue/enter': { query: { queue: 'billing' }, extra: {}, fields: keysOf(params.baseParams) },
  '/twilio/queue/voicemail': { query: { queue: 'support' }, extra: REC, fields: keysOf(params.recordingParams) },
  '/twilio/queue/connect': { query: { queue: 'support', offer: OFFER }, extra: {}, fields: keysOf(params.baseParams) },
  '/twilio/call/after': {
    query: { queue: 'support' },
    extra: { DialCallStatus: 'completed', DialCallSid: 'CA' + '3'.repeat(32), DialCallDuration: '60' },
    fields: keysOf(params.dialResultParams),
  },
  '/twilio/survey': { query: { step: 'csat' }, extra: { Digits: '5' }, fields: keysOf(params.gatherParams) },
  '/twilio/agent/status': { query: { offer: OFFER }, extra: { ...STATUS, CallStatus: 'in-progress' }, fields: keysOf(params.statusParams) },
  '/twilio/callback/leg': { query: { queue: 'support', offer: OFFER }, extra: {}, fields: keysOf(params.baseParams) },
  '/twilio/callback/status': {
    query: { queue: 'support', offer: OFFER },
    extra: { ...STATUS, CallStatus: 'no-answer' },
    fields: keysOf(params.statusParams),
  },
  '/twilio/conference/status': {
    query: {},
    extra: {
      ConferenceSid: 'CF' + '4'.repeat(32),
      FriendlyName: 'sb-CA' + '0'.repeat(32),
      StatusCallbackEvent: 'participant-join',
      SequenceNumber: '2',
      Hold: 'false',
      Muted: 'false',
      Coaching: 'false',
    },
    fields: keysOf(params.conferenceStatusParams),
  },
  '/twilio/hold': { query: {}, extra: {}, fields: keysOf(params.baseParams) },
  '/twilio/transfer/queue': { query: { queue: 'billing', from: 'support' }, extra: {}, fields: keysOf(params.baseParams) },
  '/twilio/transfer/status': {
    query: { call: 'CA' + '0'.repeat(32) },
    extra: { ...STATUS, CallStatus: 'in-progress' },
    fields: keysOf(params.statusParams),
  },
  '/twilio/monitor/status': { query: { call: 'CA' + '0'.repeat(32) }, extra: STATUS, fields: keysOf(params.statusParams) },
  '/twilio/queue/consented': {
    query: { queue: 'support', priority: '2', front: '0', offer: '1' },
    extra: {},
    fields: keysOf(params.baseParams),
  },
  '/twilio/conference/recording': {
    query: { call: 'CA' + '0'.repeat(32), queue: 'support' },
    extra: {
      ConferenceSid: 'CF' + '4'.repeat(32),
      RecordingSid: 'RE' + '1'.repeat(32),
      RecordingUrl: 'https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE1',
      RecordingStatus: 'completed',
      RecordingDuration: '12',
      RecordingChannels: '1',
      RecordingSource: 'Conference',
      RecordingStartTime: 'Mon, 05 Jan 2026 14:00:00 +0000',
    },
    fields: keysOf(conferenceRecordingParams),
  },
};

// ---- generators -------------------------------------------------------------------------------

const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'then'];
const SPECIAL_VALUES = [
  '',
  ' ',
  'NaN',
  '-1',
  '-0',
  '0',
  '1e309',
  '-1e309',
  'Infinity',
  '-Infinity',
  '9'.repeat(40),
  '0x1F',
  '1.5',
  '1e3',
  ' 1',
  '1 ',
  'null',
  'undefined',
  'true',
  'false',
  '[]',
  '{}',
  '{"$gt":""}',
  '__proto__',
  'constructor',
  '%00',
  '\u0000',
  '\r\n',
  '\uFEFF',
  '\u202E',
  '<Say>hi</Say>',
  ']]>',
  '<?xml version="1.0"?>',
  "'; DROP TABLE calls; --",
  '${7*7}',
  '{{7*7}}',
  '../../etc/passwd',
  'javascript:alert(1)',
  'CA' + 'g'.repeat(32),
  'CA' + '0'.repeat(31),
  'CA' + '0'.repeat(33),
  'AC' + 'a'.repeat(32),
  'ca' + '0'.repeat(32),
  '+15551230001',
  'client:alice',
  'queue:support',
  'queue:__proto__',
  'completed',
  'hangup',
  'leave',
  'bridged',
  'csat',
  'nps',
  '*',
  '#',
  '1'.repeat(64),
  '1'.repeat(65),
];
const loneSurrogates = fc
  .array(fc.integer({ min: 0xd800, max: 0xdfff }), { minLength: 1, maxLength: 4 })
  .map((a) => String.fromCharCode(...a));
const hostileValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SPECIAL_VALUES) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: loneSurrogates },
  { weight: 2, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.bigInt()).map(String) },
  // Oversized: just under and well over the 64 KiB form limit, and long values inside it.
  { weight: 1, arbitrary: fc.integer({ min: 257, max: 5_000 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: FORM_LIMIT - 2_000, max: FORM_LIMIT + 8_000 }).map((n) => 'A'.repeat(n)) },
);

type Mutation =
  { kind: 'delete'; key: string } | { kind: 'set'; key: string; value: string } | { kind: 'repeat'; key: string; value: string };

function mutations(fields: string[]): fc.Arbitrary<Mutation[]> {
  const field = fc.constantFrom(...fields);
  const anyKey = fc.oneof(
    { weight: 4, arbitrary: field },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_KEYS) },
    { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  );
  const m: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ kind: fc.constant('delete' as const), key: field }),
    fc.record({ kind: fc.constant('set' as const), key: anyKey, value: hostileValue }),
    fc.record({ kind: fc.constant('repeat' as const), key: anyKey, value: hostileValue }),
  );
  return fc.array(m, { minLength: 1, maxLength: 4 });
}

/** Query strings, already percent-encoded, some injecting extra parameters. */
function queries(base: Record<string, string>): fc.Arbitrary<string> {
  const keys = [...new Set([...Object.keys(base), 'queue', 'node', 'offer', 'step', 'noInput'])];
  // Percent-encode everything outside unreserved characters, as the URLs we hand Twilio are (so the
  // request line arrives exactly as signed).
  const enc = (s: string) =>
    encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, '?')).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  const baseQs = Object.entries(base).map(([k, v]) => `${enc(k)}=${enc(v)}`);
  const piece = fc.oneof(
    fc
      .tuple(
        fc.constantFrom(...keys, ...HOSTILE_KEYS),
        fc.oneof(
          hostileValue.filter((v) => v.length < 2_000),
          fc.constantFrom('support', 'billing', 'main-menu', '1'),
        ),
      )
      .map(([k, v]) => `${enc(k)}=${enc(v)}`),
    fc.constantFrom(
      'queue=support&queue=billing',
      'queue=support%26offer%3Dof_xxxx',
      'queue=',
      'queue',
      '=support',
      '&&',
      'queue=support%00',
      'node=..%2F..%2F',
      'queue[]=support',
      'queue[__proto__]=x',
      '__proto__[polluted]=1',
      'constructor[prototype][polluted]=1',
      'step=csat&step=nps',
      'noInput=1&noInput=0',
      'a=%E0%A4%A',
      'x=%ZZ',
      'offer=of_' + 'a'.repeat(80),
    ),
  );
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(baseQs.join('&')) },
    {
      weight: 3,
      arbitrary: fc.tuple(fc.subarray(baseQs), fc.array(piece, { maxLength: 3 })).map(([b, extra]) => [...b, ...extra].join('&')),
    },
  );
}

function applyMutations(base: Record<string, string>, ms: Mutation[]): Entries {
  let entries: Entries = Object.entries(base);
  for (const m of ms) {
    if (m.kind === 'delete') entries = entries.filter(([k]) => k !== m.key);
    else if (m.kind === 'set') entries = [...entries.filter(([k]) => k !== m.key), [m.key, m.value]];
    else entries = [...entries, [m.key, m.value], ...(entries.some(([k]) => k === m.key) ? [] : ([[m.key, m.value]] as Entries))];
  }
  return entries;
}

/** The parameters as Twilio signs them: one key per name, repeated names as arrays (own keys only). */
function signingParams(entries: Entries): Record<string, string | string[]> {
  const out = Object.create(null) as Record<string, string | string[]>;
  for (const [k, v] of new URLSearchParams(new URLSearchParams(entries).toString())) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

// ---- the app --------------------------------------------------------------------------------------

let t: TestApp;
const logLines: string[] = [];
const stats = { requests: 0, byStatus: new Map<number, number>() };

beforeAll(async () => {
  t = await makeApp({
    deps: { logger: { ...(loggerOptions('warn') as object), stream: { write: (s: string) => void logLines.push(s) } } },
  });
});
afterAll(async () => {
  await t.close();
  // Figures for the README (visible with --reporter=verbose or in CI logs).
  console.log(`webhook fuzz: ${stats.requests} signed requests, statuses ${JSON.stringify(Object.fromEntries(stats.byStatus))}`);
});

async function send(
  path: string,
  qs: string,
  entries: Entries,
  signature?: string,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const url = qs ? `${path}?${qs}` : path;
  const sig =
    signature ?? twilio.getExpectedTwilioSignature(AUTH_TOKEN, PUBLIC_BASE + url, signingParams(entries) as Record<string, string>);
  const res = await t.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': sig },
    payload: new URLSearchParams(entries).toString(),
  });
  return { status: res.statusCode, body: res.body, headers: res.headers };
}

/** A call that went through the IVR into the support queue (so handlers see real state). */
async function callInQueue(): Promise<string> {
  const sid = newCallSid();
  expect((await t.twilio('/twilio/voice', callParams(sid))).status).toBe(200);
  expect((await t.twilio('/twilio/ivr/gather?node=language', callParams(sid, { Digits: '1' }))).status).toBe(200);
  const r = await t.twilio('/twilio/ivr/gather?node=main-menu', callParams(sid, { Digits: '2' }));
  expect(r.body).toContain('<Enqueue');
  return sid;
}

async function validStillWorks(): Promise<void> {
  const r = await t.twilio('/twilio/voice', callParams(newCallSid()));
  expect(r.status).toBe(200);
  expect(r.body).toContain('<Gather');
}

function fallbacksForErrors(metrics: string): number {
  let n = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('switchboard_webhook_fallbacks_total{')) continue;
    if (line.includes('route="/twilio/fallback"')) continue; // that route answers fallback TwiML by design
    n += Number(line.split(' ').at(-1));
  }
  return n;
}

describe('signed hostile input on every webhook', () => {
  it('has a case for every registered webhook route', () => {
    const routes = [...new Set(t.app.routeTable.filter((r) => r.url.startsWith('/twilio/')).map((r) => r.url))].sort();
    expect(routes).toEqual(Object.keys(CASES).sort());
  });

  for (const [path, c] of Object.entries(CASES)) {
    it(`${path}: never 5xx, 400 names the field, 200 is TwiML, next request works`, async () => {
      const sid = await callInQueue();
      const logFrom = logLines.length;
      const base = { ...callParams(sid), ...c.extra };
      const fields = [...new Set([...c.fields, ...Object.keys(c.extra), 'Digits', 'From', 'To'])];
      await fc.assert(
        fc.asyncProperty(mutations(fields), queries(c.query), async (ms, qs) => {
          const entries = applyMutations(base, ms);
          const res = await send(path, qs, entries);
          stats.requests++;
          stats.byStatus.set(res.status, (stats.byStatus.get(res.status) ?? 0) + 1);
          const bodyBytes = Buffer.byteLength(new URLSearchParams(entries).toString());
          expect(res.status, res.body).toBeLessThan(500);
          expect([200, 204, 400, 413], res.body.slice(0, 300)).toContain(res.status);
          if (res.status === 413) expect(bodyBytes).toBeGreaterThan(FORM_LIMIT);
          if (bodyBytes > FORM_LIMIT) expect(res.status).toBe(413);
          if (res.status === 400) {
            const j = JSON.parse(res.body) as { error: string; field: string; message: string };
            expect(j.error).toBe('invalid_params');
            expect(j.field.length).toBeGreaterThan(0);
            expect(j.message.startsWith(`${j.field}:`)).toBe(true);
            // The field named is one the request sent or the route needs.
            const inQuery = j.field === '(query)' || qs.includes(j.field) || qs.includes(encodeURIComponent(j.field));
            expect([...fields, ...Object.keys(c.query), 'queue', 'step'].includes(j.field.split('.')[0]!) || inQuery, j.field).toBe(true);
          }
          if (res.status === 200) {
            expect(res.headers['content-type']).toMatch(/text\/xml/);
            expect(res.body).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?><Response(\/>|>)/);
          }
          await validStillWorks();
        }),
        { numRuns: RUNS_PER_ROUTE },
      );
      const m = await t.metrics();
      expect(fallbacksForErrors(m), 'an internal error was hidden behind fallback TwiML').toBe(0);
      expect(
        logLines.slice(logFrom).filter((l) => (JSON.parse(l) as { level: number }).level >= 50),
        'errors were logged',
      ).toEqual([]);
    });
  }
});

describe('unsigned, forged and malformed requests', () => {
  it('are refused with 400/403/413/415 and change nothing', async () => {
    const sid = await callInQueue();
    const paths = Object.keys(CASES);
    const before = await snapshot();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        mutations([...keysOf(params.baseParams), 'Digits']),
        fc.oneof(
          fc.constant(undefined),
          fc.constant(''),
          fc.base64String({ minLength: 1, maxLength: 40 }),
          fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, 'x')),
          // Right algorithm, wrong key / wrong URL / other parameters.
          fc.constantFrom('wrong-token', 'other-url', 'other-params'),
        ),
        fc.constantFrom(
          'application/x-www-form-urlencoded',
          'application/json',
          'text/plain',
          'multipart/form-data; boundary=x',
          'application/x-www-form-urlencoded; charset=utf-16',
          '',
        ),
        async (path, ms, sig, contentType) => {
          n++;
          const entries = applyMutations({ ...callParams(sid), ...CASES[path]!.extra }, ms);
          const p = signingParams(entries) as Record<string, string>;
          const qs = new URLSearchParams(CASES[path]!.query).toString();
          const url = qs ? `${path}?${qs}` : path;
          const signature =
            sig === 'wrong-token'
              ? twilio.getExpectedTwilioSignature('not-' + AUTH_TOKEN, PUBLIC_BASE + url, p)
              : sig === 'other-url'
                ? twilio.getExpectedTwilioSignature(
                    AUTH_TOKEN,
                    PUBLIC_BASE + (path === '/twilio/voice' ? '/twilio/status' : '/twilio/voice'),
                    p,
                  )
                : sig === 'other-params'
                  ? twilio.getExpectedTwilioSignature(AUTH_TOKEN, PUBLIC_BASE + url, { ...p, Digits: '9' })
                  : sig;
          const json = contentType === 'application/json';
          const res = await t.app.inject({
            method: 'POST',
            url,
            headers: {
              ...(contentType ? { 'content-type': contentType } : {}),
              ...(signature !== undefined ? { 'x-twilio-signature': signature } : {}),
            },
            payload: json ? JSON.stringify(Object.fromEntries(entries)) : new URLSearchParams(entries).toString(),
          });
          expect(res.statusCode).toBeLessThan(500);
          expect([400, 403, 413, 415]).toContain(res.statusCode);
          if (!contentType.startsWith('application/x-www-form-urlencoded')) expect([413, 415]).toContain(res.statusCode);
          else if (Buffer.byteLength(new URLSearchParams(entries).toString()) <= FORM_LIMIT)
            expect(res.statusCode).toBe(signature ? 403 : 400);
        },
      ),
      { numRuns: 300 },
    );
    expect(n).toBe(300);
    expect(await snapshot()).toEqual(before);
    await validStillWorks();
  });

  it('bad JSON, bad percent-encoding and empty bodies are 4xx', async () => {
    const cases: { ct: string; body: string }[] = [
      { ct: 'application/json', body: '{"CallSid":' },
      { ct: 'application/json', body: '{"__proto__":{"polluted":1}}' },
      { ct: 'application/x-www-form-urlencoded', body: '%' },
      { ct: 'application/x-www-form-urlencoded', body: 'CallSid=%E0%A4%A&x=%ZZ' },
      { ct: 'application/x-www-form-urlencoded', body: '' },
      { ct: 'application/x-www-form-urlencoded', body: '&&&===&' },
    ];
    for (const c of cases) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/twilio/voice',
        headers: { 'content-type': c.ct, 'x-twilio-signature': 'AAAA' },
        payload: c.body,
      });
      expect(res.statusCode, c.body).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, c.body).toBeLessThan(500);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await validStillWorks();
  });
});

/** What a refused request must not change: the call counters on /metrics and the keys in Redis. */
async function snapshot(): Promise<{ metrics: string[]; keys: number }> {
  const m = (await t.metrics())
    .split('\n')
    .filter((l) => l.startsWith('switchboard_') && !/^switchboard_(webhook_|queue_|agents_|staffing_|up)/.test(l));
  let keys = 0;
  let cursor = '0';
  do {
    const [next, batch] = await t.redis.scan(cursor, 'MATCH', `${t.prefix}*`, 'COUNT', 500);
    cursor = next;
    keys += batch.length;
  } while (cursor !== '0');
  return { metrics: m, keys };
}
