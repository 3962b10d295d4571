import { LogaggError } from '../../errors.js';
import type { Event } from '../../schema/event.js';
import type { ExportLogsResponse } from '../../schema/otlp.js';
import { validateDerivedEvents } from '../../schema/validate.js';
import { type DecodedRecord, decodeLogsRequest, OtlpDecodeError, type RejectedRecord, TooManyRecordsError } from './decode.js';
import { RecordRejection, recordToEvent } from './map.js';

export interface MappedLogs {
  /** Events of the records that passed, in request order: submitted together, so committed together. */
  events: Event[];
  rejected: RejectedRecord[];
}

// The partial-success message names the first few rejections; the count says how many there were.
const REJECTIONS_NAMED = 5;

/**
 * An OTLP/JSON logs request as events (docs/spec.md §3, docs/integrations.md). A body that does not decode is refused
 * whole (INVALID_OTLP, 400); a record that cannot become a valid event is rejected alone, the rest go on.
 */
export function mapLogsRequest(body: unknown, options: { maxBatchEvents: number; receivedAt: number }): MappedLogs {
  let decoded;
  try {
    decoded = decodeLogsRequest(body, options.maxBatchEvents);
  } catch (err) {
    if (err instanceof OtlpDecodeError) {
      throw new LogaggError('INVALID_OTLP', {
        message: `Not an OTLP/JSON logs request: ${err.message}`,
        details: [{ path: err.path, message: err.reason }],
        cause: err,
      });
    }
    if (err instanceof TooManyRecordsError) throw new LogaggError('BATCH_TOO_LARGE', { message: err.message, cause: err });
    throw err;
  }
  return mapDecodedLogs(decoded, options);
}

/** Decoded records (from OTLP/JSON or straight from protobuf) as events, each validated as POST /publish does. */
export function mapDecodedLogs(decoded: ReadonlyArray<DecodedRecord | RejectedRecord>, options: { receivedAt: number }): MappedLogs {
  // Rejections keep their record's place in the request, so the message lists them in request order.
  const rejections: Array<RejectedRecord & { at: number }> = [];
  const candidates: Event[] = [];
  const places: Array<{ at: number; path: string }> = [];
  decoded.forEach((record, at) => {
    if ('reason' in record) {
      rejections.push({ ...record, at });
      return;
    }
    try {
      candidates.push(recordToEvent(record, options.receivedAt));
      places.push({ at, path: record.path });
    } catch (err) {
      if (!(err instanceof RecordRejection)) throw err;
      rejections.push({ path: record.path, reason: err.message, at });
    }
  });
  // The same checks as POST /publish (names, timestamp range, strings the store can hold, payload depth).
  const checked = validateDerivedEvents(candidates);
  const bad = new Map<number, string>();
  if (!checked.ok) {
    for (const problem of checked.problems) {
      if (!bad.has(problem.index)) bad.set(problem.index, `event ${problem.path || '/'} ${problem.message}`);
    }
  }
  for (const [index, reason] of bad) rejections.push({ ...(places[index] as { at: number; path: string }), reason });
  rejections.sort((a, b) => a.at - b.at);
  return {
    events: bad.size === 0 ? candidates : candidates.filter((_, i) => !bad.has(i)),
    rejected: rejections.map(({ path, reason }) => ({ path, reason })),
  };
}

/** The ExportLogsServiceResponse: empty on full success, partialSuccess when any record was rejected (OTLP spec). */
export function exportLogsResponse(rejected: readonly RejectedRecord[]): ExportLogsResponse {
  if (rejected.length === 0) return {};
  const named = rejected.slice(0, REJECTIONS_NAMED).map((r) => `${r.path}: ${r.reason}`);
  const more = rejected.length > REJECTIONS_NAMED ? `; and ${rejected.length - REJECTIONS_NAMED} more` : '';
  return { partialSuccess: { rejectedLogRecords: rejected.length, errorMessage: `${named.join('; ')}${more}` } };
}
