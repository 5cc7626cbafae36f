/**
 * Webhook signatures and REST authentication, done with the `twilio` package's own functions so the
 * emulator signs exactly like Twilio's helper library validates.
 */
import { timingSafeEqual } from 'node:crypto';
import twilio from 'twilio';

/**
 * The URL string Twilio signs: no fragment, no credentials, and for https no port (Voice drops it; over
 * http the port is kept). Twilio signs the full URL with the POST parameters appended, sorted by name
 * (https://www.twilio.com/docs/usage/security#validating-requests); the port rule is the one twilio-node's
 * validateRequest accepts both ways (node_modules/twilio/lib/webhooks/webhooks.js, addPort / removePort).
 */
export function signingUrl(url: string): string {
  const noFragment = url.split('#')[0] ?? url;
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/i.exec(noFragment);
  if (!m) return noFragment;
  const scheme = m[1] ?? '';
  let authority = m[2] ?? '';
  const rest = m[3] ?? '';
  const at = authority.lastIndexOf('@');
  if (at >= 0) authority = authority.slice(at + 1);
  if (scheme.toLowerCase() === 'https://') {
    const colon = authority.indexOf(':', authority.lastIndexOf(']') + 1);
    if (colon >= 0) authority = authority.slice(0, colon);
  }
  return scheme + authority + rest;
}

/** X-Twilio-Signature for a request to `url` carrying form `params` (empty for GET). */
export function signRequest(authToken: string, url: string, params: Record<string, string | string[]>): string {
  return twilio.getExpectedTwilioSignature(authToken, signingUrl(url), params);
}

export function validateSignature(authToken: string, signature: string, url: string, params: Record<string, string | string[]>): boolean {
  return twilio.validateRequest(authToken, signature, url, params);
}

/** Check an `Authorization: Basic` header against AccountSid:AuthToken in constant time. */
export function checkBasicAuth(header: string | undefined, accountSid: string, authToken: string): boolean {
  if (!header || !/^basic /i.test(header)) return false;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const expected = `${accountSid}:${authToken}`;
  const a = Buffer.from(decoded);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
