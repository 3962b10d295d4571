import type { Transport } from './transport.js';

/** What the database keeps per topic (topic_stats): copies received, events stored as new, expired, deleted. */
export interface PersistedCounters {
  received: number;
  unique: number;
  expired: number;
  deleted: number;
}

/** Every counter /stats shows, per topic and in total. */
export interface Counters {
  received: number;
  unique_processed: number;
  duplicate_dropped: number;
  stored: number;
  expired: number;
  deleted: number;
}

/**
 * The one derivation of the figures from the persisted counters, so a topic and the totals cannot disagree:
 * received = unique_processed + duplicate_dropped and unique_processed = stored + expired + deleted (docs/spec.md §3).
 */
export function deriveCounters({ received, unique, expired, deleted }: PersistedCounters): Counters {
  return { received, unique_processed: unique, duplicate_dropped: received - unique, stored: unique - expired - deleted, expired, deleted };
}

/** What one committed batch did for one (transport, topic): the unit of the per-batch metrics. */
export interface TallyEntry {
  transport: Transport;
  tenant: string;
  topic: string;
  received: number;
  unique: number;
}
