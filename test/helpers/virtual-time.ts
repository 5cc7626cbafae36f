/**
 * Keeping a virtual clock honest around the app's I/O (test/sim/erlang-a.test.ts, the planner's emulated
 * history): the clock must not move while something is on the wire.
 */
import type { RedisClient } from '../../src/store/redis.js';

/**
 * Hold the virtual clock while the app's Redis commands are in flight, and while a message published for
 * an agent has not reached it (counted here, ended by the agents' onFrame for pushed frames).
 */
export function trackRedis(redis: RedisClient, begin: () => () => void, agentChannel: string): { pushed: () => void } {
  const undelivered: (() => void)[] = [];
  type Cmd = { name: string; args: unknown[]; promise: Promise<unknown> };
  const target = redis as unknown as { sendCommand: (cmd: Cmd, ...rest: unknown[]) => unknown };
  const orig = target.sendCommand.bind(redis);
  target.sendCommand = (cmd, ...rest) => {
    const done = begin();
    cmd.promise.then(done, done);
    if (cmd.name === 'publish' && String(cmd.args[0]) === agentChannel) undelivered.push(begin());
    return orig(cmd, ...rest);
  };
  return { pushed: () => undelivered.shift()?.() };
}
