/**
 * Every URL Switchboard hands to Twilio (src/urls.ts) leads to a route the app serves: each builder of the
 * app's own `urls` is called and its path looked up in fastify's route table, with the method Twilio uses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp, PUBLIC_BASE, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
});
afterAll(async () => {
  await t.close();
});

describe('urls', () => {
  it('every builder points at a served route, and fills the query parameters it takes', () => {
    const urls = t.app.sb.urls;
    const built: { name: string; url: string; args: string[] }[] = [];
    // Builders taking more than strings: their arguments, and the query values each must produce.
    const special: Record<string, { url: string; args: string[] }> = {
      queueConsented: { url: urls.queueConsented('arg0', { priority: 7, front: true, countOffer: false }), args: ['arg0', '7', '1', '0'] },
    };
    for (const [name, v] of Object.entries(urls)) {
      if (name === 'base') continue;
      if (special[name]) built.push({ name, ...special[name] });
      else if (typeof v === 'string') built.push({ name, url: v, args: [] });
      else if (typeof v === 'function') {
        const args = Array.from({ length: (v as (...a: string[]) => string).length }, (_, i) => `arg${i}`);
        built.push({ name, url: (v as (...a: string[]) => string)(...args), args });
      } else throw new Error(`urls.${name}: not a URL or a builder`);
    }
    expect(built.length).toBeGreaterThan(20);
    const missing: string[] = [];
    for (const b of built) {
      expect(b.url.startsWith(`${PUBLIC_BASE}/`), `${b.name} is absolute under PUBLIC_BASE_URL`).toBe(true);
      const u = new URL(b.url);
      if (!t.app.hasRoute({ method: 'POST', url: u.pathname })) missing.push(`${b.name} → POST ${u.pathname}`);
      // Every argument lands in the URL's query (no builder drops one).
      expect([...u.searchParams.values()], b.name).toEqual(expect.arrayContaining(b.args));
    }
    expect(missing).toEqual([]);
  });

  it('a URL to a route that does not exist is caught', () => {
    expect(t.app.hasRoute({ method: 'POST', url: '/twilio/agent/leg' })).toBe(false);
  });
});
