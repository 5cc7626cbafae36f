/**
 * One call's IVR state as the fields of a Redis hash (`{c:<callSid>}:ivr`, keys.ts), with one- or two-letter
 * field names and no copy of the CallSid (it is in the key), so the hash stays a small listpack.
 *
 *   f flow        n node         l language     r retries (absent = 0)
 *   k stack and p path (node ids joined by spaces; ids never contain one)
 *   x flags: s self-service played, a asked for an agent, v leave for voicemail, e call ended
 *   s phase       q queue        t startedAt (ms)   c callerHash   i contactId (absent = the CallSid)
 *   v survey (JSON). The number called is not kept: only the call's start (its event) uses it.
 *
 * The same hash remembers the call's last idempotent webhook (Twilio retries only a call's latest request,
 * carrying the same I-Twilio-Idempotency-Token): T a digest of the token (`tokenDigest`: 72 bits, whatever the
 * token's length), W the time of its step (ms), P the state the
 * step started from, as a snapshot of the fields a step can change (`snapshot` below; '' = the call did not
 * exist yet). The IVR step is pure, so running it again from P at W with the retried request's own
 * parameters gives the very same TwiML, which is what the retry gets: exact, without keeping the TwiML.
 */
import { hash } from 'node:crypto';
import type { CallPhase, IvrState } from '../ivr/step.js';

/** Every state field, so a save can delete the ones a state no longer has. */
export const STATE_FIELDS = ['f', 'n', 'l', 'r', 'k', 'p', 'x', 's', 'q', 't', 'c', 'i', 'v'] as const;

/** The last idempotent webhook of a call: its token, the step's time and the state it started from. */
export interface LastAnswer {
  /** tokenDigest() of the request's idempotency token. */
  token: string;
  at: number;
  /** snapshot() of the state before the step; '' when the step created the call. */
  before: string;
}

const split = (v: string | undefined): string[] => (v ? v.split(' ') : []);

/** A short digest of an idempotency token, as the call's hash keeps it (12 characters, 72 bits). */
export function tokenDigest(token: string): string {
  return hash('sha1', token, 'base64url').slice(0, 12);
}

/** The state's fields as [field, value] pairs (absent optional fields left out). */
export function encodeState(s: IvrState): string[] {
  const out = ['f', s.flow, 'n', s.node, 'l', s.language, 's', s.phase, 't', String(s.startedAt), 'c', s.callerHash];
  if (s.retries) out.push('r', String(s.retries));
  if (s.stack.length) out.push('k', s.stack.join(' '));
  if (s.path.length) out.push('p', s.path.join(' '));
  const flags = (s.selfService ? 's' : '') + (s.askedAgent ? 'a' : '') + (s.leaveFor === 'voicemail' ? 'v' : '') + (s.callEnded ? 'e' : '');
  if (flags) out.push('x', flags);
  if (s.queue !== undefined) out.push('q', s.queue);
  if (s.contactId !== s.callSid) out.push('i', s.contactId);
  if (s.survey) out.push('v', JSON.stringify(s.survey));
  return out;
}

/** The state from a hash's fields, or null when the hash holds no state. */
export function decodeState(callSid: string, h: Record<string, string>): IvrState | null {
  if (h.f === undefined || h.n === undefined) return null;
  const flags = h.x ?? '';
  const s: IvrState = {
    callSid,
    flow: h.f,
    node: h.n,
    language: h.l ?? '',
    retries: Number(h.r ?? 0),
    stack: split(h.k),
    path: split(h.p),
    selfService: flags.includes('s'),
    askedAgent: flags.includes('a'),
    phase: (h.s ?? 'ivr') as CallPhase,
    startedAt: Number(h.t ?? 0),
    callerHash: h.c ?? '',
    contactId: h.i ?? callSid,
  };
  if (h.q !== undefined) s.queue = h.q;
  if (flags.includes('v')) s.leaveFor = 'voicemail';
  if (flags.includes('e')) s.callEnded = true;
  if (h.v !== undefined) s.survey = JSON.parse(h.v) as NonNullable<IvrState['survey']>;
  return s;
}

/** The remembered last answer of a hash, if any. */
export function decodeLast(h: Record<string, string>): LastAnswer | null {
  return h.T === undefined ? null : { token: h.T, at: Number(h.W ?? 0), before: h.P ?? '' };
}

/** [field, value] pairs of a remembered answer. */
export function encodeLast(last: LastAnswer): string[] {
  return ['T', last.token, 'W', String(last.at), 'P', last.before];
}

// A snapshot: node|language|retries|stack|path|flags|phase|queue, where path is `#<n>` when the state before
// was the first n entries of the path after (the usual case: a step only appends), else the path itself.
const SEP = '|';

/** The fields a step can change, of the state `before` a step whose result is `after`. */
export function snapshot(before: IvrState, after: IvrState): string {
  const prefix = before.path.length <= after.path.length && before.path.every((n, i) => after.path[i] === n);
  return [
    before.node,
    before.language,
    String(before.retries),
    before.stack.join(' '),
    prefix ? `#${before.path.length}` : before.path.join(' '),
    (before.selfService ? 's' : '') + (before.askedAgent ? 'a' : ''),
    before.phase,
    before.queue ?? '',
  ].join(SEP);
}

/** The state a step started from: `now` (the state stored after it) with the snapshot's fields. */
export function restore(now: IvrState, snap: string): IvrState {
  const [node = '', language = '', retries = '0', stack = '', path = '', flags = '', phase = 'ivr', queue = ''] = snap.split(SEP);
  const s: IvrState = {
    ...now,
    node,
    language,
    retries: Number(retries),
    stack: split(stack),
    path: path.startsWith('#') ? now.path.slice(0, Number(path.slice(1))) : split(path),
    selfService: flags.includes('s'),
    askedAgent: flags.includes('a'),
    phase: phase as CallPhase,
  };
  if (queue) s.queue = queue;
  else delete s.queue;
  return s;
}
