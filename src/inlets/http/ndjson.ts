import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LogaggError } from '../../errors.js';
import { jsonRefusalReason } from '../json.js';
import { forEachLine } from '../lines.js';
import { decodeUtf8Body } from '../utf8.js';

/** The media types read as NDJSON: one JSON event per line (docs/integrations.md says why these three). */
export const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl'] as const;

/** An NDJSON body: its events in order, and the 1-based line of each, so errors can name the line. */
export class NdjsonBody {
  constructor(
    readonly events: unknown[],
    readonly lines: number[],
  ) {}
}

type ParseJson = ReturnType<FastifyInstance['getDefaultJsonParser']>;

/** Fastify's own JSON parser on one line; it answers synchronously. */
function parseLine(request: FastifyRequest, raw: string, parseJson: ParseJson): { value: unknown } | { error: Error } {
  let outcome: { value: unknown } | { error: Error } | undefined;
  parseJson(request, raw, (err, value: unknown) => {
    outcome = err ? { error: err } : { value };
  });
  // An Error made up front would cost a stack trace per line (measured: 4x the cost of parsing); only a parser
  // that broke its synchronous contract gets here.
  return outcome ?? { error: new Error('the JSON parser did not answer synchronously') };
}

/**
 * One event per line; blank lines (JSON whitespace only) are skipped but counted, so line numbers match an
 * editor's. Parsing stops at the first line that is not JSON: the request is refused whole anyway.
 */
function parseNdjson(request: FastifyRequest, text: string, parseJson: ParseJson, maxEvents: number): NdjsonBody {
  const events: unknown[] = [];
  const lines: number[] = [];
  forEachLine(text, (raw, line) => {
    if (events.length === maxEvents) {
      throw new LogaggError('BATCH_TOO_LARGE', {
        message: `More than ${maxEvents} events (line ${line} is event ${maxEvents + 1}); at most ${maxEvents} per request`,
      });
    }
    const parsed = parseLine(request, raw, parseJson);
    if ('error' in parsed) {
      // The secure parser's SyntaxError names a forbidden key; for bad syntax Fastify's error says only "invalid
      // JSON", so JSON.parse is asked where (on this failure path only).
      const reason = parsed.error.name === 'SyntaxError' ? parsed.error.message : jsonRefusalReason(raw);
      throw new LogaggError('INVALID_JSON', {
        message: `Line ${line} is not valid JSON (lines count from 1); nothing was stored`,
        details: [{ line, message: reason }],
        cause: parsed.error,
      });
    }
    events.push(parsed.value);
    lines.push(line);
  });
  return new NdjsonBody(events, lines);
}

/**
 * The NDJSON content-type parser, added to the scope of the routes that read it (POST /publish), so other routes
 * and inlets keep their own parsers for these types. It stops parsing past `maxEvents` events (the answer is then
 * 413 whatever the rest holds). Lines are parsed by Fastify's secure parser, refusing __proto__ keys as in JSON.
 */
export function addNdjsonParser(scope: FastifyInstance, maxEvents: number): void {
  const parseJson = scope.getDefaultJsonParser('error', 'error');
  scope.addContentTypeParser([...NDJSON_TYPES], { parseAs: 'buffer' }, (request, body, done) => {
    try {
      const text = decodeUtf8Body(request.headers['content-type'], body as Buffer, 'NDJSON');
      done(null, parseNdjson(request, text, parseJson, maxEvents));
    } catch (err) {
      done(err as Error);
    }
  });
}
