import assert from 'node:assert/strict';
import type { PublishResult } from '../../src/schema/publish.js';
import type { Stats } from '../../src/schema/stats.js';
import { get, makeEvent, post } from './events.js';

/*
 * The data set and requests the deletion tests share (test/http/deletion*.test.ts).
 */

/** 2025-10-21 10:00:00 UTC plus `second` seconds. */
export const at = (second: number): string => new Date(Date.UTC(2025, 9, 21, 10, 0, second)).toISOString();

/** Events 0..n-1 on a topic, one second apart from 10:00:00; every third one says "secret". */
export const events = (topic: string, n: number, prefix = 'e') =>
  Array.from({ length: n }, (_, i) =>
    makeEvent(topic, `${prefix}${i}`, { timestamp: at(i), payload: { message: i % 3 === 0 ? `token secret ${i}` : `plain ${i}` } }),
  );

export async function publish(url: string, batch: unknown[], headers: Record<string, string> = {}): Promise<PublishResult> {
  const reply = await post<PublishResult>(`${url}/publish`, batch, { headers });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body;
}

export const topicStats = async (url: string, topic: string, headers: Record<string, string> = {}) =>
  (await get<Stats>(`${url}/stats?top=0&topic=${encodeURIComponent(topic)}`, headers)).body.per_topic[topic];
