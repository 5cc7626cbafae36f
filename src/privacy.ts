/**
 * Callers are keyed by a keyed hash of their number, never the number itself (metrics.md): the hash is
 * stable for repeat detection and useless without the key. Imports nothing of ours.
 */
import { createHmac } from 'node:crypto';

const ANONYMOUS = /^(anonymous|restricted|unknown|private|unavailable|266696687)$/i;

/** HMAC-SHA256 of the normalised number, 32 hex chars; '' for withheld numbers (never matched as repeats). */
export function callerHash(key: string, from: string | undefined): string {
  const n = (from ?? '')
    .trim()
    .replace(/^client:/, 'client:')
    .replace(/[\s().-]/g, '');
  if (!n || ANONYMOUS.test(n) || n === '+') return '';
  return createHmac('sha256', key).update(n).digest('hex').slice(0, 32);
}

/** Mask anything that looks like a phone number in free text (defence in depth for log lines). */
export function redactNumbers(text: string): string {
  return text.replace(/\+?\d[\d\s().-]{6,}\d/g, '[redacted]');
}
