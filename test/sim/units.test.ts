import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { interpretGather } from '../../src/sim/twilio/gather.js';
import { checkBasicAuth, parseTwiml, parseXml, Random, signingUrl, signRequest, TwimlError, XmlError } from '../../src/sim/twilio/index.js';
import type { GatherVerb } from '../../src/sim/twilio/twiml.js';

describe('signing', () => {
  it('matches the known vector of twilio.md section 1', () => {
    const params = {
      CallSid: 'CA1234567890ABCDE',
      Caller: '+14158675309',
      Digits: '1234',
      From: '+14158675309',
      To: '+18005551212',
    };
    const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
    expect(twilio.getExpectedTwilioSignature('12345', url, params)).toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
    expect(signRequest('12345', url, params)).toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
    expect(twilio.validateRequest('12345', 'RSOYDt4T1cUTdK1PDd93/VVr8B8=', url, params)).toBe(true);
  });

  it('signs https URLs without the port, http URLs with it, never credentials or fragments', () => {
    expect(signingUrl('https://u:p@example.com:8443/a?b=1#frag')).toBe('https://example.com/a?b=1');
    expect(signingUrl('http://127.0.0.1:3000/a')).toBe('http://127.0.0.1:3000/a');
    const p = { A: '1' };
    expect(signRequest('t', 'https://example.com:8443/x', p)).toBe(twilio.getExpectedTwilioSignature('t', 'https://example.com/x', p));
  });

  it('checks Basic auth', () => {
    const h = 'Basic ' + Buffer.from('ACx:tok').toString('base64');
    expect(checkBasicAuth(h, 'ACx', 'tok')).toBe(true);
    expect(checkBasicAuth(h, 'ACx', 'tok2')).toBe(false);
    expect(checkBasicAuth(undefined, 'ACx', 'tok')).toBe(false);
  });
});

describe('XML parser', () => {
  it('parses declaration, attributes, entities, CDATA and comments', () => {
    const el = parseXml(
      `<?xml version="1.0" encoding="UTF-8"?>\n<!-- c --><Response><Say voice='alice' loop="2">Tom &amp; Jerry &lt;3 &#65;&#x42; &quot;q&apos;</Say><![CDATA[<raw>]]></Response>`,
    );
    expect(el.name).toBe('Response');
    const say = el.children[0];
    expect(say?.type === 'element' && say.attrs).toEqual({ voice: 'alice', loop: '2' });
    expect(say?.type === 'element' && say.children[0]).toEqual({ type: 'text', text: 'Tom & Jerry <3 AB "q\'' });
    expect(el.children[1]).toEqual({ type: 'text', text: '<raw>' });
  });

  it.each([
    ['<Response>', /not closed/],
    ['<Response></Reponse>', /does not match/],
    ['<Response><Say>a & b</Say></Response>', /bare '&'/],
    ['<Response><Say>&nbsp;</Say></Response>', /unknown entity/],
    ['<Response a="1" a="2"/>', /duplicate attribute/],
    ['<Response a=1/>', /must be quoted/],
    ['<Response a="<"/>', /'<' in the value/],
    ['<Response/><Response/>', /after the root/],
    ['text<Response/>', /text before/],
    ['<!DOCTYPE x><Response/>', /DOCTYPE/],
    ['', /no root/],
  ])('rejects %j', (src, msg) => {
    expect(() => parseXml(src)).toThrow(XmlError);
    expect(() => parseXml(src)).toThrow(msg);
  });
});

describe('TwiML validation', () => {
  const ok = (xml: string, context: Parameters<typeof parseTwiml>[1]['context'] = 'top') => parseTwiml(xml, { context });
  const bad = (xml: string, context: Parameters<typeof parseTwiml>[1]['context'], msg: RegExp, abs = false) => {
    expect(() => parseTwiml(xml, { context, requireAbsoluteUrls: abs })).toThrow(TwimlError);
    expect(() => parseTwiml(xml, { context, requireAbsoluteUrls: abs })).toThrow(msg);
  };

  it('applies Twilio defaults', () => {
    const { verbs } = ok(
      '<Response><Gather><Say>x</Say></Gather><Dial><Client>alice</Client></Dial><Pause/><Enqueue>q</Enqueue></Response>',
    );
    expect(verbs[0]).toMatchObject({
      kind: 'Gather',
      timeoutS: 5,
      finishOnKey: '#',
      method: 'POST',
      input: ['dtmf'],
      actionOnEmptyResult: false,
    });
    expect(verbs[1]).toMatchObject({ kind: 'Dial', timeoutS: 30, nouns: [{ kind: 'Client', address: 'client:alice' }] });
    expect(verbs[2]).toMatchObject({ kind: 'Pause', lengthS: 1 });
    expect(verbs[3]).toMatchObject({ kind: 'Enqueue', name: 'q', waitUrlMethod: 'POST' });
  });

  it('enforces what may stand where (twilio.md section 3)', () => {
    bad('<Response><Dial>+1555</Dial></Response>', 'waitUrl', /not allowed in a waitUrl document/);
    bad('<Response><Gather/></Response>', 'dialQueueUrl', /not allowed in a dialQueueUrl/);
    bad('<Response><Hangup/></Response>', 'dialQueueUrl', /not allowed/);
    ok('<Response><Play>a.mp3</Play><Say>x</Say><Pause/><Redirect>/x</Redirect></Response>', 'dialQueueUrl');
    ok('<Response><Play>a</Play><Say>x</Say><Pause/><Hangup/><Redirect>/x</Redirect><Leave/><Gather/></Response>', 'waitUrl');
    bad('<Response><Gather><Gather/></Gather></Response>', 'top', /not allowed inside <Gather>/);
    bad('<Response><Dial><Say>x</Say></Dial></Response>', 'top', /not allowed inside <Dial>/);
    bad('<Response><Dial><Conference>a</Conference><Number>+1</Number></Dial></Response>', 'top', /only noun/);
    bad('<Response><hangup/></Response>', 'top', /case-sensitive/);
    bad('<Response><Connect/></Response>', 'top', /not emulated/);
    bad('<Response>hello</Response>', 'top', /directly inside <Response>/);
    bad('<Response><Enqueue/></Response>', 'top', /queue name/);
    bad('<Response><Redirect/></Response>', 'top', /needs a URL/);
  });

  it('requires absolute URLs in TwiML given over REST', () => {
    bad('<Response><Gather action="/x"/></Response>', 'top', /absolute URLs/, true);
    bad('<Response><Redirect>next</Redirect></Response>', 'top', /absolute URLs/, true);
    expect(
      parseTwiml('<Response><Gather action="https://a.example/x"/></Response>', { context: 'top', requireAbsoluteUrls: true }).verbs,
    ).toHaveLength(1);
  });

  it('warns about unknown attributes and invalid values, using the default', () => {
    const r = ok('<Response><Gather timeOut="3" numDigits="x"/></Response>');
    expect(r.warnings.join('\n')).toMatch(/unknown attribute timeOut/);
    expect(r.warnings.join('\n')).toMatch(/invalid numDigits/);
    expect(r.verbs[0]).toMatchObject({ timeoutS: 5, numDigits: undefined });
  });

  it('accepts what twilio.twiml.VoiceResponse builds', () => {
    const v = new twilio.twiml.VoiceResponse();
    const g = v.gather({ input: ['dtmf', 'speech'], numDigits: 1, action: '/a', hints: 'yes, no' });
    g.say({ voice: 'Polly.Joanna' }, 'Say yes or press 1');
    v.enqueue({ waitUrl: '/w', waitUrlMethod: 'GET' }, 'support');
    const d = v.dial({ action: '/d', timeout: 10, callerId: '+18005550100' });
    d.conference({ startConferenceOnEnter: false, statusCallbackEvent: ['start', 'join'], coach: 'CA' + 'a'.repeat(32) }, 'room');
    const { verbs, warnings } = ok(v.toString());
    expect(warnings).toEqual([]);
    expect(verbs.map((x) => x.kind)).toEqual(['Gather', 'Enqueue', 'Dial']);
    expect(verbs[2]).toMatchObject({
      nouns: [{ kind: 'Conference', startConferenceOnEnter: false, statusCallbackEvents: ['start', 'join'] }],
    });
  });
});

describe('gather input', () => {
  const g = (o: Partial<GatherVerb> = {}): GatherVerb => ({
    kind: 'Gather',
    method: 'POST',
    timeoutS: 5,
    finishOnKey: '#',
    input: ['dtmf'],
    speechTimeout: 5,
    actionOnEmptyResult: false,
    prompts: [],
    ...o,
  });
  it('stops at numDigits or the finish key, else waits the timeout after the last key', () => {
    expect(interpretGather(g({ numDigits: 1 }), { digits: '23' })).toMatchObject({
      kind: 'digits',
      digits: '2',
      finishedOnKey: '',
      ms: 1250,
    });
    expect(interpretGather(g(), { digits: '12#9' })).toMatchObject({ kind: 'digits', digits: '12', finishedOnKey: '#', ms: 1750 });
    expect(interpretGather(g(), { digits: '12' })).toMatchObject({ kind: 'digits', digits: '12', ms: 1500 + 5000 });
    expect(interpretGather(g(), { digits: '#' })).toMatchObject({ kind: 'none' });
    expect(interpretGather(g(), { digits: '1', delayMs: 6000 })).toMatchObject({ kind: 'none', ms: 5000 });
    expect(interpretGather(g(), null)).toMatchObject({ kind: 'none', ms: 5000 });
    expect(interpretGather(g(), { speech: 'hello' })).toMatchObject({ kind: 'none' });
    expect(interpretGather(g({ input: ['speech'], speechTimeout: 'auto' }), { speech: 'two words' })).toMatchObject({
      kind: 'speech',
      text: 'two words',
      confidence: 0.9,
      ms: 1000 + 800 + 1000,
    });
  });
});

describe('Random', () => {
  it('is reproducible and roughly right', () => {
    const a = new Random(5);
    const b = new Random(5);
    expect(Array.from({ length: 5 }, () => a.sid('CA'))).toEqual(Array.from({ length: 5 }, () => b.sid('CA')));
    const r = new Random(9);
    const n = 20000;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += r.exponential(10);
    expect(sum / n).toBeGreaterThan(9.5);
    expect(sum / n).toBeLessThan(10.5);
    const counts = { x: 0, y: 0 };
    for (let i = 0; i < n; i++)
      counts[
        r.weighted([
          { weight: 3, value: 'x' as const },
          { weight: 1, value: 'y' as const },
        ])
      ]++;
    expect(counts.x / n).toBeGreaterThan(0.72);
    expect(counts.x / n).toBeLessThan(0.78);
  });
});
