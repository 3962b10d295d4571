import type { StoredEvent } from '../../src/schema/event.js';
import type { Stats } from '../../src/schema/stats.js';
import { counters, get, type Reply } from '../helpers/events.js';

/** An item of a bulk answer, whatever its action. */
export interface Item {
  _index: string | null;
  _id: string | null;
  status: number;
  result?: string;
  _version?: number;
  error?: { type: string; reason: string };
}

export interface BulkReply {
  took: number;
  errors: boolean;
  items: Array<Record<string, Item>>;
}

/** NDJSON of action/document pairs; `null` for a document leaves the line out (delete). */
export function ndjson(pairs: Array<[unknown, unknown]>): string {
  return pairs
    .map(([action, document]) =>
      document === null ? `${JSON.stringify(action)}\n` : `${JSON.stringify(action)}\n${JSON.stringify(document)}\n`,
    )
    .join('');
}

export async function bulk(
  url: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
  path = '/_bulk',
): Promise<Reply<BulkReply>> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', ...headers },
    body,
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as BulkReply };
}

/** [action, status, result or error type] of each item: what the tests compare. */
export function summary(reply: BulkReply): Array<[string, number, string | undefined]> {
  return reply.items.map((entry) => {
    const [action, item] = Object.entries(entry)[0] as [string, Item];
    return [action, item.status, item.result ?? item.error?.type];
  });
}

export type EsEvent = Omit<StoredEvent, 'payload'> & { payload: Record<string, unknown> };

export async function storedIn(url: string, topic: string, headers: Record<string, string> = {}): Promise<EsEvent[]> {
  return (await get<EsEvent[]>(`${url}/events?topic=${encodeURIComponent(topic)}&limit=10000`, headers)).body;
}

export async function topicCounts(url: string, topic: string, headers: Record<string, string> = {}) {
  return counters((await get<Stats>(`${url}/stats?topic=${encodeURIComponent(topic)}`, headers)).body.per_topic[topic]);
}
