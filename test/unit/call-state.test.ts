/**
 * The call's state hash (src/store/call-state.ts): every state survives encode → decode, and the snapshot of
 * the state before a step restores exactly that state from the one after it, whatever the step changed.
 */
import { describe, expect, it } from 'vitest';
import type { IvrState } from '../../src/ivr/step.js';
import { decodeState, encodeState, restore, snapshot, tokenDigest } from '../../src/store/call-state.js';

const SID = 'CA' + '1'.repeat(32);
const base: IvrState = {
  callSid: SID,
  flow: 'main',
  node: 'language',
  language: 'en',
  retries: 0,
  stack: [],
  path: [],
  selfService: false,
  askedAgent: false,
  phase: 'ivr',
  startedAt: 1_767_621_600_000,
  callerHash: 'ab'.repeat(16),
  contactId: SID,
};
const toHash = (pairs: string[]): Record<string, string> => {
  const h: Record<string, string> = {};
  for (let i = 0; i < pairs.length; i += 2) h[pairs[i]!] = pairs[i + 1]!;
  return h;
};

describe('call state hash', () => {
  it('decodes what it encodes (the number called is not kept)', () => {
    const states: IvrState[] = [
      base,
      { ...base, retries: 2, stack: ['language', 'main-menu'], path: ['language', 'support:closed', 'main-menu'], selfService: true },
      { ...base, phase: 'queue', queue: 'support', askedAgent: true, leaveFor: 'voicemail', contactId: 'CA' + '2'.repeat(32) },
      { ...base, phase: 'survey', callEnded: true, survey: { step: 'nps', queue: 'support', answers: { csat: 4 } } },
    ];
    for (const s of states) expect(decodeState(SID, toHash(encodeState(s)))).toEqual(s);
    expect(decodeState(SID, toHash(encodeState({ ...base, calledNumber: '+18005550100' })))).toEqual(base);
    expect(decodeState(SID, {})).toBeNull();
  });

  it('restores the state a step started from', () => {
    const before: IvrState = { ...base, node: 'main-menu', retries: 1, stack: ['language'], path: ['language', 'hours', 'main-menu'] };
    const steps: IvrState[] = [
      {
        ...before,
        node: 'to-support',
        retries: 0,
        stack: ['language', 'main-menu'],
        path: [...before.path, 'to-support'],
        askedAgent: true,
        phase: 'queue',
        queue: 'support',
      },
      { ...before, node: 'language', retries: 0, stack: [], path: [...before.path, 'language'], language: 'es' },
      { ...before, retries: 2 },
      // The path is bounded: when its oldest entries went, the snapshot holds the whole path before.
      { ...before, path: ['hours', 'main-menu', 'billing-menu'] },
    ];
    for (const after of steps) {
      const snap = snapshot(before, after);
      expect(restore({ ...after, leaveFor: 'voicemail' }, snap)).toEqual({ ...before, leaveFor: 'voicemail' });
    }
  });

  it('keeps a short digest of any token', () => {
    expect(tokenDigest('a'.repeat(200))).toHaveLength(12);
    expect(tokenDigest('tok-1')).not.toBe(tokenDigest('tok-2'));
  });
});
