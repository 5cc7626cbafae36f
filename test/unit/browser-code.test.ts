/**
 * The pages' browser code (src/web/static/*.js) is checked like the server's: every file opts in to
 * type checking (`// @ts-check`), tsconfig.web.json (run by `npm run typecheck`) covers it strictly with
 * the DOM library, and ESLint does not skip it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const STATIC = 'src/web/static';
const scripts = readdirSync(STATIC).filter((f) => f.endsWith('.js'));

describe('browser code is checked', () => {
  it('every script opts in to type checking', () => {
    expect(scripts.length).toBeGreaterThan(3);
    expect(scripts.filter((f) => !readFileSync(join(STATIC, f), 'utf8').startsWith('// @ts-check\n'))).toEqual([]);
  });

  it('tsconfig.web.json checks them strictly against the DOM, and npm run typecheck runs it', () => {
    const cfg = JSON.parse(readFileSync('tsconfig.web.json', 'utf8')) as { compilerOptions: Record<string, unknown>; include: string[] };
    expect(cfg.compilerOptions).toMatchObject({ checkJs: true, allowJs: true, strict: true, noEmit: true });
    expect(cfg.compilerOptions.lib).toContain('DOM');
    expect(cfg.include).toContain(`${STATIC}/*.js`);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.typecheck).toContain('tsc -p tsconfig.web.json');
    expect(pkg.scripts.test).toContain('npm run typecheck');
  });

  it('ESLint lints them with browser globals', async () => {
    const { ESLint } = await import('eslint');
    const eslint = new ESLint();
    for (const f of scripts) expect(await eslint.isPathIgnored(join(STATIC, f)), f).toBe(false);
    const config = (await eslint.calculateConfigForFile(join(STATIC, 'desk.js'))) as {
      languageOptions: { globals: Record<string, unknown> };
    };
    expect(config.languageOptions.globals).toHaveProperty('document');
    expect(config.languageOptions.globals).toHaveProperty('WebSocket');
  });
});
