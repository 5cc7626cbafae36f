import { describe, expect, it } from 'vitest';
import twilio from 'twilio';

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
