/**
 * The scripted caller most tests need: answers each <Gather> by what they hear, as a person would —
 * English, then a main-menu choice (technical support by default), optionally a key while waiting in line
 * (callback, voicemail: on the first announcement only), and the post-call survey when asked.
 */
import type { CallerBehaviour, GatherContext } from '../../src/sim/twilio/index.js';

export interface SupportCallerOptions {
  /** Hang up after waiting this long in a queue (default 30 min). */
  patienceMs?: number;
  /** The key pressed at the main menu (default '2': technical support). */
  menu?: string;
  /** A key pressed at the first "you are number N in line" announcement. */
  keys?: string;
  /** Survey answers; no answer (a timeout) when not given. */
  csat?: string;
  nps?: string;
  ces?: string;
  /** Anything else of the caller's behaviour (talk time, callback answering, recording). */
  extra?: Omit<CallerBehaviour, 'gather' | 'patienceMs'>;
}

export function supportCaller(o: SupportCallerOptions = {}): CallerBehaviour {
  return {
    patienceMs: o.patienceMs ?? 30 * 60_000,
    ...o.extra,
    gather: (ctx: GatherContext) => {
      const heard = ctx.heard.join(' ');
      if (heard.includes('For English, press 1')) return { digits: '1' };
      if (heard.includes('For technical support, press 2')) return { digits: o.menu ?? '2' };
      if (heard.includes('in line')) return o.keys && ctx.attempt === 1 ? { digits: o.keys } : null;
      if (heard.includes('how satisfied')) return o.csat ? { digits: o.csat } : null;
      if (heard.includes('recommend')) return o.nps ? { digits: o.nps } : null;
      if (heard.includes('how easy')) return o.ces ? { digits: o.ces } : null;
      return null;
    },
  };
}
