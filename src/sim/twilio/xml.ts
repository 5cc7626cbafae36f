/**
 * A small strict XML parser, enough for TwiML: one root element, attributes in single or double quotes,
 * text, the five predefined entities plus numeric character references, CDATA, comments and an XML
 * declaration. Anything malformed (unclosed or mismatched tags, a bare `&`, a `<` in an attribute value,
 * duplicate attributes, DOCTYPE, text outside the root) throws XmlError — Twilio answers those with 12100.
 */

export interface XmlElement {
  type: 'element';
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  line: number;
}

export interface XmlText {
  type: 'text';
  text: string;
}

export type XmlNode = XmlElement | XmlText;

export class XmlError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${message} (line ${line}, column ${column})`);
    this.name = 'XmlError';
  }
}

const NAME_START = /[A-Za-z_:]/;
const NAME_CHAR = /[-A-Za-z0-9_.:]/;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function parseXml(source: string): XmlElement {
  return new Parser(source).parseDocument();
}

/** Concatenated text of an element and its descendants. */
export function textContent(el: XmlElement): string {
  let out = '';
  for (const c of el.children) out += c.type === 'text' ? c.text : textContent(c);
  return out;
}

class Parser {
  private i = 0;

  constructor(private readonly s: string) {
    if (s.charCodeAt(0) === 0xfeff) this.i = 1;
  }

  private fail(message: string, at = this.i): never {
    let line = 1;
    let col = 1;
    for (let k = 0; k < at && k < this.s.length; k++) {
      if (this.s[k] === '\n') {
        line++;
        col = 1;
      } else col++;
    }
    throw new XmlError(message, line, col);
  }

  private lineAt(at: number): number {
    let line = 1;
    for (let k = 0; k < at; k++) if (this.s.charCodeAt(k) === 10) line++;
    return line;
  }

  private startsWith(t: string): boolean {
    return this.s.startsWith(t, this.i);
  }

  private skipWs(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i] as string)) this.i++;
  }

  parseDocument(): XmlElement {
    this.skipWs();
    if (this.startsWith('<?xml')) {
      const end = this.s.indexOf('?>', this.i);
      if (end < 0) this.fail('unterminated XML declaration');
      const decl = this.s.slice(this.i + 5, end);
      if (!/^\s+version\s*=\s*(["'])1\.[0-9]+\1/.test(decl)) this.fail('malformed XML declaration');
      this.i = end + 2;
    }
    this.skipMisc();
    if (this.i >= this.s.length) this.fail('no root element');
    if (this.startsWith('<!DOCTYPE')) this.fail('DOCTYPE is not allowed');
    if (this.s[this.i] !== '<') this.fail('text before the root element');
    const root = this.parseElement();
    this.skipMisc();
    if (this.i < this.s.length) this.fail('content after the root element');
    return root;
  }

  /** Whitespace, comments and processing instructions between top-level items. */
  private skipMisc(): void {
    for (;;) {
      this.skipWs();
      if (this.startsWith('<!--')) this.skipComment();
      else if (this.startsWith('<?')) {
        if (this.startsWith('<?xml') && /^<\?xml[\s?]/.test(this.s.slice(this.i, this.i + 6)))
          this.fail('XML declaration not at the start');
        const end = this.s.indexOf('?>', this.i);
        if (end < 0) this.fail('unterminated processing instruction');
        this.i = end + 2;
      } else return;
    }
  }

  private skipComment(): void {
    const end = this.s.indexOf('-->', this.i + 4);
    if (end < 0) this.fail('unterminated comment');
    if (this.s.slice(this.i + 4, end).includes('--')) this.fail("'--' inside a comment");
    this.i = end + 3;
  }

  private parseName(): string {
    const start = this.i;
    if (!NAME_START.test(this.s[this.i] ?? '')) this.fail('expected a name');
    this.i++;
    while (this.i < this.s.length && NAME_CHAR.test(this.s[this.i] as string)) this.i++;
    return this.s.slice(start, this.i);
  }

  private parseElement(): XmlElement {
    const open = this.i;
    this.i++; // '<'
    const name = this.parseName();
    const el: XmlElement = { type: 'element', name, attrs: {}, children: [], line: this.lineAt(open) };
    for (;;) {
      const before = this.i;
      this.skipWs();
      const c = this.s[this.i];
      if (c === undefined) this.fail(`unterminated start tag <${name}>`);
      if (c === '/') {
        if (this.s[this.i + 1] !== '>') this.fail("expected '>' after '/'");
        this.i += 2;
        return el;
      }
      if (c === '>') {
        this.i++;
        break;
      }
      if (this.i === before) this.fail('expected whitespace between attributes');
      const attrAt = this.i;
      const an = this.parseName();
      this.skipWs();
      if (this.s[this.i] !== '=') this.fail(`attribute ${an} has no value`);
      this.i++;
      this.skipWs();
      const q = this.s[this.i];
      if (q !== '"' && q !== "'") this.fail(`attribute ${an} value must be quoted`);
      const end = this.s.indexOf(q, this.i + 1);
      if (end < 0) this.fail(`unterminated value of attribute ${an}`);
      const raw = this.s.slice(this.i + 1, end);
      if (raw.includes('<')) this.fail(`'<' in the value of attribute ${an}`, this.i);
      if (Object.prototype.hasOwnProperty.call(el.attrs, an)) this.fail(`duplicate attribute ${an}`, attrAt);
      el.attrs[an] = this.decode(raw, this.i + 1).replace(/[\t\n\r]/g, ' ');
      this.i = end + 1;
    }
    // content
    let text = '';
    const flush = (): void => {
      if (text) el.children.push({ type: 'text', text });
      text = '';
    };
    for (;;) {
      if (this.i >= this.s.length) this.fail(`<${name}> is not closed`, open);
      if (this.startsWith('</')) {
        flush();
        this.i += 2;
        const closeAt = this.i;
        const cn = this.parseName();
        if (cn !== name) this.fail(`</${cn}> does not match <${name}>`, closeAt);
        this.skipWs();
        if (this.s[this.i] !== '>') this.fail("expected '>'");
        this.i++;
        return el;
      }
      if (this.startsWith('<!--')) {
        this.skipComment();
        continue;
      }
      if (this.startsWith('<![CDATA[')) {
        const end = this.s.indexOf(']]>', this.i);
        if (end < 0) this.fail('unterminated CDATA section');
        text += this.s.slice(this.i + 9, end);
        this.i = end + 3;
        continue;
      }
      if (this.startsWith('<?')) {
        const end = this.s.indexOf('?>', this.i);
        if (end < 0) this.fail('unterminated processing instruction');
        this.i = end + 2;
        continue;
      }
      if (this.startsWith('<!')) this.fail('unexpected markup declaration');
      if (this.s[this.i] === '<') {
        flush();
        el.children.push(this.parseElement());
        continue;
      }
      let next = this.s.indexOf('<', this.i);
      if (next < 0) next = this.s.length;
      const raw = this.s.slice(this.i, next);
      if (raw.includes(']]>')) this.fail("']]>' in text");
      text += this.decode(raw, this.i);
      this.i = next;
    }
  }

  private decode(raw: string, at: number): string {
    if (!raw.includes('&')) return raw;
    let out = '';
    let k = 0;
    while (k < raw.length) {
      const amp = raw.indexOf('&', k);
      if (amp < 0) {
        out += raw.slice(k);
        break;
      }
      out += raw.slice(k, amp);
      const semi = raw.indexOf(';', amp);
      if (semi < 0) this.fail("bare '&' (use &amp;)", at + amp);
      const ent = raw.slice(amp + 1, semi);
      let ch: string | undefined;
      if (/^#[0-9]+$/.test(ent)) ch = codePoint(parseInt(ent.slice(1), 10));
      else if (/^#x[0-9a-fA-F]+$/.test(ent)) ch = codePoint(parseInt(ent.slice(2), 16));
      else ch = ENTITIES[ent];
      if (ch === undefined) this.fail(`unknown entity &${ent};`, at + amp);
      out += ch;
      k = semi + 1;
    }
    return out;
  }
}

function codePoint(n: number): string | undefined {
  if (n === 0x9 || n === 0xa || n === 0xd || (n >= 0x20 && n <= 0xd7ff) || (n >= 0xe000 && n <= 0xfffd) || (n >= 0x10000 && n <= 0x10ffff))
    return String.fromCodePoint(n);
  return undefined;
}
