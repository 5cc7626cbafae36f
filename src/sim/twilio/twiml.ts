/**
 * TwiML: parse a document with the strict XML parser, check it against the verbs allowed in the context it
 * runs in (twiml-verbs.ts), and turn it into typed verbs with Twilio's defaults applied (each verb's page under
 * https://www.twilio.com/docs/voice/twiml gives its attributes, defaults and nesting).
 *
 * Errors (TwimlError → Twilio error 12100, the document does not run): malformed XML, a root other than
 * `<Response>`, an unknown or mis-cased verb, a verb not allowed in this context, a bad nesting, a verb
 * missing its required content, non-blank text where only verbs belong, and — for TwiML handed over REST —
 * a relative URL. Warnings (Twilio's 12200 family; the verb runs with the default): an unknown attribute
 * or an invalid attribute value.
 */
import {
  ALLOWED,
  ATTRS,
  NOT_EMULATED,
  SSML,
  TOP,
  type ConferenceNoun,
  type DialNoun,
  type DialVerb,
  type EndpointNoun,
  type GatherVerb,
  type PlayVerb,
  type PromptVerb,
  type SayVerb,
  type Verb,
} from './twiml-verbs.js';
import type { DocContext, HttpMethod, StatusEvent } from './types.js';
import { parseXml, textContent, XmlError, type XmlElement } from './xml.js';

export type * from './twiml-verbs.js';
export { ALLOWED } from './twiml-verbs.js';

export interface ParsedTwiml {
  verbs: Verb[];
  warnings: string[];
}

export class TwimlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TwimlError';
  }
}

export interface ParseOptions {
  context: DocContext;
  /** TwiML handed over REST (`Twiml=`) must use absolute URLs. */
  requireAbsoluteUrls?: boolean;
}

/** Parse and validate a TwiML document. Throws TwimlError (→ 12100). */
export function parseTwiml(xml: string, opts: ParseOptions): ParsedTwiml {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (e) {
    if (e instanceof XmlError) throw new TwimlError(`malformed XML: ${e.message}`);
    throw e;
  }
  if (root.name !== 'Response') throw new TwimlError(`root element must be <Response>, got <${root.name}>`);
  const b = new Builder(opts);
  b.noAttrs(root);
  const verbs: Verb[] = [];
  for (const c of root.children) {
    if (c.type === 'text') {
      if (c.text.trim()) throw new TwimlError(`text "${c.text.trim().slice(0, 40)}" directly inside <Response>`);
      continue;
    }
    verbs.push(b.verb(c, opts.context));
  }
  return { verbs, warnings: b.warnings };
}

function isAbsolute(u: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(u);
}

class Builder {
  readonly warnings: string[] = [];
  constructor(private readonly opts: ParseOptions) {}

  private warn(msg: string): void {
    this.warnings.push(msg);
  }

  noAttrs(el: XmlElement): void {
    for (const a of Object.keys(el.attrs)) {
      if (a === 'xmlns' || a.startsWith('xmlns:')) continue;
      this.warn(`<${el.name}>: unknown attribute ${a}`);
    }
  }

  private checkAttrs(el: XmlElement): void {
    const known = ATTRS[el.name] ?? [];
    for (const a of Object.keys(el.attrs)) if (!known.includes(a)) this.warn(`<${el.name}>: unknown attribute ${a}`);
  }

  private url(el: XmlElement, name: string, value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    const v = value.trim();
    if (v === '') return undefined;
    if (this.opts.requireAbsoluteUrls && !isAbsolute(v))
      throw new TwimlError(`<${el.name} ${name}="${v}">: TwiML given over REST must use absolute URLs`);
    return v;
  }

  private method(el: XmlElement, name: string, dflt: HttpMethod): HttpMethod {
    const v = el.attrs[name];
    if (v === undefined) return dflt;
    const u = v.trim().toUpperCase();
    if (u === 'GET' || u === 'POST') return u;
    this.warn(`<${el.name}>: invalid ${name} "${v}"`);
    return dflt;
  }

  private num(el: XmlElement, name: string, dflt: number, min: number, max = Infinity, integer = true): number {
    const v = el.attrs[name];
    if (v === undefined) return dflt;
    const n = Number(v.trim());
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      this.warn(`<${el.name}>: invalid ${name} "${v}"`);
      return dflt;
    }
    return n;
  }

  private bool(el: XmlElement, name: string, dflt: boolean): boolean {
    const v = el.attrs[name];
    if (v === undefined) return dflt;
    const t = v.trim().toLowerCase();
    if (t === 'true') return true;
    if (t === 'false') return false;
    this.warn(`<${el.name}>: invalid ${name} "${v}" (must be true or false)`);
    return dflt;
  }

  private elementsOnly(el: XmlElement): XmlElement[] {
    const out: XmlElement[] = [];
    for (const c of el.children) {
      if (c.type === 'text') {
        if (c.text.trim()) throw new TwimlError(`<${el.name}> must not contain text`);
      } else out.push(c);
    }
    return out;
  }

  private textOnly(el: XmlElement): string {
    for (const c of el.children) if (c.type === 'element') throw new TwimlError(`<${c.name}> is not allowed inside <${el.name}>`);
    return textContent(el).trim();
  }

  private empty(el: XmlElement): void {
    for (const c of el.children) {
      if (c.type === 'element') throw new TwimlError(`<${c.name}> is not allowed inside <${el.name}>`);
      if (c.text.trim()) this.warn(`<${el.name}>: text content ignored`);
    }
  }

  verb(el: XmlElement, context: DocContext): Verb {
    const name = el.name;
    const allowed = ALLOWED[context];
    if (!(allowed as readonly string[]).includes(name)) {
      if ((TOP as readonly string[]).includes(name))
        throw new TwimlError(`<${name}> is not allowed in a ${context} document (allowed: ${allowed.join(', ')})`);
      if (NOT_EMULATED.includes(name)) throw new TwimlError(`<${name}> is valid TwiML but is not emulated`);
      const cased = TOP.find((v) => v.toLowerCase() === name.toLowerCase());
      throw new TwimlError(cased ? `unknown verb <${name}> (verbs are case-sensitive: <${cased}>)` : `unknown verb <${name}>`);
    }
    this.checkAttrs(el);
    switch (name) {
      case 'Say':
        return this.say(el);
      case 'Play':
        return this.play(el);
      case 'Pause':
        this.empty(el);
        return { kind: 'Pause', lengthS: this.num(el, 'length', 1, 0, 600) };
      case 'Gather':
        return this.gather(el);
      case 'Redirect': {
        const url = this.url(el, 'url', this.textOnly(el));
        if (!url) throw new TwimlError('<Redirect> needs a URL');
        return { kind: 'Redirect', url, method: this.method(el, 'method', 'POST') };
      }
      case 'Record':
        this.empty(el);
        return {
          kind: 'Record',
          action: this.url(el, 'action', el.attrs.action),
          method: this.method(el, 'method', 'POST'),
          timeoutS: this.num(el, 'timeout', 5, 0),
          finishOnKey: this.keys(el, 'finishOnKey', '1234567890*#'),
          maxLengthS: this.num(el, 'maxLength', 3600, 1, 14400),
          playBeep: this.bool(el, 'playBeep', true),
          recordingStatusCallback: this.url(el, 'recordingStatusCallback', el.attrs.recordingStatusCallback),
          recordingStatusCallbackMethod: this.method(el, 'recordingStatusCallbackMethod', 'POST'),
        };
      case 'Hangup':
        this.empty(el);
        return { kind: 'Hangup' };
      case 'Leave':
        this.empty(el);
        return { kind: 'Leave' };
      case 'Reject': {
        this.empty(el);
        const r = el.attrs.reason;
        if (r !== undefined && r !== 'rejected' && r !== 'busy') this.warn(`<Reject>: invalid reason "${r}"`);
        return { kind: 'Reject', reason: r === 'busy' ? 'busy' : 'rejected' };
      }
      case 'Enqueue': {
        const qn = this.textOnly(el);
        if (!qn) throw new TwimlError('<Enqueue> needs a queue name');
        if (qn.length > 64) throw new TwimlError('<Enqueue> queue name is longer than 64 characters');
        const max = el.attrs.maxQueueSize !== undefined ? this.num(el, 'maxQueueSize', 1000, 1, 5000) : undefined;
        return {
          kind: 'Enqueue',
          name: qn,
          action: this.url(el, 'action', el.attrs.action),
          method: this.method(el, 'method', 'POST'),
          waitUrl: this.url(el, 'waitUrl', el.attrs.waitUrl),
          waitUrlMethod: this.method(el, 'waitUrlMethod', 'POST'),
          maxQueueSize: max,
        };
      }
      case 'Dial':
        return this.dial(el);
      default:
        throw new TwimlError(`unknown verb <${name}>`);
    }
  }

  private keys(el: XmlElement, name: string, dflt: string): string {
    const v = el.attrs[name];
    if (v === undefined) return dflt;
    if (!/^[0-9*#]*$/.test(v)) {
      this.warn(`<${el.name}>: invalid ${name} "${v}"`);
      return dflt;
    }
    return v;
  }

  private say(el: XmlElement): SayVerb {
    for (const c of el.children) if (c.type === 'element') this.ssml(c);
    const text = textContent(el).replace(/\s+/g, ' ').trim();
    if (!text) this.warn('<Say>: empty text');
    const loop = this.num(el, 'loop', 1, 0, 1000);
    return { kind: 'Say', text, loop, voice: el.attrs.voice, language: el.attrs.language };
  }

  private ssml(el: XmlElement): void {
    if (!SSML.has(el.name)) throw new TwimlError(`<${el.name}> is not allowed inside <Say>`);
    for (const c of el.children) if (c.type === 'element') this.ssml(c);
  }

  private play(el: XmlElement): PlayVerb {
    const url = this.textOnly(el);
    const digits = el.attrs.digits;
    if (!url && !digits) throw new TwimlError('<Play> needs a URL or digits');
    if (digits !== undefined && !/^[0-9*#wW]*$/.test(digits)) this.warn(`<Play>: invalid digits "${digits}"`);
    return { kind: 'Play', url, loop: this.num(el, 'loop', 1, 0, 1000), digits };
  }

  private gather(el: XmlElement): GatherVerb {
    const prompts: PromptVerb[] = [];
    for (const c of this.elementsOnly(el)) {
      if (c.name !== 'Say' && c.name !== 'Play' && c.name !== 'Pause')
        throw new TwimlError(`<${c.name}> is not allowed inside <Gather> (only Say, Play, Pause)`);
      this.checkAttrs(c);
      if (c.name === 'Say') prompts.push(this.say(c));
      else if (c.name === 'Play') prompts.push(this.play(c));
      else {
        this.empty(c);
        prompts.push({ kind: 'Pause', lengthS: this.num(c, 'length', 1, 0, 600) });
      }
    }
    const inputAttr = el.attrs.input;
    let input: Array<'dtmf' | 'speech'> = ['dtmf'];
    if (inputAttr !== undefined) {
      const parts = inputAttr.trim().split(/\s+/).filter(Boolean);
      const ok = parts.length > 0 && parts.every((p) => p === 'dtmf' || p === 'speech');
      if (ok) input = [...new Set(parts)] as Array<'dtmf' | 'speech'>;
      else this.warn(`<Gather>: invalid input "${inputAttr}"`);
    }
    let speechTimeout: 'auto' | number = this.num(el, 'timeout', 5, 0, 600);
    const st = el.attrs.speechTimeout;
    if (st !== undefined) speechTimeout = st.trim() === 'auto' ? 'auto' : this.num(el, 'speechTimeout', 5, 0, 600);
    const nd = el.attrs.numDigits !== undefined ? this.num(el, 'numDigits', 0, 1) : undefined;
    return {
      kind: 'Gather',
      action: this.url(el, 'action', el.attrs.action),
      method: this.method(el, 'method', 'POST'),
      timeoutS: this.num(el, 'timeout', 5, 0, 600),
      finishOnKey: this.keys(el, 'finishOnKey', '#'),
      numDigits: nd || undefined,
      input,
      hints: el.attrs.hints,
      language: el.attrs.language,
      speechTimeout,
      actionOnEmptyResult: this.bool(el, 'actionOnEmptyResult', false),
      prompts,
    };
  }

  private statusEvents(el: XmlElement): StatusEvent[] {
    const v = el.attrs.statusCallbackEvent;
    if (v === undefined) return ['completed'];
    const out: StatusEvent[] = [];
    for (const p of v
      .trim()
      .split(/[\s,]+/)
      .filter(Boolean)) {
      if (p === 'initiated' || p === 'ringing' || p === 'answered' || p === 'completed') out.push(p);
      else this.warn(`<${el.name}>: invalid statusCallbackEvent "${p}"`);
    }
    return out;
  }

  private endpoint(el: XmlElement, kind: 'Number' | 'Client' | 'Sip'): EndpointNoun {
    this.checkAttrs(el);
    let text: string;
    if (kind === 'Client') {
      // <Client>alice</Client> or <Client><Identity>alice</Identity><Parameter .../></Client>
      let identity = '';
      for (const c of el.children) {
        if (c.type === 'text') identity += c.text;
        else if (c.name === 'Identity') identity += textContent(c);
        else if (c.name !== 'Parameter') throw new TwimlError(`<${c.name}> is not allowed inside <Client>`);
      }
      text = identity.trim();
      if (!text) throw new TwimlError('<Client> needs an identity');
      text = text.startsWith('client:') ? text : `client:${text}`;
    } else {
      text = this.textOnly(el);
      if (!text) throw new TwimlError(`<${kind}> needs ${kind === 'Sip' ? 'a SIP URI' : 'a number'}`);
      if (kind === 'Sip' && !/^sips?:/i.test(text)) throw new TwimlError(`<Sip> URI must start with sip: (${text})`);
    }
    return {
      kind,
      address: text,
      url: this.url(el, 'url', el.attrs.url),
      method: this.method(el, 'method', 'POST'),
      statusCallback: this.url(el, 'statusCallback', el.attrs.statusCallback),
      statusCallbackMethod: this.method(el, 'statusCallbackMethod', 'POST'),
      statusCallbackEvents: this.statusEvents(el),
      sendDigits: el.attrs.sendDigits,
    };
  }

  /** `<Conference>` record and its recording status callback (https://www.twilio.com/docs/voice/twiml/conference). */
  private conferenceRecording(
    c: XmlElement,
  ): Pick<
    ConferenceNoun,
    'recordFromStart' | 'recordingStatusCallback' | 'recordingStatusCallbackMethod' | 'recordingStatusCallbackEvents'
  > {
    const rec = c.attrs.record;
    if (rec !== undefined && rec !== 'record-from-start' && rec !== 'do-not-record') this.warn(`<Conference>: invalid record "${rec}"`);
    const evs = c.attrs.recordingStatusCallbackEvent;
    return {
      recordFromStart: rec === 'record-from-start',
      recordingStatusCallback: this.url(c, 'recordingStatusCallback', c.attrs.recordingStatusCallback),
      recordingStatusCallbackMethod: this.method(c, 'recordingStatusCallbackMethod', 'POST'),
      recordingStatusCallbackEvents:
        evs === undefined
          ? ['completed']
          : evs
              .trim()
              .split(/[\s,]+/)
              .filter(Boolean),
    };
  }

  private dial(el: XmlElement): DialVerb {
    const nouns: DialNoun[] = [];
    let plain = '';
    for (const c of el.children) {
      if (c.type === 'text') {
        plain += c.text;
        continue;
      }
      switch (c.name) {
        case 'Number':
        case 'Client':
        case 'Sip':
          nouns.push(this.endpoint(c, c.name));
          break;
        case 'Conference': {
          this.checkAttrs(c);
          const name = this.textOnly(c);
          if (!name) throw new TwimlError('<Conference> needs a room name');
          const beep = c.attrs.beep;
          if (beep !== undefined && !['true', 'false', 'onEnter', 'onExit'].includes(beep))
            this.warn(`<Conference>: invalid beep "${beep}"`);
          const waitUrlRaw = c.attrs.waitUrl;
          const evs = c.attrs.statusCallbackEvent;
          nouns.push({
            kind: 'Conference',
            name,
            muted: this.bool(c, 'muted', false),
            beep: beep === 'false' || beep === 'onEnter' || beep === 'onExit' ? beep : 'true',
            startConferenceOnEnter: this.bool(c, 'startConferenceOnEnter', true),
            endConferenceOnExit: this.bool(c, 'endConferenceOnExit', false),
            waitUrl: waitUrlRaw === undefined ? undefined : waitUrlRaw.trim() === '' ? '' : this.url(c, 'waitUrl', waitUrlRaw),
            waitMethod: this.method(c, 'waitMethod', 'POST'),
            maxParticipants: this.num(c, 'maxParticipants', 250, 2, 250),
            coach: c.attrs.coach?.trim() || undefined,
            statusCallback: this.url(c, 'statusCallback', c.attrs.statusCallback),
            statusCallbackMethod: this.method(c, 'statusCallbackMethod', 'POST'),
            statusCallbackEvents:
              evs === undefined
                ? ['start', 'end']
                : evs
                    .trim()
                    .split(/[\s,]+/)
                    .filter(Boolean),
            participantLabel: c.attrs.participantLabel,
            ...this.conferenceRecording(c),
          });
          break;
        }
        case 'Queue': {
          this.checkAttrs(c);
          const name = this.textOnly(c);
          if (!name) throw new TwimlError('<Queue> needs a queue name');
          nouns.push({ kind: 'Queue', name, url: this.url(c, 'url', c.attrs.url), method: this.method(c, 'method', 'POST') });
          break;
        }
        default:
          throw new TwimlError(`<${c.name}> is not allowed inside <Dial> (nouns: Number, Client, Sip, Conference, Queue)`);
      }
    }
    const number = plain.trim();
    if (number) {
      if (nouns.length > 0) throw new TwimlError('<Dial> mixes a plain number with nouns');
      nouns.push({
        kind: 'Number',
        address: number,
        method: 'POST',
        statusCallbackMethod: 'POST',
        statusCallbackEvents: ['completed'],
      });
    }
    if (nouns.length === 0) throw new TwimlError('<Dial> has nothing to dial');
    const exclusive = nouns.filter((n) => n.kind === 'Conference' || n.kind === 'Queue');
    if (exclusive.length > 0 && nouns.length > 1) throw new TwimlError('<Conference> and <Queue> must be the only noun inside <Dial>');
    return {
      kind: 'Dial',
      action: this.url(el, 'action', el.attrs.action),
      method: this.method(el, 'method', 'POST'),
      timeoutS: this.num(el, 'timeout', 30, 1, 600),
      callerId: el.attrs.callerId?.trim() || undefined,
      timeLimitS: this.num(el, 'timeLimit', 14400, 1, 86400),
      nouns,
    };
  }
}
