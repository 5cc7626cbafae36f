/**
 * The shape design.md asks for, checked on every run: no import cycles, dependencies pointing one way,
 * leaves that import nothing of ours, process.env read only by process entry points, no `any` in src/.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = 'src';

/** Every TypeScript file of src/ and the pages' JavaScript (src/web/static). */
function code(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? code(p) : /\.(ts|js)$/.test(p) ? [p] : [];
  });
}

/** The longest a function (declaration, method, arrow, accessor) may be, its signature and body included. */
const MAX_FUNCTION_LINES = 150;

/** The name a function is known by: its own, or that of the variable or property it is assigned to. */
function functionName(n: ts.SignatureDeclaration, sf: ts.SourceFile): string {
  if (n.name) return n.name.getText(sf);
  const p = n.parent;
  if ((ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) && p.name) return p.name.getText(sf);
  return '<anonymous>';
}

/** Every function of a file longer than `max` lines, as `file:name` with its first line and length. */
function longFunctions(file: string, max: number): { id: string; line: number; lines: number }[] {
  const sf = ts.createSourceFile(
    file,
    readFileSync(file, 'utf8'),
    ts.ScriptTarget.Latest,
    true,
    file.endsWith('.js') ? ts.ScriptKind.JS : ts.ScriptKind.TS,
  );
  const out: { id: string; line: number; lines: number }[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body) {
      const first = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
      if (last - first + 1 > max) out.push({ id: `${file}:${functionName(n, sf)}`, line: first + 1, lines: last - first + 1 });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const f of files(SRC)) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+['"](\.[^'"]+)['"]/gm)) {
      const target = normalize(join(dirname(f), m[3]!.replace(/\.js$/, '.ts')));
      out.push({ from: f, to: target, typeOnly: Boolean(m[2]) });
    }
    for (const m of text.matchAll(/import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
      out.push({ from: f, to: normalize(join(dirname(f), m[1]!.replace(/\.js$/, '.ts'))), typeOnly: false });
    }
  }
  return out;
}

const area = (f: string): string => {
  const r = relative(SRC, f);
  return r.includes('/') ? r.split('/')[0]! : r.replace(/\.ts$/, '');
};

describe('architecture', () => {
  const all = edges();

  it('has no import cycles (value imports)', () => {
    const graph = new Map<string, string[]>();
    for (const e of all.filter((x) => !x.typeOnly)) graph.set(e.from, [...(graph.get(e.from) ?? []), e.to]);
    const state = new Map<string, 1 | 2>();
    const cycles: string[] = [];
    const visit = (n: string, path: string[]) => {
      if (state.get(n) === 2) return;
      if (state.get(n) === 1) {
        cycles.push([...path.slice(path.indexOf(n)), n].join(' → '));
        return;
      }
      state.set(n, 1);
      for (const m of graph.get(n) ?? []) visit(m, [...path, n]);
      state.set(n, 2);
    };
    for (const n of graph.keys()) visit(n, []);
    expect(cycles).toEqual([]);
  });

  it('leaves import nothing of ours', () => {
    const leaves = ['src/errors.ts', 'src/events.ts', 'src/clock.ts', 'src/privacy.ts', 'src/call-status.ts'];
    expect(all.filter((e) => leaves.includes(e.from)).map((e) => `${e.from} → ${e.to}`)).toEqual([]);
    // src/config/ (environment, call-center file) is a leaf folder: its modules import only each other.
    const config = files(join(SRC, 'config'));
    expect(config.length).toBeGreaterThan(1);
    expect(all.filter((e) => area(e.from) === 'config' && area(e.to) !== 'config').map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it('dependencies point one way', () => {
    // area → areas it must never import (values or types, unless noted)
    const forbidden: Record<string, string[]> = {
      ivr: ['webhooks', 'queue', 'store', 'agents', 'metrics', 'app', 'api', 'sim'],
      store: ['webhooks', 'queue', 'agents', 'metrics', 'app', 'api', 'sim'],
      queue: ['webhooks', 'metrics', 'app', 'api', 'sim'],
      // agents/channel.ts takes sockets and sign-in from src/access, never from the HTTP API.
      agents: ['webhooks', 'metrics', 'app', 'sim', 'api', 'web'],
      access: ['webhooks', 'queue', 'agents', 'metrics', 'ivr', 'store', 'capacity', 'app', 'api', 'web', 'sim'],
      capacity: ['webhooks', 'queue', 'store', 'agents', 'metrics', 'ivr', 'app', 'api', 'sim'],
      webhooks: ['metrics', 'app', 'sim'],
      metrics: ['webhooks', 'app', 'sim', 'api'],
      records: ['webhooks', 'queue', 'agents', 'metrics', 'ivr', 'capacity', 'app', 'api', 'web', 'sim'],
    };
    const bad = all
      .filter((e) => !(area(e.from) === 'store' && area(e.to) === 'ivr' && e.typeOnly))
      .filter((e) => (forbidden[area(e.from)] ?? []).includes(area(e.to)))
      .map((e) => `${e.from} → ${e.to}`);
    expect(bad).toEqual([]);
  });

  it('the queue service modules depend one way (src/queue), and only the facade is imported from outside', () => {
    // Each module of src/queue has a level; it may import (values or types) only modules of lower levels, so
    // the parts of the queue service cannot call back into each other in a cycle. A new module gets a level here.
    const level: Record<string, number> = {
      'twilio-client.ts': -1,
      'store-types.ts': 0,
      'offers.ts': 0,
      'contacts.ts': 0,
      'estimate.ts': 0,
      'twilio-rest.ts': 0,
      'twilio-queue-size.ts': 1,
      'recording-store.ts': 0,
      'store.ts': 1,
      'staffing.ts': 2,
      'context.ts': 2,
      'offer-kind.ts': 2,
      'transfer-record.ts': 2,
      'router-passes.ts': 0,
      'router.ts': 3,
      'transfer-start.ts': 3,
      'transfer.ts': 4,
      'monitor.ts': 3,
      'recording.ts': 3,
      'ghosts.ts': 4,
      'caller.ts': 4,
      'dequeue.ts': 5,
      'desk-sync.ts': 5,
      'bridge.ts': 6,
      'callbacks.ts': 7,
      'transfer-offer.ts': 7,
      'commands.ts': 7,
      'sweeper.ts': 7,
      'service.ts': 8,
    };
    const queueFiles = files(join(SRC, 'queue')).map((f) => relative(join(SRC, 'queue'), f));
    expect(queueFiles.filter((f) => level[f] === undefined)).toEqual([]);
    const inQueue = (f: string) => area(f) === 'queue';
    const name = (f: string) => relative(join(SRC, 'queue'), f);
    const upward = all
      .filter((e) => inQueue(e.from) && inQueue(e.to) && level[name(e.to)]! >= level[name(e.from)]!)
      .map((e) => `${e.from} → ${e.to}`);
    expect(upward).toEqual([]);
    // Outside src/queue, the service is used through its facade (and the stores and REST client they hand it).
    const facadeOnly = [
      'context.ts',
      'router.ts',
      'router-passes.ts',
      'caller.ts',
      'bridge.ts',
      'dequeue.ts',
      'desk-sync.ts',
      'callbacks.ts',
      'transfer-offer.ts',
      'transfer-record.ts',
      'transfer-start.ts',
      'commands.ts',
      'sweeper.ts',
      'ghosts.ts',
      'monitor.ts',
      'recording.ts',
      'offer-kind.ts',
    ];
    expect(
      all.filter((e) => !inQueue(e.from) && inQueue(e.to) && facadeOnly.includes(name(e.to))).map((e) => `${e.from} → ${e.to}`),
    ).toEqual([]);
  });

  it("nothing but the app's composition (src/app.ts, src/app/) imports metrics", () => {
    const importers = all.filter((e) => area(e.to) === 'metrics' && area(e.from) !== 'metrics').map((e) => e.from);
    expect([...new Set(importers)].filter((f) => area(f) !== 'app')).toEqual([]);
    expect(importers).toContain('src/app.ts');
  });

  it('call records only subscribe to domain events: no call-handling module imports them', () => {
    const importers = all.filter((e) => area(e.to) === 'records' && area(e.from) !== 'records').map((e) => e.from);
    expect([...new Set(importers)].filter((f) => area(f) !== 'app' && area(f) !== 'api' && area(f) !== 'web')).toEqual([]);
    expect(importers.length).toBeGreaterThan(0);
  });

  it('process.env is read only by process entry points', () => {
    const entries = new Set(['src/main.ts', 'src/sim/demo.ts', 'src/capacity/cli.ts']);
    const readers = files(SRC).filter((f) => /process\.env/.test(readFileSync(f, 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '')));
    expect(readers.filter((f) => !entries.has(f))).toEqual([]);
  });

  it("no source file over 500 lines (TypeScript, and the pages' JavaScript; Lua scripts aside)", () => {
    const long = code(SRC)
      .map((f) => ({ f, lines: readFileSync(f, 'utf8').split('\n').length }))
      .filter((x) => x.lines > 500);
    expect(long).toEqual([]);
  });

  it(`no function over ${MAX_FUNCTION_LINES} lines (TypeScript, and the pages' JavaScript)`, () => {
    const long = code(SRC).flatMap((f) => longFunctions(f, MAX_FUNCTION_LINES));
    expect(long.map((x) => `${x.id} (line ${x.line}): ${x.lines} lines`)).toEqual([]);
  });

  it('the length check sees every kind of function', () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const dir = mkdtempSync(join(tmpdir(), 'sb-arch-'));
    try {
      const f = join(dir, 'sample.ts');
      writeFileSync(
        f,
        [
          `export function declared() {\n${body(10)}\n}`,
          `const arrow = () => {\n${body(10)}\n};`,
          `class K {\n  method() {\n${body(10)}\n  }\n}`,
          `export const o = { prop: function () {\n${body(3)}\n} };`,
        ].join('\n'),
      );
      expect(longFunctions(f, 5).map((x) => `${x.id.slice(dir.length + 1)} ${x.lines}`)).toEqual([
        'sample.ts:declared 12',
        'sample.ts:arrow 12',
        'sample.ts:method 12',
      ]);
      expect(longFunctions(f, 4).map((x) => x.id.slice(dir.length + 1))).toContain('sample.ts:prop');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scripts are called only through their typed methods (src/store/scripts.ts), never by name', () => {
    // defineScripts hands out runners by name, defineCommand/EVAL/EVALSHA run a script by name or text: only the
    // script loader (store/redis.ts) and the typed module (store/scripts.ts) may use them.
    const loader = new Set(['src/store/redis.ts', 'src/store/scripts.ts']);
    const byName = files(SRC).filter(
      (f) =>
        !loader.has(f) &&
        /\bdefineScripts\b|\bdefineCommand\b|\.evalsha\b|\.eval\(|['"](?:EVAL|EVALSHA|SCRIPT)['"]/.test(readFileSync(f, 'utf8')),
    );
    expect(byName).toEqual([]);
  });

  it('has no `any` in src/', () => {
    const offenders = files(SRC).filter((f) => /(:\s*any\b|as\s+any\b|<any>)/.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
