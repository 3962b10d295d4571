import type { Event } from '../../schema/event.js';
import { validatePublishBody } from '../../schema/validate.js';
import type { BulkAction, BulkItem, ItemError } from './decode.js';
import { derivedId, documentToEvent } from './map.js';

/** One entry of a bulk answer's `items`, keyed by the item's action, as Elasticsearch answers. */
export type BulkResponseItem = Partial<Record<BulkAction, Record<string, unknown>>>;

export interface BulkResponse {
  took: number;
  errors: boolean;
  items: BulkResponseItem[];
}

/** What the inlet needs of the pipeline: submit with the database's answer per event (src/ingest/index.ts). */
export type SubmitPerEvent = (events: readonly Event[]) => Promise<{ stored?: boolean[] }>;

const SHARDS = { total: 1, successful: 1, failed: 0 };

function failed(item: BulkItem, id: string | undefined, error: ItemError): BulkResponseItem {
  return {
    [item.action]: {
      _index: item.index ?? null,
      _id: id ?? null,
      status: error.status,
      error: { type: error.type, reason: error.reason, ...(item.index === undefined ? {} : { index: item.index }) },
    },
  };
}

/** What an item can be stored as, or why not: everything short of the database's answer. */
function prepare(item: BulkItem, receivedAt: string): { id?: string; event?: Event; error?: ItemError } {
  if (item.action === 'delete' || item.action === 'update') {
    // logagg keeps events as they were sent: nothing is deleted or changed in place.
    return {
      id: item.id,
      error: {
        status: 400,
        type: 'illegal_argument_exception',
        reason: `logagg does not ${item.action} stored events; use create or index`,
      },
    };
  }
  if (item.index === undefined)
    return {
      id: item.id,
      error: { status: 400, type: 'action_request_validation_exception', reason: 'Validation Failed: 1: index is missing;' },
    };
  if (item.error) return { id: item.id, error: item.error };
  const document = item.document as Record<string, unknown>;
  const id = item.id ?? derivedId(item.index, document);
  const mapped = documentToEvent(item.index, id, document, receivedAt);
  return 'status' in mapped ? { id, error: mapped } : { id, event: mapped };
}

/**
 * Stores what can be stored of a bulk request and answers each item as Elasticsearch would, in order. New events are
 * 201 `created`; an event whose (index, _id) is already stored is, for `create`, a 409 version conflict (how
 * Filebeat, Logstash and rsyslog recognise a duplicate) and, for `index`, a 200 `noop` (logagg never overwrites;
 * `errors` stays false, so a shipper that retries a whole request on errors, like Fluent Bit, stops retrying).
 * Whether an event is new is the database's answer for this request (the pipeline's per-event result).
 */
export async function storeBulk(items: readonly BulkItem[], submit: SubmitPerEvent, startedAt: number): Promise<BulkResponse> {
  const receivedAt = new Date().toISOString();
  const prepared = items.map((item) => prepare(item, receivedAt));
  const candidates: Event[] = [];
  const positions: number[] = [];
  prepared.forEach((entry, position) => {
    if (entry.event) {
      candidates.push(entry.event);
      positions.push(position);
    }
  });
  // The same checks as every inlet; a bad event is that item's error, the others are still stored.
  const checked = validatePublishBody(candidates, Number.MAX_SAFE_INTEGER);
  if (!checked.ok) {
    for (const problem of checked.problems) {
      const entry = prepared[positions[problem.index] ?? -1];
      if (!entry?.event) continue;
      const field = problem.path.split('/')[1];
      const what = field === 'topic' ? 'index name' : field === 'event_id' ? '_id' : problem.path;
      entry.error = { status: 400, type: 'mapper_parsing_exception', reason: `${what} ${problem.message}` };
      entry.event = undefined;
    }
  }
  const events: Event[] = [];
  const submitted: number[] = [];
  prepared.forEach((entry, position) => {
    if (entry.event) {
      events.push(entry.event);
      submitted.push(position);
    }
  });
  const stored = events.length === 0 ? [] : ((await submit(events)).stored ?? []);
  // Per position: whether the database stored this item's event (undefined for items never submitted).
  const fresh = new Array<boolean | undefined>(items.length);
  for (let i = 0; i < submitted.length; i++) fresh[submitted[i] as number] = stored[i] === true;

  let errors = false;
  const answers = items.map((item, position): BulkResponseItem => {
    const entry = prepared[position] as { id?: string; error?: ItemError };
    if (entry.error) {
      errors = true;
      return failed(item, entry.id, entry.error);
    }
    // Plain literals, no spread or computed keys: this runs once per event.
    if (fresh[position] === true) {
      const created = { _index: item.index, _id: entry.id, _version: 1, result: 'created', _shards: SHARDS, status: 201 };
      return item.action === 'create' ? { create: created } : { index: created };
    }
    if (item.action === 'index')
      return { index: { _index: item.index, _id: entry.id, _version: 1, result: 'noop', _shards: SHARDS, status: 200 } };
    errors = true;
    return failed(item, entry.id, {
      status: 409,
      type: 'version_conflict_engine_exception',
      reason: `[${entry.id ?? ''}]: version conflict, document already exists (current version [1])`,
    });
  });
  return { took: Math.max(0, Math.round(performance.now() - startedAt)), errors, items: answers };
}
