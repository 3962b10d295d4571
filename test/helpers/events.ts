import type { Event } from '../../src/schema/event.js';

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

export interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** POSTs a JSON body (or raw text with a content type) and parses the JSON answer. */
export async function post<T = unknown>(url: string, body: unknown, init: { raw?: string; contentType?: string; headers?: Record<string, string> } = {}): Promise<Reply<T>> {
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
