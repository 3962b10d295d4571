import { promisify } from 'node:util';
import { gunzip, inflate, inflateRaw, type ZlibOptions } from 'node:zlib';
import { LogaggError } from '../../errors.js';

const gunzipAsync = promisify<Buffer, ZlibOptions, Buffer>(gunzip);
const inflateAsync = promisify<Buffer, ZlibOptions, Buffer>(inflate);
const inflateRawAsync = promisify<Buffer, ZlibOptions, Buffer>(inflateRaw);

/** A zlib stream starts with a CMF/FLG pair: deflate method, and the pair a multiple of 31 (RFC 1950 §2.2). */
function isZlib(body: Buffer): boolean {
  return body.length >= 2 && ((body[0] as number) & 0x0f) === 8 && ((body[0] as number) * 256 + (body[1] as number)) % 31 === 0;
}

/**
 * The body as sent, with its Content-Encoding undone as Loki undoes it: gzip; deflate (Loki reads raw DEFLATE,
 * HTTP means zlib-wrapped: both are read, told apart by the zlib header); snappy and identity are left as they
 * are (a protobuf body is always snappy; some senders say so in this header too). Inflating stops past `limit`
 * bytes (BODY_LIMIT): a bomb costs at most that much memory and is refused with 413.
 */
export async function undoContentEncoding(header: string | undefined, body: Buffer, limit: number): Promise<Buffer> {
  const coding = (header ?? '').trim().toLowerCase();
  if (coding === '' || coding === 'identity' || coding === 'snappy') return body;
  let inflater: (body: Buffer, options: ZlibOptions) => Promise<Buffer>;
  if (coding === 'gzip' || coding === 'x-gzip') inflater = gunzipAsync;
  else if (coding === 'deflate') inflater = isZlib(body) ? inflateAsync : inflateRawAsync;
  else {
    throw new LogaggError('UNSUPPORTED_ENCODING', {
      message: `Content-Encoding "${header ?? ''}" is not supported on the Loki push; send gzip, deflate, snappy or identity`,
    });
  }
  try {
    return await inflater(body, { maxOutputLength: limit });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new LogaggError('BODY_TOO_LARGE', {
        message: `The body inflates to more than the limit of ${limit} bytes (BODY_LIMIT)`,
        cause: err,
      });
    }
    throw new LogaggError('INVALID_LOKI', { message: `The body is not valid ${coding}: ${(err as Error).message}`, cause: err });
  }
}
