/**
 * The IVR state of a call a queue webhook names: the stored one, or, for a call the server has no state
 * for (expired, or sent straight to the queue URL), a fresh one at the start of the first flow.
 */
import type { Clock } from '../clock.js';
import type { CenterConfig } from '../config/callcenter.js';
import { initialState, type IvrState } from '../ivr/step.js';
import { callerHash } from '../privacy.js';
import type { CallStore } from '../store/calls.js';

export async function storedOrFreshState(
  calls: CallStore,
  o: { center: CenterConfig; clock: Clock; callerHashKey: string },
  p: { CallSid: string; From: string },
): Promise<IvrState> {
  return (
    (await calls.get(p.CallSid)) ??
    initialState({
      callSid: p.CallSid,
      flow: Object.values(o.center.flows)[0]!,
      center: o.center,
      now: o.clock.now(),
      callerHash: callerHash(o.callerHashKey, p.From),
      contactId: p.CallSid,
    })
  );
}
