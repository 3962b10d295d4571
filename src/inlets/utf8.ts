import { LogaggError } from '../errors.js';

// Fatal: a byte sequence that is not UTF-8 is an error, not U+FFFD. Replacement characters would merge distinct
// event_ids into one key, and the second event would be dropped as a duplicate of the first.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * A text body as a string: a charset other than UTF-8 in `contentType` is refused with 415 (docs/spec.md §3 says
 * JSON; RFC 8259 says UTF-8), and bytes that are not UTF-8 with 400. `what` names the format in the message.
 */
export function decodeUtf8Body(contentType: string | undefined, body: Uint8Array, what: string): string {
  const charset = /charset\s*=\s*"?([^";\s]*)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new LogaggError('UNSUPPORTED_MEDIA_TYPE', { message: `The body must be UTF-8 ${what}, not ${charset}` });
  }
  try {
    return utf8.decode(body);
  } catch (err) {
    throw new LogaggError('INVALID_JSON', { message: 'The body is not valid UTF-8', cause: err });
  }
}
