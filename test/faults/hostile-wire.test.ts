import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { Stats } from '../../src/schema/stats.js';
import { assertRefusal, ownEntries, send, toJsonText } from '../helpers/hostile.js';
import { type ServerProcess, spawnServer, waitFor } from '../helpers/process.js';
import { freshStore, type StoreLocation, storeKinds } from '../helpers/stores.js';

/**
 * Hostile input below the JSON: raw bytes, broken HTTP, slow and vanishing clients. The server runs as a child
 * process, so a connection it never lets go or a subscriber it leaks cannot hold this test process open.
 *
 */
// The request timeout the server is started with; the server must cut a slow request off well within SLOW_DEADLINE_MS.
const REQUEST_TIMEOUT_MS = 1_000;
const SLOW_DEADLINE_MS = 5_000;
const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);

interface RawAnswer {
  status: number | undefined;
  body: unknown;
  /** When the server closed the connection, in ms after it was opened; undefined if it was still open at the deadline. */
  closedAfterMs: number | undefined;
}

/**
 * Opens a connection, writes `head`, then writes `drip` one character every intervalMs, until the server closes
 * the connection or deadlineMs passes; returns what the server answered.
 */
function rawExchange(url: string, head: string | Buffer, drip = '', intervalMs = 100, deadlineMs = 3_000): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let sent = 0;
    const dripper = setInterval(() => {
      if (sent < drip.length && socket.writable) socket.write(drip[sent++] as string);
    }, intervalMs);
    const finish = (closed: boolean) => {
      clearInterval(dripper);
      clearTimeout(deadline);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('utf8');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      const payload = text.slice(text.indexOf('\r\n\r\n') + 4);
      let body: unknown = payload;
      try {
        body = JSON.parse(payload);
      } catch {
        // Not JSON: the assertions show the text.
      }
      resolve({
        status: status === undefined ? undefined : Number(status),
        body,
        closedAfterMs: closed ? Date.now() - started : undefined,
      });
    };
    const deadline = setTimeout(() => finish(false), deadlineMs);
    socket.on('connect', () => socket.write(head));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => finish(true));
    // A reset is the server closing on us: 'close' follows and reports it.
    socket.on('error', () => undefined);
  });
}

function assertRawRefusal(answer: RawAnswer, status: number, code: string): void {
  assert.ok(answer.status !== undefined, `no answer: ${JSON.stringify(answer)}`);
  assertRefusal({ status: answer.status, contentType: 'application/json', body: answer.body });
  assert.deepEqual({ status: answer.status, error: (answer.body as { error?: string }).error }, { status, error: code });
}

/** Alive, and nothing that was refused or cut off was counted. */
async function assertUnharmed(url: string): Promise<void> {
  assert.equal((await fetch(`${url}/health`)).status, 200);
  assert.equal(((await send(`${url}/stats`)).body as Stats).received, 0);
}

const event = (eventId: string) =>
  toJsonText(
    ownEntries([
      ['topic', 'wire'],
      ['event_id', eventId],
      ['timestamp', '2025-10-21T10:00:00Z'],
      ['source', 's'],
      ['payload', {}],
    ]),
  );
const request = (head: string, body = '') =>
  `${head}\r\nHost: x\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;

// The leak of an early hang-up shows on PostgreSQL (subscribing awaits the network), so prefer it when present.
const kind = storeKinds().at(-1) ?? 'pglite';

describe(`hostile bytes and connections [${kind}]`, { timeout: 120_000 }, () => {
  let location: StoreLocation;
  let server: ServerProcess;
  before(async () => {
    location = await freshStore(kind);
    server = await spawnServer(location, {
      BODY_LIMIT: String(128 * 1024),
      MAX_BATCH_EVENTS: '20',
      REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    });
  });
  after(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
    await location.destroy();
  });

  test('a body with invalid UTF-8 bytes gets 400 INVALID_JSON, not U+FFFD that merges distinct ids', async () => {
    const invalid = fc.constantFrom(
      [0xff],
      [0xfe],
      [0x80],
      [0xc0, 0x80],
      [0xc3],
      [0xe2, 0x82],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
    );
    await fc.assert(
      fc.asyncProperty(invalid, fc.string({ unit: 'grapheme-ascii', maxLength: 8 }), async (bytes, id) => {
        // The bytes go inside the event_id string, where a lenient decoder would turn them into U+FFFD.
        const [before, after] = event(`${id}§`).split('§') as [string, string];
        const body = Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
        const reply = await send(`${server.url}/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        assertRefusal(reply);
        assert.equal((reply.body as { error: string }).error, 'INVALID_JSON');
      }),
      { numRuns: 100, seed: SEED, includeErrorInReport: true },
    );
    await assertUnharmed(server.url);
  });

  test('application/json with a charset other than UTF-8 gets 415', async () => {
    const charset = fc.constantFrom(
      'utf-16',
      'UTF-16LE',
      'utf-16be',
      'utf-32',
      'latin1',
      'iso-8859-1',
      'windows-1252',
      'shift_jis',
      'x-nonsense',
      '',
    );
    await fc.assert(
      fc.asyncProperty(charset, fc.boolean(), async (name, utf16) => {
        const text = event('charset');
        const reply = await send(`${server.url}/publish`, {
          method: 'POST',
          headers: { 'content-type': `application/json; charset=${name}` },
          body: utf16 ? Buffer.from(text, 'utf16le') : text,
        });
        assertRefusal(reply);
        assert.equal((reply.body as { error: string }).error, 'UNSUPPORTED_MEDIA_TYPE');
      }),
      { numRuns: 40, seed: SEED, includeErrorInReport: true },
    );
    await assertUnharmed(server.url);
  });

  test('malformed HTTP gets 400 BAD_REQUEST and oversized headers 431 HEADERS_TOO_LARGE, in the JSON error shape', async () => {
    const malformed = [
      'GARBAGE\r\n\r\n',
      'GET /health HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n',
      'GET /health HTTP/1.1\r\nHost: x\r\nX-Nul: a\0b\r\n\r\n',
      'POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}',
      'POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{}',
      'POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
      'POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
    ];
    for (const head of malformed) assertRawRefusal(await rawExchange(server.url, head), 400, 'BAD_REQUEST');
    const longUrl = request(`GET /events?topic=${'x'.repeat(20_000)} HTTP/1.1`);
    const manyHeaders = `GET /health HTTP/1.1\r\nHost: x\r\n${'X-Pad: '.padEnd(200, 'p').concat('\r\n').repeat(100)}\r\n`;
    for (const head of [longUrl, manyHeaders]) assertRawRefusal(await rawExchange(server.url, head), 431, 'HEADERS_TOO_LARGE');
    await assertUnharmed(server.url);
  });

  test('a body or headers dribbled slower than the request timeout are cut off with 408 REQUEST_TIMEOUT', async () => {
    const body = event('slow');
    const slowBody = `POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const slowHeaders = 'POST /publish HTTP/1.1\r\nHost: x\r\n';
    const [bodyAnswer, headersAnswer] = await Promise.all([
      rawExchange(server.url, slowBody, body, 100, SLOW_DEADLINE_MS),
      rawExchange(server.url, slowHeaders, `X-Slow: ${'s'.repeat(200)}`, 100, SLOW_DEADLINE_MS),
    ]);
    for (const answer of [bodyAnswer, headersAnswer]) {
      assert.ok(answer.closedAfterMs !== undefined, `the server kept a slow request open for ${SLOW_DEADLINE_MS} ms`);
      assertRawRefusal(answer, 408, 'REQUEST_TIMEOUT');
    }
    await assertUnharmed(server.url);
  });

  test('a subscriber that hangs up before its subscription completes leaves nothing behind', async () => {
    const subscribers = async () =>
      Number(/^logagg_stream_subscribers (\d+)$/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1]);
    for (let i = 0; i < 30; i++) {
      const abort = new AbortController();
      await fetch(`${server.url}/events/stream?topic=gone`, { signal: abort.signal });
      abort.abort();
      await waitFor(async () => (await subscribers()) === 0, 3_000, 'the stream subscribers to return to 0');
    }
  });
});
