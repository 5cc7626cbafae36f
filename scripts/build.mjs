#!/usr/bin/env node
// Build the server for production: compile src/ with tsc (tsconfig.build.json) into an output directory
// (default dist/), then copy the files the compiled code reads at run time next to it, at the same
// relative paths as in src/: the Lua scripts (src/store/lua -> dist/store/lua) and the web pages' static
// files (src/web/static -> dist/web/static). The compiled modules find them relative to their own URL,
// so `node dist/main.js` needs nothing from src/.
//
//   node scripts/build.mjs            # -> dist/   (what `npm run build` runs)
//   node scripts/build.mjs OUT_DIR    # -> OUT_DIR (the boot-the-build test builds into a cache directory)
//
// The output directory is emptied first, so no file of an older build (a deleted module, a renamed
// script) survives into the new one.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(root, process.argv[2] ?? 'dist');

/** Directories under src/ that the compiled code reads as files at run time. */
const ASSET_DIRS = ['store/lua', 'web/static'];

rmSync(out, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', out], { cwd: root, stdio: 'inherit' });
for (const dir of ASSET_DIRS) cpSync(join(root, 'src', dir), join(out, dir), { recursive: true });
