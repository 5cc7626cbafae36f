/**
 * Twilio's request signature (X-Twilio-Signature): base64 HMAC-SHA1, keyed with the account's auth token,
 * of the full URL Twilio requested followed by every POST parameter's name and value, names sorted (a
 * repeated name: each distinct value, sorted). The same algorithm as the twilio package's
 * `getExpectedTwilioSignature` (test/unit/signature.test.ts compares both on Twilio's published example
 * and on random forms).
 *
 * `signatureValid` checks the URL exactly as given first (what Twilio signs: the URL it requested), with
 * one HMAC; only when that fails does it ask the twilio package's `validateRequest`, which also tries the
 * URL with and without its port and normalised forms of it (up to six HMACs). So a request the package
 * accepts is accepted, and a genuine request costs one HMAC, not two (with a port in the public URL) or
 * more.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import twilio from 'twilio';

export type SignedParams = Record<string, string | string[]>;

/** The signature Twilio sends for a POST to `url` with these parameters. */
export function twilioSignature(authToken: string, url: string, params: SignedParams): string {
  let data = url;
  for (const key of Object.keys(params).sort()) {
    const v = params[key]!;
    if (typeof v === 'string') data += key + v;
    else for (const one of [...new Set(v)].sort()) data += key + one;
  }
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/** Does `header` sign this request? Constant-time comparison of the digests. */
export function signatureValid(authToken: string, header: string, url: string, params: SignedParams): boolean {
  const given = Buffer.from(header);
  const expected = Buffer.from(twilioSignature(authToken, url, params));
  if (given.length === expected.length && timingSafeEqual(given, expected)) return true;
  return twilio.validateRequest(authToken, header, url, params as Record<string, string>);
}
