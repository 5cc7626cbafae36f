import { readFileSync } from 'node:fs';

/** The version in package.json, one level above this file in src/ and in dist/ alike ("unknown" if it is not there). */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
