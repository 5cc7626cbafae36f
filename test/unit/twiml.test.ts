/**
 * Our TwiML writer (src/ivr/twiml.ts) against the twilio package's VoiceResponse: the same document built
 * with the same calls gives the same bytes, for every verb and nesting we answer with and for random
 * attribute values and texts (escaping, arrays, numbers, booleans, null/undefined, unicode); a character XML
 * does not allow is refused by both. The emulator's TwiML rules (src/sim/twilio/twiml.ts) check the
 * documents the server answers in the end-to-end tests.
 */
import fc from 'fast-check';
import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { VoiceResponse } from '../../src/ivr/twiml.js';

type Build = (r: any) => void;
const both = (build: Build): [string, string] => {
  const ours = new VoiceResponse();
  const theirs = new twilio.twiml.VoiceResponse();
  build(ours);
  build(theirs);
  return [ours.toString(), theirs.toString()];
};

const documents: Record<string, Build> = {
  empty: () => {},
  'say + hangup': (r) => {
    r.say({ voice: 'Polly.Joanna', language: 'en-US' }, 'Hello & welcome <caller> "quoted" \'single\'');
    r.hangup();
  },
  'gather menu': (r) => {
    const g = r.gather({
      input: ['dtmf', 'speech'],
      numDigits: 1,
      action: 'https://x.example/twilio/ivr/gather?node=a&b=1',
      method: 'POST',
      timeout: 4,
      hints: 'billing, support',
      language: 'en-US',
      actionOnEmptyResult: true,
    });
    g.say({ voice: 'Polly.Joanna' }, 'For billing, press 1.');
    g.play({}, 'https://x.example/a.mp3');
    g.pause({ length: 1 });
    r.redirect({ method: 'POST' }, 'https://x.example/twilio/ivr/gather?node=a&noInput=1');
  },
  'empty gather': (r) => {
    r.gather({ input: ['dtmf'], numDigits: 1, action: 'https://x.example/k', method: 'POST', timeout: 3 });
  },
  enqueue: (r) => {
    r.say({}, 'Please hold.');
    r.enqueue(
      {
        action: 'https://x.example/twilio/queue/result?queue=support',
        method: 'POST',
        waitUrl: 'https://x.example/twilio/queue/wait?queue=support',
        waitUrlMethod: 'POST',
      },
      'support',
    );
  },
  'wait: gather + play loop': (r) => {
    const g = r.gather({
      input: ['dtmf'],
      numDigits: 1,
      action: 'https://x.example/twilio/queue/keys?queue=support',
      method: 'POST',
      timeout: 3,
    });
    g.say({ voice: 'Polly.Lupe', language: 'es-US' }, 'Usted es el número 3. Espera: 2 minutos.');
    r.play({ loop: 1 }, 'http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3');
    r.play({ loop: 0 }, 'http://h.example/hold.mp3');
  },
  'leave, record, reject': (r) => {
    r.leave();
    r.record({
      action: 'https://x.example/r',
      method: 'POST',
      maxLength: 120,
      playBeep: true,
      finishOnKey: '#',
      recordingStatusCallback: 'https://x.example/s?node=queue:support',
    });
    r.reject({ reason: 'busy' });
  },
  dial: (r) => {
    const d = r.dial({
      action: 'https://x.example/twilio/call/after?queue=support',
      method: 'POST',
      timeout: 20,
      callerId: '+18005550100',
    });
    d.conference(
      {
        startConferenceOnEnter: true,
        endConferenceOnExit: true,
        beep: 'false',
        waitUrl: 'https://x.example/hold',
        statusCallbackEvent: ['start', 'end', 'join'],
      },
      'sb-CA0123',
    );
    r.dial({}).client({}, 'alice');
    r.dial({}).sip({}, 'sip:bob@example.com');
    r.dial({}).number({ sendDigits: 'ww12' }, '+15551230001');
    r.dial({}).queue({ url: 'https://x.example/q' }, 'support');
    r.dial('+15551230002');
  },
  'overloads with a string first': (r) => {
    r.say('Just text');
    r.play('https://x.example/b.mp3');
    r.redirect('https://x.example/c');
    r.enqueue('billing');
  },
  'null and undefined attributes are left out': (r) => {
    r.say({ voice: undefined, language: null, loop: 0 }, 'x');
    r.gather({ action: undefined, timeout: 0, speechTimeout: 'auto' }).say({}, '');
  },
  'text with CR, tabs and newlines': (r) => {
    r.say({ voice: 'a\tb\nc\rd' }, 'line 1\nline 2\r\n\ttab > and ]]> end');
  },
};

describe('TwiML writer', () => {
  for (const [name, build] of Object.entries(documents)) {
    it(`writes the same bytes as the twilio package: ${name}`, () => {
      const [ours, theirs] = both(build);
      expect(ours).toBe(theirs);
    });
  }

  it('writes the same bytes for random attributes and texts', () => {
    const value = fc.oneof(
      fc.string(),
      fc.string({ unit: 'grapheme' }),
      fc.constantFrom('&', '<', '>', '"', "'", '\t', '\n', '\r', '&amp;', ']]>'),
      fc.integer(),
      fc.double({ noNaN: true }),
      fc.boolean(),
      fc.constant(undefined),
      fc.constant(null),
      fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
    );
    const attrs = fc.dictionary(fc.constantFrom('voice', 'language', 'loop', 'action', 'method', 'timeout', 'input', 'digits'), value, {
      maxKeys: 4,
    });
    // eslint-disable-next-line no-control-regex -- texts without the characters XML refuses
    const legal = fc.string({ unit: 'grapheme' }).filter((s) => !/[\0-\x08\x0B\f\x0E-\x1F\uFFFE\uFFFF]/.test(s));
    fc.assert(
      fc.property(attrs, legal, attrs, legal, (a1, t1, a2, t2) => {
        const [ours, theirs] = both((r) => {
          r.say(a1, t1);
          const g = r.gather(a2);
          g.say(a1, t2);
          r.play(a2, t1);
          r.enqueue(a1, t2);
          r.hangup();
        });
        expect(ours).toBe(theirs);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a character XML 1.0 does not allow in text, as the twilio package does', () => {
    for (const bad of ['a\u0000b', 'bell\u0007', '\uFFFF', 'lone \uD800 surrogate']) {
      expect(() => new twilio.twiml.VoiceResponse().say({}, bad)).toThrow(/Invalid character/);
      expect(() => new VoiceResponse().say({}, bad)).toThrow(/Invalid character/);
    }
  });
});
