/**
 * The typed scripts module (src/store/scripts.ts) and the Lua files agree: one method per script, and each
 * method's KEYS count is the script's (from its `name-<numKeys>.lua` file name).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadScripts } from '../../src/store/redis.js';
import { SCRIPT_NAMES } from '../../src/store/scripts.js';

describe('scripts module', () => {
  const defs = loadScripts();

  it('has one typed method per Lua script, and no other', () => {
    expect([...SCRIPT_NAMES].sort()).toEqual(defs.map((d) => d.name).sort());
  });

  it('declares each script with as many keys as its file takes', () => {
    const text = readFileSync('src/store/scripts.ts', 'utf8');
    // `...index: AgentIndexKeys` stands for the agent index keys, as many as that tuple type lists.
    const indexKeys = /\nexport type AgentIndexKeys = readonly \[([^\]]*)\]/.exec(text);
    expect(indexKeys, 'AgentIndexKeys is declared').not.toBeNull();
    const indexCount = indexKeys![1]!.split(',').filter((x) => x.trim()).length;
    expect(indexCount).toBe(4);
    for (const d of defs) {
      const m = new RegExp(`\\n  ${d.name}\\(\\s*keys: readonly \\[([^\\]]*)\\]`).exec(text);
      expect(m, `${d.name} is declared`).not.toBeNull();
      const count = m![1]!
        .split(',')
        .filter((x) => x.trim())
        .reduce((n, x) => n + (x.trim() === '...index: AgentIndexKeys' ? indexCount : 1), 0);
      expect(count, `${d.name} KEYS`).toBe(d.numberOfKeys);
    }
  });
});
