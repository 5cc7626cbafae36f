/**
 * Call records and the supervisor audit. Call records only subscribe to domain events (as metrics do):
 * every event this instance publishes is folded into its call's record in Redis (src/records/store.ts), the
 * events of one `publish` (one webhook's or action's) with one script call per call they are about.
 * A failed fold is reported, never thrown at the publisher.
 */
import type { EventBus } from '../events.js';
import type { RecordStore } from './store.js';

export { createAuditLog, type AuditAction, type AuditActor, type AuditEntry, type AuditLog } from './audit.js';
export { csvToRecords, recordsToCsv } from './csv.js';
export { RECORD_OUTCOMES, type CallRecord, type RecordOutcome } from './record.js';
export { createRecordStore, isCursor, type RecordFilter, type RecordStore } from './store.js';

export interface RecordSubscription {
  /** Resolves when every fold started so far has finished (shutdown, tests). */
  idle(): Promise<void>;
  stop(): void;
}

export function subscribeCallRecords(bus: EventBus, store: RecordStore, onError: (err: unknown) => void): RecordSubscription {
  const inFlight = new Set<Promise<unknown>>();
  const off = bus.onPublish((events) => {
    const p = store.foldAll(events).catch(onError);
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  });
  return {
    async idle() {
      while (inFlight.size) await Promise.all([...inFlight]);
    },
    stop: off,
  };
}
