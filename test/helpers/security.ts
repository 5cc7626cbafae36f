/** The security headers every HTTP response must carry (src/api/security.ts). */
import { expect } from 'vitest';

export function expectSecurityHeaders(res: { headers: Record<string, unknown> }, what: string): void {
  const h = res.headers;
  expect(h['x-content-type-options'], what).toBe('nosniff');
  expect(h['x-frame-options'], what).toBe('DENY');
  expect(h['referrer-policy'], what).toBeTypeOf('string');
  expect(String(h['content-security-policy']), what).toMatch(/frame-ancestors 'none'/);
  expect(h['x-powered-by'], what).toBeUndefined();
  const type = String(h['content-type'] ?? '');
  // Everything but pages and their assets is never cached.
  if (!/text\/html|text\/css|javascript|image\//.test(type)) expect(h['cache-control'], what).toBe('no-store');
  if (!/text\/html/.test(type)) expect(String(h['content-security-policy']), what).toMatch(/default-src 'none'/);
}
