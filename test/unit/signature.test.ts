import { describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { signatureValid, twilioSignature } from '../../src/webhooks/signature.js';

// Known vector from Twilio's webhook security page (https://www.twilio.com/docs/usage/security, also
// twilio-node spec/validation.spec.js).
const token = '12345';
const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const params = { CallSid: 'CA1234567890ABCDE', Caller: '+14158675309', Digits: '1234', From: '+14158675309', To: '+18005551212' };

describe('Twilio request signature', () => {
  it('matches the published vector', () => {
    expect(twilio.getExpectedTwilioSignature(token, url, params)).toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
    expect(twilio.validateRequest(token, 'RSOYDt4T1cUTdK1PDd93/VVr8B8=', url, params)).toBe(true);
  });
  it('fails when any parameter, the URL or the token changes', () => {
    const sig = 'RSOYDt4T1cUTdK1PDd93/VVr8B8=';
    expect(twilio.validateRequest(token, sig, url, { ...params, Digits: '1235' })).toBe(false);
    expect(twilio.validateRequest(token, sig, url + '/', params)).toBe(false);
    expect(twilio.validateRequest('54321', sig, url, params)).toBe(false);
  });
});

describe("Switchboard's own signature check (src/webhooks/signature.ts)", () => {
  const sig = 'RSOYDt4T1cUTdK1PDd93/VVr8B8=';

  it("computes Twilio's published vector and accepts it", () => {
    expect(twilioSignature(token, url, params)).toBe(sig);
    expect(signatureValid(token, sig, url, params)).toBe(true);
  });

  it('refuses a changed parameter, URL, token or signature, and a signature of another length or in other bytes', () => {
    expect(signatureValid(token, sig, url, { ...params, Digits: '1235' })).toBe(false);
    expect(signatureValid(token, sig, url + '/', params)).toBe(false);
    expect(signatureValid('54321', sig, url, params)).toBe(false);
    expect(signatureValid(token, sig.slice(0, -1) + 'A', url, params)).toBe(false);
    expect(signatureValid(token, sig + '=', url, params)).toBe(false);
    expect(signatureValid(token, '', url, params)).toBe(false);
    expect(signatureValid(token, 'é'.repeat(14), url, params)).toBe(false);
  });

  it('accepts what the twilio package accepts: the URL with or without its default port', () => {
    const withPort = 'https://mycompany.com:443/myapp.php?foo=1&bar=2';
    expect(twilio.validateRequest(token, sig, withPort, params)).toBe(true);
    expect(signatureValid(token, sig, withPort, params)).toBe(true);
    const signedWithPort = twilio.getExpectedTwilioSignature(token, withPort, params);
    expect(signatureValid(token, signedWithPort, url, params)).toBe(true);
  });

  it("equals the twilio package's signature on random forms (repeated names, unicode, empty values)", () => {
    const names = ['CallSid', 'From', 'To', 'Digits', 'a', 'B', 'b', 'é', '_', 'Z9', 'SpeechResult'];
    const values = ['', '1', '+14155550100', 'x y', 'é€😀', '&=%', 'AC' + 'f'.repeat(32), '1', 'z'];
    let s = 7;
    const r = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 500; i++) {
      const form: Record<string, string | string[]> = {};
      for (let j = Math.floor(r() * 12); j > 0; j--) {
        const name = names[Math.floor(r() * names.length)]!;
        const value = values[Math.floor(r() * values.length)]!;
        const prev = form[name];
        form[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
      }
      const u = `https://example.org/twilio/voice?n=${i}`;
      const expected = twilio.getExpectedTwilioSignature(token, u, form as Record<string, string>);
      expect(twilioSignature(token, u, form), JSON.stringify(form)).toBe(expected);
      expect(signatureValid(token, expected, u, form)).toBe(true);
    }
  });
});
