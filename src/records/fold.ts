/**
 * What each domain event says about its call's record, as operations on the call's working record
 * (src/store/lua/recordFold-3.lua applies them atomically). Pure: the same event always gives the same
 * operations, so folding does not depend on which instance published the event.
 *
 * Outcome precedence (a `rank` group): a queue outcome (answered, abandoned, short abandon, overflow,
 * callback) beats a voicemail, which beats "ended in the IVR"; within a level the latest fact wins (a
 * caller who overflowed from one queue into another ends with the second queue's outcome).
 */
import { hash } from 'node:crypto';
import type { DomainEvent } from '../events.js';

export type FoldOp = string[];

const RANK_LEVEL = 1e13; // above any ms timestamp for centuries: level · 1e13 + at orders by level, then time
const rank = (level: number, at: number): string => String(level * RANK_LEVEL + at);

/** A short digest of the event: the fold script folds each distinct event once. */
export function eventId(e: DomainEvent): string {
  return hash('sha1', JSON.stringify(e), 'hex').slice(0, 16);
}

/** The call the event is about and what it changes in its record, or null when it is not about one call. */
export function foldOps(e: DomainEvent): { callSid: string; ops: FoldOp[] } | null {
  const at = String(e.at);
  const ops: FoldOp[] = [];
  let callSid: string | undefined;
  switch (e.type) {
    case 'call.started':
      callSid = e.callSid;
      ops.push(['setnx', 'startedAt', at], ['set', 'flow', e.flow]);
      if (e.callerHash) ops.push(['set', 'callerKey', e.callerHash]);
      if (e.calledNumber) ops.push(['set', 'numberCalled', e.calledNumber]);
      if (e.language) ops.push(['rank', 'language', at, 'language', e.language]);
      break;
    case 'call.ended':
      callSid = e.callSid;
      ops.push(['set', 'endedAt', at], ['set', 'endStatus', e.status], ['set', 'durationSeconds', String(e.durationSeconds)]);
      break;
    case 'language.selected':
      callSid = e.callSid;
      ops.push(['rank', 'language', at, 'language', e.language]);
      break;
    case 'ivr.exit':
      callSid = e.callSid;
      ops.push(['rank', 'ivr', at, 'ivrExit', e.exit, ...(e.path ? ['ivrPath', JSON.stringify(e.path)] : [])]);
      if (e.language) ops.push(['rank', 'language', at, 'language', e.language]);
      if (e.exit === 'voicemail') ops.push(['rank', 'outcome', rank(2, e.at), 'outcome', 'voicemail']);
      else if (e.exit !== 'queue') ops.push(['rank', 'outcome', rank(1, e.at), 'outcome', 'ivr']);
      break;
    case 'voicemail.recorded':
      callSid = e.callSid;
      ops.push(['set', 'voicemailSid', e.recordingSid], ['rank', 'outcome', rank(2, e.at), 'outcome', 'voicemail']);
      if (e.queue !== 'none') ops.push(['setnx', 'queue', e.queue]);
      break;
    case 'queue.offered':
      callSid = e.callSid;
      ops.push(['setnx', 'queue', e.queue]);
      break;
    case 'queue.left': {
      callSid = e.callSid;
      const outcome = e.outcome === 'abandoned' && e.short ? 'short_abandon' : e.outcome;
      ops.push(['rank', 'outcome', rank(3, e.at), 'outcome', outcome, 'queue', e.queue], ['add', 'waitSeconds', String(e.waitSeconds)]);
      if (e.overflowTarget) ops.push(['setnx', 'overflowTarget', e.overflowTarget]);
      if (e.overflowReason) ops.push(['setnx', 'overflowReason', e.overflowReason]);
      if (e.outcome === 'answered' && e.agentId) ops.push(['setnx', 'agent', e.agentId]);
      break;
    }
    case 'callback.attempt':
      callSid = e.callSid;
      ops.push(['rank', 'callback', at, 'callbackResult', e.result]);
      break;
    case 'call.handled':
      callSid = e.callSid;
      ops.push(
        ['add', 'talkSeconds', String(e.talkSeconds)],
        ['add', 'holdSeconds', String(e.holdSeconds)],
        ['add', 'wrapUpSeconds', String(e.wrapupSeconds)],
        ['push', 'agents', JSON.stringify(e.agentId)],
        ['setnx', 'agent', e.agentId],
        ['rank', 'disposition', at, 'disposition', e.disposition, 'dispositionCode', e.code],
      );
      break;
    case 'contact.repeat':
      if (!e.callSid) return null;
      callSid = e.callSid;
      ops.push(['set', 'repeatContact', '1'], ...(e.previousCallSid ? [['set', 'repeatOf', e.previousCallSid]] : []));
      break;
    case 'survey.response':
      callSid = e.callSid;
      ops.push(['set', e.survey, String(e.score)]);
      break;
    case 'transfer':
      callSid = e.callSid;
      ops.push([
        'push',
        'transfers',
        JSON.stringify({
          kind: e.kind,
          mode: e.mode,
          result: e.result,
          ...(e.target ? { target: e.target } : {}),
          ...(e.fromAgentId ? { from: e.fromAgentId } : {}),
        }),
      ]);
      break;
    case 'recording.completed':
      // The call's latest complete recording (a call transferred into another recording queue has two).
      callSid = e.callSid;
      ops.push([
        'rank',
        'recording',
        at,
        'recordingSid',
        e.recordingSid,
        'recordingUrl',
        e.url,
        'recordingDurationSeconds',
        String(e.durationSeconds),
      ]);
      break;
    default:
      return null;
  }
  if (!callSid) return null;
  return { callSid, ops };
}
