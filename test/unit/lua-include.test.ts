import { describe, expect, it } from 'vitest';
import { expandIncludes, loadScripts } from '../../src/store/redis.js';

describe('Lua includes', () => {
  it('expands every include of every script, leaving none behind', () => {
    const scripts = loadScripts();
    expect(scripts.length).toBeGreaterThan(25);
    for (const s of scripts) expect(s.lua).not.toMatch(/@include/);
    const endCall = scripts.find((s) => s.name === 'agentEndCall');
    expect(endCall?.lua).toContain('local function finish(');
    expect(endCall?.lua).toContain('local function emit(');
  });
  it('names a missing include', () => {
    expect(() => expandIncludes('-- @include "nope"\nreturn 1\n', 'src/store/lua', 'x-1.lua')).toThrow(
      /x-1\.lua: include "nope" not found/,
    );
  });
});
