import { LogaggError } from '../../errors.js';
import { forEachLine } from '../lines.js';

/** The four bulk actions Elasticsearch knows; logagg stores `create` and `index`, and answers the others per item. */
export const BULK_ACTIONS = ['create', 'index', 'delete', 'update'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

/** Why one item cannot be stored: an Elasticsearch error type and reason, answered in that item with `status`. */
export interface ItemError {
  status: number;
  type: string;
  reason: string;
}

/** One action of a bulk body: its metadata, and its document (or why the document could not be read). */
export interface BulkItem {
  action: BulkAction;
  /** `_index` of the action, else the path's index; undefined when neither names one. */
  index: string | undefined;
  /** `_id` of the action as text (a number is read as its decimal text, as Elasticsearch does). */
  id: string | undefined;
  /** The document line, parsed; absent for delete, and when the line was not a JSON object (then `error`). */
  document?: Record<string, unknown>;
  error?: ItemError;
}

/** Parses one line as JSON, with the caller's parser (Fastify's secure one: `__proto__` keys are refused). */
export type ParseLine = (line: string) => { value: unknown } | { error: Error };

function actionError(line: number, message: string): LogaggError {
  // A broken action line leaves no way to know where the next pair starts: the whole request is refused, as
  // Elasticsearch does (400, nothing stored).
  return new LogaggError('INVALID_JSON', { message: `Malformed action/metadata line [${line}]: ${message}`, details: [{ line, message }] });
}

function readAction(value: unknown, line: number, pathIndex: string | undefined): Omit<BulkItem, 'document' | 'error'> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw actionError(line, 'expected an object');
  const keys = Object.keys(value);
  const action = keys[0];
  if (keys.length !== 1 || !(BULK_ACTIONS as readonly string[]).includes(action as string)) {
    throw actionError(line, `expected one of [create, delete, index, update] but found [${keys.join(', ')}]`);
  }
  const meta = (value as Record<string, unknown>)[action as string];
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta))
    throw actionError(line, `the value of "${action}" must be an object`);
  const { _index: index, _id: id } = meta as Record<string, unknown>;
  if (index !== undefined && typeof index !== 'string') throw actionError(line, '_index must be a string');
  if (id !== undefined && id !== null && typeof id !== 'string' && !(typeof id === 'number' && Number.isSafeInteger(id))) {
    throw actionError(line, '_id must be a string');
  }
  return {
    action: action as BulkAction,
    index: index ?? pathIndex,
    id: id === undefined || id === null ? undefined : String(id),
  };
}

/**
 * Splits a bulk body into its items, in order. A line that is not an action (bad JSON, an unknown action) refuses
 * the whole request (nothing can be paired after it); a document that is not a JSON object is that item's error
 * only, so the valid items of the request are still stored, as Elasticsearch does. Stops past `maxItems`.
 */
export function decodeBulk(text: string, parse: ParseLine, pathIndex: string | undefined, maxItems: number): BulkItem[] {
  const items: BulkItem[] = [];
  let pending: BulkItem | undefined;
  const last = forEachLine(text, (raw, line) => {
    const parsed = parse(raw);
    if (pending) {
      // The document line of a create, index or update.
      const item = pending;
      pending = undefined;
      if ('error' in parsed) {
        item.error = {
          status: 400,
          type: 'mapper_parsing_exception',
          reason: `failed to parse the document on line ${line}: ${parsed.error.message}`,
        };
      } else if (typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) {
        item.error = {
          status: 400,
          type: 'mapper_parsing_exception',
          reason: `failed to parse: the document on line ${line} must be a JSON object`,
        };
      } else {
        item.document = parsed.value as Record<string, unknown>;
      }
      return;
    }
    if ('error' in parsed) throw actionError(line, parsed.error.message);
    if (items.length === maxItems) {
      throw new LogaggError('BATCH_TOO_LARGE', {
        message: `More than ${maxItems} actions (line ${line} is action ${maxItems + 1}); at most ${maxItems} per request`,
      });
    }
    const item: BulkItem = readAction(parsed.value, line, pathIndex);
    items.push(item);
    if (item.action !== 'delete') pending = item;
  });
  if (pending) {
    // Elasticsearch refuses the request: the last action has no document (a body cut short).
    throw new LogaggError('INVALID_JSON', {
      message: `The bulk body ends after an action line with no document (line ${last}); was it cut short?`,
    });
  }
  return items;
}
