/**
 * Summarise a V8 CPU profile (`node --cpu-prof`, see docs/performance.md): self time by where the code
 * lives (a package under node_modules, a file of ours, node's internals, GC, idle) and the top functions;
 * then inclusive (total) time of our own files and functions: the samples with the function anywhere on
 * their stack, so a step of a webhook is charged with the library code it calls (a function that appears
 * twice on one stack is counted once).
 *
 *   npx tsx bench/profile-summary.ts prof/CPU.*.cpuprofile [top]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
  /** Set here: the node that called this one. */
  parent?: number;
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function place(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)' || fn === '(program)') return fn;
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url;
  const m = /\/(dist|src)\/(.*)$/.exec(url);
  return m ? `ours: ${m[2]}` : url;
}

const file = process.argv[2];
if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile [top]');
const top = Number(process.argv[3] ?? 25);
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
for (const n of p.nodes) for (const c of n.children ?? []) byId.get(c)!.parent = n.id;
const self = new Map<number, number>();
p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const idle = [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
const busy = total - idle;
const byPlace = new Map<string, number>();
const byFn = new Map<string, number>();
for (const [id, t] of self) {
  const { url, functionName, lineNumber } = byId.get(id)!.callFrame;
  const where = place(url, functionName);
  byPlace.set(where, (byPlace.get(where) ?? 0) + t);
  const fn = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
  byFn.set(fn, (byFn.get(fn) ?? 0) + t);
}
const pc = (t: number) => `${((100 * t) / busy).toFixed(1).padStart(5)} %`;
console.log(`profile ${file}: ${(total / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (percentages of busy time)`);
console.log('\nself time by place:');
for (const [k, t] of [...byPlace]
  .filter(([k]) => k !== '(idle)')
  .sort((a, b) => b[1] - a[1])
  .slice(0, top))
  console.log(`${pc(t)}  ${k}`);
console.log('\ntop functions (self):');
for (const [k, t] of [...byFn]
  .filter(([k]) => !k.startsWith('(idle)'))
  .sort((a, b) => b[1] - a[1])
  .slice(0, top))
  console.log(`${pc(t)}  ${k}`);

// Inclusive time of our own files and functions: walk each sampled stack up to the root once.
const inclFile = new Map<string, number>();
const inclFn = new Map<string, number>();
const stackKeys = new Map<number, { files: string[]; fns: string[] }>();
function keysOf(id: number): { files: string[]; fns: string[] } {
  const cached = stackKeys.get(id);
  if (cached) return cached;
  const files = new Set<string>();
  const fns = new Set<string>();
  for (let n: Node | undefined = byId.get(id); n; n = n.parent === undefined ? undefined : byId.get(n.parent)) {
    const { url, functionName, lineNumber } = n.callFrame;
    const where = place(url, functionName);
    if (!where.startsWith('ours: ')) continue;
    files.add(where);
    fns.add(`${functionName || '(anonymous)'} ${where.slice(6)}:${lineNumber + 1}`);
  }
  const k = { files: [...files], fns: [...fns] };
  stackKeys.set(id, k);
  return k;
}
for (const [id, t] of self) {
  if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
  const k = keysOf(id);
  for (const f of k.files) inclFile.set(f, (inclFile.get(f) ?? 0) + t);
  for (const f of k.fns) inclFn.set(f, (inclFn.get(f) ?? 0) + t);
}
console.log('\ninclusive time of our files (the file anywhere on the stack):');
for (const [k, t] of [...inclFile].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pc(t)}  ${k}`);
console.log('\ninclusive time of our functions:');
for (const [k, t] of [...inclFn].sort((a, b) => b[1] - a[1]).slice(0, top * 2)) console.log(`${pc(t)}  ${k}`);
