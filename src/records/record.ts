/**
 * One call record: what happened to one call, from the moment it came in to its wrap-up and survey. The
 * stream entry holds the record's fields as flat strings (times in ms since the epoch, lists as JSON);
 * `fromEntry` turns an entry into the typed record the API answers, and COLUMNS define the CSV form
 * (one column per field, lists in a readable text form) in both directions, so a CSV export parses back
 * to exactly the JSON records. Imports nothing but the event types.
 */
import type { Disposition, OverflowReason, OverflowTarget, TransferKind, TransferMode, TransferResult } from '../events.js';

export type RecordOutcome = 'answered' | 'abandoned' | 'short_abandon' | 'overflow' | 'callback' | 'voicemail' | 'ivr';
export const RECORD_OUTCOMES: readonly RecordOutcome[] = [
  'answered',
  'abandoned',
  'short_abandon',
  'overflow',
  'callback',
  'voicemail',
  'ivr',
];

export interface RecordTransfer {
  kind: TransferKind;
  mode: TransferMode;
  result: TransferResult;
  /** The target queue or agent id; absent for an outside number (never stored). */
  target: string | null;
  /** The agent who transferred. */
  from: string | null;
}

export interface CallRecord {
  callSid: string;
  /** 1 when the call ended; each later fact (wrap-up, survey, recording) makes a new revision. */
  revision: number;
  startedAt: string | null;
  endedAt: string | null;
  updatedAt: string;
  /** Twilio's final CallStatus and CallDuration of the caller's call. */
  endStatus: string | null;
  durationSeconds: number | null;
  /** The caller's keyed hash (HMAC of the number): the same caller has the same key; never the number. */
  callerKey: string | null;
  /** The center's own number the caller dialed. */
  numberCalled: string | null;
  flow: string | null;
  language: string | null;
  ivrPath: string[];
  ivrExit: string | null;
  /** The queue where the outcome happened (after an overflow to another queue, that queue). */
  queue: string | null;
  outcome: RecordOutcome | null;
  overflowTarget: OverflowTarget | null;
  overflowReason: OverflowReason | null;
  /** Seconds waited in queues (summed over an overflow to another queue). */
  waitSeconds: number | null;
  callbackResult: string | null;
  /** The agent who answered; `agents` lists every agent who handled the call (after transfers). */
  agent: string | null;
  agents: string[];
  talkSeconds: number | null;
  holdSeconds: number | null;
  wrapUpSeconds: number | null;
  transfers: RecordTransfer[];
  disposition: Disposition | null;
  dispositionCode: string | null;
  /** The caller's previous handled call was within the repeat window: `repeatOf` is that call. */
  repeatContact: boolean;
  repeatOf: string | null;
  csat: number | null;
  nps: number | null;
  ces: number | null;
  /** The call's recording (the latest, should it have several): its SID, media URL (Twilio's, without extension) and length. */
  recordingSid: string | null;
  recordingUrl: string | null;
  recordingDurationSeconds: number | null;
  voicemailSid: string | null;
}

type Raw = Record<string, string>;
const str = (r: Raw, k: string): string | null => (r[k] !== undefined && r[k] !== '' ? r[k]! : null);
const num = (r: Raw, k: string): number | null => {
  const v = str(r, k);
  if (v === null) return null;
  const n = Number(v);
  return Number.isFinite(n) ? Math.round(n * 1000) / 1000 : null;
};
const iso = (r: Raw, k: string): string | null => {
  const n = num(r, k);
  return n === null ? null : new Date(n).toISOString();
};
const list = <T>(r: Raw, k: string): T[] => {
  const v = str(r, k);
  if (!v) return [];
  try {
    const x = JSON.parse(v) as unknown;
    return Array.isArray(x) ? (x as T[]) : [];
  } catch {
    return [];
  }
};

/** A stream entry's fields (flat field/value pairs, as XRANGE returns them) as a record. */
export function fromEntry(flat: readonly string[]): CallRecord {
  const r: Raw = {};
  for (let i = 0; i + 1 < flat.length; i += 2) r[flat[i]!] = flat[i + 1]!;
  const outcome = str(r, 'outcome');
  return {
    callSid: r.callSid ?? '',
    revision: num(r, 'revision') ?? 1,
    startedAt: iso(r, 'startedAt'),
    endedAt: iso(r, 'endedAt'),
    updatedAt: iso(r, 'updatedAt') ?? new Date(0).toISOString(),
    endStatus: str(r, 'endStatus'),
    durationSeconds: num(r, 'durationSeconds'),
    callerKey: str(r, 'callerKey'),
    numberCalled: str(r, 'numberCalled'),
    flow: str(r, 'flow'),
    language: str(r, 'language'),
    ivrPath: list<string>(r, 'ivrPath'),
    ivrExit: str(r, 'ivrExit'),
    queue: str(r, 'queue'),
    outcome: outcome && (RECORD_OUTCOMES as readonly string[]).includes(outcome) ? (outcome as RecordOutcome) : null,
    overflowTarget: str(r, 'overflowTarget') as OverflowTarget | null,
    overflowReason: str(r, 'overflowReason') as OverflowReason | null,
    waitSeconds: num(r, 'waitSeconds'),
    callbackResult: str(r, 'callbackResult'),
    agent: str(r, 'agent'),
    agents: list<string>(r, 'agents'),
    talkSeconds: num(r, 'talkSeconds'),
    holdSeconds: num(r, 'holdSeconds'),
    wrapUpSeconds: num(r, 'wrapUpSeconds'),
    transfers: list<Partial<RecordTransfer>>(r, 'transfers').map((t) => ({
      kind: t.kind!,
      mode: t.mode!,
      result: t.result!,
      target: t.target ?? null,
      from: t.from ?? null,
    })),
    disposition: str(r, 'disposition') as Disposition | null,
    dispositionCode: str(r, 'dispositionCode'),
    repeatContact: r.repeatContact === '1',
    repeatOf: str(r, 'repeatOf'),
    csat: num(r, 'csat'),
    nps: num(r, 'nps'),
    ces: num(r, 'ces'),
    recordingSid: str(r, 'recordingSid'),
    recordingUrl: str(r, 'recordingUrl'),
    recordingDurationSeconds: num(r, 'recordingDurationSeconds'),
    voicemailSid: str(r, 'voicemailSid'),
  };
}

type Kind = 'text' | 'number' | 'bool' | 'path' | 'transfers';
/** The record's fields in CSV column order, with how each is written as text. */
export const COLUMNS: readonly { key: keyof CallRecord; kind: Kind }[] = [
  { key: 'callSid', kind: 'text' },
  { key: 'revision', kind: 'number' },
  { key: 'startedAt', kind: 'text' },
  { key: 'endedAt', kind: 'text' },
  { key: 'updatedAt', kind: 'text' },
  { key: 'endStatus', kind: 'text' },
  { key: 'durationSeconds', kind: 'number' },
  { key: 'callerKey', kind: 'text' },
  { key: 'numberCalled', kind: 'text' },
  { key: 'flow', kind: 'text' },
  { key: 'language', kind: 'text' },
  { key: 'ivrPath', kind: 'path' },
  { key: 'ivrExit', kind: 'text' },
  { key: 'queue', kind: 'text' },
  { key: 'outcome', kind: 'text' },
  { key: 'overflowTarget', kind: 'text' },
  { key: 'overflowReason', kind: 'text' },
  { key: 'waitSeconds', kind: 'number' },
  { key: 'callbackResult', kind: 'text' },
  { key: 'agent', kind: 'text' },
  { key: 'agents', kind: 'path' },
  { key: 'talkSeconds', kind: 'number' },
  { key: 'holdSeconds', kind: 'number' },
  { key: 'wrapUpSeconds', kind: 'number' },
  { key: 'transfers', kind: 'transfers' },
  { key: 'disposition', kind: 'text' },
  { key: 'dispositionCode', kind: 'text' },
  { key: 'repeatContact', kind: 'bool' },
  { key: 'repeatOf', kind: 'text' },
  { key: 'csat', kind: 'number' },
  { key: 'nps', kind: 'number' },
  { key: 'ces', kind: 'number' },
  { key: 'recordingSid', kind: 'text' },
  { key: 'recordingUrl', kind: 'text' },
  { key: 'recordingDurationSeconds', kind: 'number' },
  { key: 'voicemailSid', kind: 'text' },
];

/**
 * Cell text of one field. Lists: node or agent ids joined by " > " (ids never contain spaces); transfers
 * as `kind/mode/result/target/from` joined by "; " (an empty part is an absent target or agent).
 */
export function cellOf(kind: Kind, v: unknown): string {
  if (v === null || v === undefined) return '';
  if (kind === 'bool') return v ? 'true' : 'false';
  if (kind === 'path') return (v as string[]).join(' > ');
  if (kind === 'transfers')
    return (v as RecordTransfer[]).map((t) => [t.kind, t.mode, t.result, t.target ?? '', t.from ?? ''].join('/')).join('; ');
  return String(v);
}

/** The field value of one cell (the inverse of cellOf). */
export function valueOf(kind: Kind, cell: string): unknown {
  if (kind === 'bool') return cell === 'true';
  if (kind === 'path') return cell === '' ? [] : cell.split(' > ');
  if (kind === 'transfers') {
    if (cell === '') return [];
    return cell.split('; ').map((part) => {
      const [k, mode, result, target, from] = part.split('/');
      return { kind: k, mode, result, target: target || null, from: from || null };
    });
  }
  if (cell === '') return null;
  return kind === 'number' ? Number(cell) : cell;
}
