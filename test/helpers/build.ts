/**
 * The production build, made fresh for the tests that run it: `scripts/build.mjs` (what `npm run build`
 * runs) into a directory named by a hash of everything the build reads (src/, scripts/build.mjs, the
 * tsconfig files, package.json). A changed source gives a new hash and so a new build; unchanged sources
 * reuse the build another test file already made. The directory is under node_modules/.cache so the
 * compiled modules resolve the project's dependencies as dist/ does.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { REPO_ROOT } from './promql.js';

const INPUTS = ['src', 'scripts/build.mjs', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

function files(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => files(join(path, name)));
}

/** A hash of the build's inputs (paths and contents). */
export function sourceHash(): string {
  const h = createHash('sha256');
  for (const input of INPUTS) {
    for (const f of files(join(REPO_ROOT, input))) {
      h.update(relative(REPO_ROOT, f)).update('\0').update(readFileSync(f)).update('\0');
    }
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * Build the current sources (or reuse the build of exactly these sources); returns the build's `dist`
 * directory, laid out as in the repository and the image: `<root>/dist` beside a copy of
 * `<root>/package.json` (the version is read from there). Test files running at once build only once:
 * the first takes a lock (an exclusive mkdir), the others wait for its build to complete.
 */
export async function freshBuild(): Promise<string> {
  const root = join(REPO_ROOT, 'node_modules', '.cache', 'switchboard-build', sourceHash());
  const dist = join(root, 'dist');
  const lock = `${root}.building`;
  mkdirSync(dirname(root), { recursive: true });
  for (;;) {
    if (existsSync(join(root, '.complete'))) return dist;
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another test file is building these sources; a lock older than 10 minutes is a dead build's.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 600_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    // Build beside the target and rename: a build interrupted half-way is never taken for a complete one.
    const tmp = `${root}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    execFileSync(process.execPath, ['scripts/build.mjs', join(tmp, 'dist')], { cwd: REPO_ROOT, stdio: 'pipe' });
    copyFileSync(join(REPO_ROOT, 'package.json'), join(tmp, 'package.json'));
    writeFileSync(join(tmp, '.complete'), new Date().toISOString());
    rmSync(root, { recursive: true, force: true });
    renameSync(tmp, root);
    // Builds of older sources are never used again.
    const parent = dirname(root);
    for (const name of readdirSync(parent)) {
      if (/^[0-9a-f]{16}$/.test(name) && join(parent, name) !== root) rmSync(join(parent, name), { recursive: true, force: true });
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return dist;
}
