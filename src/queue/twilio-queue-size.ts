/**
 * Twilio's own queue must have room for as many callers as a queue's `maxLength`: `<Enqueue>` creates a
 * missing queue with room for 1,000 calls, and a full Twilio queue answers QueueResult=queue-full (the
 * caller overflows) whatever our count says. At start-up, each queue whose `maxLength` is above 1,000 gets
 * its Twilio queue created or resized to that size (5,000 at most: queue.d.ts). In the background: the
 * server is ready without it, and a failure is logged (the queue then holds 1,000 callers).
 */
import type { CenterConfig } from '../config/callcenter.js';
import type { TwilioRest } from './twilio-rest.js';

/** What `<Enqueue>` gives a queue it creates (queue.d.ts: "The default is 1000"). */
export const TWILIO_QUEUE_DEFAULT_SIZE = 1000;

interface Log {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
}

/**
 * Resize Twilio's queues that need more than the default room. A queue whose resize failed (Twilio not
 * reachable) is tried again every `retryMs` until it succeeds or `stop()` is called.
 */
export function ensureTwilioQueueSizes(center: CenterConfig, rest: TwilioRest, log: Log, retryMs = 10_000): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const attempt = async (queues: CenterConfig['queues'][string][], first: boolean): Promise<void> => {
    const failed: typeof queues = [];
    await Promise.all(
      queues.map(async (q) => {
        try {
          const size = await rest.ensureQueueSize(q.id, q.maxLength);
          log.info({ queue: q.id, maxSize: size }, "Twilio's queue sized for the queue's maxLength");
        } catch (err) {
          failed.push(q);
          if (first)
            log.warn(
              { err, queue: q.id, maxLength: q.maxLength },
              `could not size Twilio's queue (trying again): it holds ${TWILIO_QUEUE_DEFAULT_SIZE} callers, later ones overflow (queue_full)`,
            );
        }
      }),
    );
    if (failed.length && !stopped) timer = setTimeout(() => void attempt(failed, false), retryMs);
  };
  void attempt(
    Object.values(center.queues).filter((q) => q.maxLength > TWILIO_QUEUE_DEFAULT_SIZE),
    true,
  );
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
