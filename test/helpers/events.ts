import assert from 'node:assert/strict';
import type { Event } from '../../src/schema/event.js';
import type { TopicStats } from '../../src/schema/stats.js';

let counter = 0;

/** A topic no other test uses, so each test arranges and asserts its own data. */
export function uniqueTopic(label: string): string {
  counter++;
  return `${label}.${process.pid}.${Date.now().toString(36)}.${counter}`;
}

export function makeEvent(topic: string, eventId: string, overrides: Partial<Event> = {}): Event {
  return {
    topic,
    event_id: eventId,
    timestamp: '2025-10-21T10:00:00.000Z',
    source: 'payment-gateway-A',
    payload: { content: `event ${eventId}`, metadata: { amount: 500000 } },
    ...overrides,
  };
}

/**
 * A topic's counters from /stats without last_received_at, which is checked to be a time (its value varies):
 * what tests compare exactly.
 */
export function counters(topicStats: TopicStats | undefined): Omit<TopicStats, 'last_received_at'> | undefined {
  if (topicStats === undefined) return undefined;
  const { last_received_at: lastReceivedAt, ...rest } = topicStats;
  assert.ok(lastReceivedAt === null || !Number.isNaN(Date.parse(lastReceivedAt)), `last_received_at ${lastReceivedAt} is not a time`);
  return rest;
}

/** The counters of a topic with no retention: all unique events still stored. */
export const kept = (received: number, unique: number) => ({
  received,
  unique_processed: unique,
  duplicate_dropped: received - unique,
  stored: unique,
  expired: 0,
  deleted: 0,
});

export interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** POSTs a JSON body (or raw text with a content type) and parses the JSON answer. */
export async function post<T = unknown>(
  url: string,
  body: unknown,
  init: { raw?: string; contentType?: string; headers?: Record<string, string> } = {},
): Promise<Reply<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': init.contentType ?? 'application/json', ...init.headers },
    body: init.raw ?? JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as T };
}

export async function get<T = unknown>(url: string, headers: Record<string, string> = {}): Promise<Reply<T>> {
  const response = await fetch(url, { headers });
  return { status: response.status, headers: response.headers, body: (await response.json()) as T };
}
