/**
 * A small TwiML writer for the verbs Switchboard answers with: the same method names and attribute types
 * as the subset of the twilio package's VoiceResponse we use (so a call site changes by one import), and
 * the same bytes as its xmlbuilder output (`<?xml version="1.0" encoding="UTF-8"?>`, attributes in the
 * order given and skipped when null/undefined, arrays joined by spaces, empty elements (or only empty text) self-closed, the
 * same escaping, and an error on a character XML 1.0 does not allow in text). It builds a tree and writes
 * it once in toString(), without the generic builder's per-node objects and validation passes; checked
 * byte for byte against the twilio package in test/unit/twiml.test.ts.
 */
import type A from 'twilio/lib/twiml/VoiceResponse.js';

type Attrs = object | undefined;

const ATT = /[&<"\t\n\r]/g;
const TXT = /[&<>\r]/g;
const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\t': '&#x9;', '\n': '&#xA;', '\r': '&#xD;' };
const esc = (c: string): string => ESC[c]!;
// Characters XML 1.0 does not allow (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF).
// eslint-disable-next-line no-control-regex -- the control characters are what this matches
const ILLEGAL = /[\0-\x08\x0B\f\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:[^\uD800-\uDBFF]|^)[\uDC00-\uDFFF]/;

function attributes(a: Attrs): string {
  if (!a) return '';
  let out = '';
  for (const k in a) {
    if (!Object.prototype.hasOwnProperty.call(a, k)) continue;
    const v = (a as Record<string, unknown>)[k];
    if (v === null || v === undefined) continue;
    const s = Array.isArray(v) ? v.join(' ') : String(v);
    out += ` ${k}="${s.replace(ATT, esc)}"`;
  }
  return out;
}

function text(t: unknown): string {
  const s = String(t);
  const bad = ILLEGAL.exec(s);
  if (bad) throw new Error(`Invalid character in string: ${s} at index ${bad.index}`);
  return s.replace(TXT, esc);
}

/** One element: its open tag's name and attributes, then children (elements or escaped text). */
class Element {
  protected readonly children: (Element | string)[] = [];
  constructor(
    private readonly name: string,
    private readonly attrs: string,
  ) {}

  protected add(name: string, attrs: Attrs, body?: unknown): Element {
    const e = new Element(name, attributes(attrs));
    if (body !== undefined && body !== null) e.children.push(text(body));
    this.children.push(e);
    return e;
  }

  protected addNode<T extends Element>(node: T): T {
    this.children.push(node);
    return node;
  }

  write(): string {
    // As xmlbuilder: no children, or only empty text, is a self-closed element.
    if (this.children.every((c) => c === '')) return `<${this.name}${this.attrs}/>`;
    let inner = '';
    for (const c of this.children) inner += typeof c === 'string' ? c : c.write();
    return `<${this.name}${this.attrs}>${inner}</${this.name}>`;
  }
}

/** Overloads as in the twilio package: (attributes, body) or (body). */
const split = <T>(a: T | string, b: string | undefined): [T | object, string | undefined] => (typeof a === 'string' ? [{}, a] : [a, b]);

export class Gather extends Element {
  constructor(attrs: Attrs) {
    super('Gather', attributes(attrs));
  }
  say(attrs: A.SayAttributes | string, message?: string): Element {
    const [a, m] = split(attrs, message);
    return this.add('Say', a, m);
  }
  play(attrs?: A.PlayAttributes | string, url?: string): Element {
    const [a, u] = split(attrs ?? {}, url);
    return this.add('Play', a, u);
  }
  pause(attrs?: A.PauseAttributes): Element {
    return this.add('Pause', attrs);
  }
}

export class Dial extends Element {
  constructor(attrs: Attrs, number?: string) {
    super('Dial', attributes(attrs));
    if (number !== undefined) this.children.push(text(number));
  }
  number(attrs: A.NumberAttributes | string, phoneNumber?: string): Element {
    const [a, n] = split(attrs, phoneNumber);
    return this.add('Number', a, n);
  }
  client(attrs: A.ClientAttributes | string, identity?: string): Element {
    const [a, n] = split(attrs, identity);
    return this.add('Client', a, n);
  }
  sip(attrs: A.SipAttributes | string, sipUrl?: string): Element {
    const [a, n] = split(attrs, sipUrl);
    return this.add('Sip', a, n);
  }
  conference(attrs: A.ConferenceAttributes | string, name?: string): Element {
    const [a, n] = split(attrs, name);
    return this.add('Conference', a, n);
  }
  queue(attrs: A.QueueAttributes | string, name?: string): Element {
    const [a, n] = split(attrs, name);
    return this.add('Queue', a, n);
  }
}

export class VoiceResponse extends Element {
  constructor() {
    super('Response', '');
  }
  say(attrs: A.SayAttributes | string, message?: string): Element {
    const [a, m] = split(attrs, message);
    return this.add('Say', a, m);
  }
  play(attrs?: A.PlayAttributes | string, url?: string): Element {
    const [a, u] = split(attrs ?? {}, url);
    return this.add('Play', a, u);
  }
  pause(attrs?: A.PauseAttributes): Element {
    return this.add('Pause', attrs);
  }
  hangup(attrs?: object): Element {
    return this.add('Hangup', attrs);
  }
  leave(attrs?: object): Element {
    return this.add('Leave', attrs);
  }
  reject(attrs?: A.RejectAttributes): Element {
    return this.add('Reject', attrs);
  }
  redirect(attrs: A.RedirectAttributes | string, url?: string): Element {
    const [a, u] = split(attrs, url);
    return this.add('Redirect', a, u);
  }
  enqueue(attrs: A.EnqueueAttributes | string, name?: string): Element {
    const [a, n] = split(attrs, name);
    return this.add('Enqueue', a, n);
  }
  record(attrs?: A.RecordAttributes): Element {
    return this.add('Record', attrs);
  }
  gather(attrs?: A.GatherAttributes): Gather {
    return this.addNode(new Gather(attrs));
  }
  dial(attrs?: A.DialAttributes | string, number?: string): Dial {
    const [a, n] = split(attrs ?? {}, number);
    return this.addNode(new Dial(a, n));
  }
  override toString(): string {
    return `<?xml version="1.0" encoding="UTF-8"?>${this.write()}`;
  }
}
