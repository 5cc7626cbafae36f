/**
 * Twilio's queue must hold as many callers as the queue's maxLength: `<Enqueue>` creates a missing queue
 * with room for 1,000 calls, and a full Twilio queue answers QueueResult=queue-full (queue.d.ts, the
 * emulator's queue registry). The server sizes Twilio's queues above that at start-up, over REST.
 */
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, parseCenterConfig, type CenterConfig } from '../../src/config/callcenter.js';
import { EXAMPLE_CONFIG } from '../helpers/app.js';
import { makeStack, type Stack } from '../helpers/stack.js';

async function centerWith(maxLength: Record<string, number>): Promise<CenterConfig> {
  const raw = (await import('yaml')).parse(await readFile(EXAMPLE_CONFIG, 'utf8')) as { queues: Record<string, Record<string, unknown>> };
  for (const [q, n] of Object.entries(maxLength)) raw.queues[q]!.maxLength = n;
  return parseCenterConfig(raw, 'queue-size config');
}

describe("Twilio's queue sized for the queue's maxLength", () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('a queue above 1,000 gets its Twilio queue created with that MaxSize; one at or below is left to <Enqueue>', async () => {
    stack = await makeStack({ center: await centerWith({ support: 2500, billing: 100 }) });
    const emu = stack.emu;
    const deadline = Date.now() + 10_000;
    while (emu.queueRegistry.byFriendlyName('support')?.maxSize !== 2500 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(emu.queueRegistry.byFriendlyName('support')?.maxSize).toBe(2500);
    expect(emu.queueRegistry.byFriendlyName('billing')).toBeUndefined();
    // Over Twilio's REST API, as an operator would check it.
    const created = emu.log.rest.filter((e) => e.method === 'POST' && e.path.endsWith('/Queues.json'));
    expect(created.map((e) => [e.form.FriendlyName, e.form.MaxSize])).toEqual([['support', '2500']]);
  });

  it("a maxLength above Twilio's largest queue (5,000) is refused, naming the field", async () => {
    await expect(centerWith({ support: 6000 })).rejects.toThrow(ConfigError);
    await expect(centerWith({ support: 6000 })).rejects.toThrow(/queues\.support\.maxLength/);
  });
});
