import type { FastifyInstance } from 'fastify';
import { LogaggError } from '../../errors.js';

// Fatal: a byte sequence that is not UTF-8 is an error, not U+FFFD. Replacement characters would merge distinct
// event_ids into one key, and the second event would be dropped as a duplicate of the first.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * The JSON body parser: strict UTF-8 (SPEC §3 says JSON; RFC 8259 says UTF-8), any other charset refused with
 * 415, then Fastify's own secure parser (refusing __proto__ and constructor.prototype keys with 400).
 */
export function bodyPlugin(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const charset = /charset\s*=\s*"?([^";\s]*)/i.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      done(new LogaggError('UNSUPPORTED_MEDIA_TYPE', { message: `The body must be UTF-8 JSON, not ${charset}` }));
      return;
    }
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch (err) {
      done(new LogaggError('INVALID_JSON', { message: 'The body is not valid UTF-8', cause: err }));
      return;
    }
    parseJson(request, text, done);
  });
  // Only JSON is an event body (SPEC §3): text/plain would otherwise parse as a string and earn a 422, not 415.
  app.removeContentTypeParser('text/plain');
}
