import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { InflateWithin } from '../../src/http/plugins/body.js';
import type { ErrorBody } from '../../src/schema/error.js';
import type { Stats } from '../../src/schema/stats.js';
import { get, makeEvent, type Reply, uniqueTopic } from '../helpers/events.js';
import { peakRssMiB } from '../helpers/process.js';
import { serverForSuite } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';

const LIMIT = 64 * 1024;
// One gzip member inflating to 1 MiB of spaces (~1 KiB compressed); members concatenate into a valid gzip stream.
const MEMBER = gzipSync(Buffer.alloc(1024 * 1024, 0x20));

async function send<T = unknown>(url: string, body: Uint8Array | string, headers: Record<string, string>): Promise<Reply<T>> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: response.status, headers: response.headers, body: (await response.json()) as T };
}

/**
 * Streams gzip members without end (chunked) until the server answers, the way a bomb arrives; resolves with the
 * answer and how many inflated bytes had been sent by then. Gives up after `maxMembers`.
 */
function sendEndlessGzip(url: string, maxMembers: number): Promise<{ status: number; body: ErrorBody; sentMiB: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(
      `${url}/publish`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) as ErrorBody, sentMiB: sent });
          req.destroy();
        });
      },
    );
    // The server may hang up once it has answered: that is the point, not a failure.
    req.on('error', (err) => (answered ? undefined : reject(err)));
    const pump = (): void => {
      while (!answered && sent < maxMembers) {
        sent++;
        if (!req.write(MEMBER)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    pump();
  });
}

for (const kind of storeKinds()) {
  describe(`Content-Encoding on POST /publish [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind, { bodyLimit: LIMIT, maxBatchEvents: 20 });
    const publish = <T = unknown>(body: Uint8Array | string, headers: Record<string, string>) =>
      send<T>(`${server.url}/publish`, body, headers);
    const received = async (topic: string) =>
      (await get<Stats>(`${server.url}/stats?topic=${encodeURIComponent(topic)}`)).body.per_topic[topic]?.received;

    test('gzip JSON and gzip NDJSON bodies are inflated and stored; x-gzip, upper case and identity are accepted', async () => {
      const topic = uniqueTopic('gzip');
      const json = await publish(gzipSync(JSON.stringify([makeEvent(topic, '1'), makeEvent(topic, '2')])), { 'content-encoding': 'gzip' });
      assert.deepEqual(json.body, { received: 2, unique: 2, duplicates: 0 });
      const lines = [makeEvent(topic, '2'), makeEvent(topic, '3')].map((e) => JSON.stringify(e)).join('\n');
      const ndjson = await publish(gzipSync(lines), { 'content-encoding': 'gzip', 'content-type': 'application/x-ndjson' });
      assert.deepEqual(ndjson.body, { received: 2, unique: 1, duplicates: 1 });
      for (const [i, coding] of ['x-gzip', 'GZIP', ' gzip , identity'].entries()) {
        const reply = await publish(gzipSync(JSON.stringify(makeEvent(topic, `c${i}`))), { 'content-encoding': coding });
        assert.deepEqual(reply.body, { received: 1, unique: 1, duplicates: 0 }, coding);
      }
      const identity = await publish(JSON.stringify(makeEvent(topic, 'plain')), { 'content-encoding': 'identity' });
      assert.deepEqual(identity.body, { received: 1, unique: 1, duplicates: 0 });
      assert.equal(await received(topic), 8);
    });

    test('an unknown or stacked Content-Encoding gets 415 UNSUPPORTED_ENCODING and counts nowhere', async () => {
      const topic = uniqueTopic('gzip-unknown');
      for (const coding of ['br', 'deflate', 'compress', 'zstd', 'gzip, gzip', 'gzip, br', 'x-unknown']) {
        const reply = await publish<ErrorBody>(gzipSync(JSON.stringify(makeEvent(topic, coding))), { 'content-encoding': coding });
        assert.equal(reply.status, 415, coding);
        assert.equal(reply.body.error, 'UNSUPPORTED_ENCODING', coding);
      }
      assert.equal(await received(topic), undefined);
    });

    test('a body that is not gzip, or is cut short, gets 400 BAD_REQUEST and stores nothing', async () => {
      const topic = uniqueTopic('gzip-corrupt');
      const whole = gzipSync(JSON.stringify(makeEvent(topic, 'x')));
      for (const body of [
        Buffer.from(JSON.stringify(makeEvent(topic, 'x'))),
        whole.subarray(0, whole.length - 6),
        Buffer.from([0x1f, 0x8b, 0, 0]),
      ]) {
        const reply = await publish<ErrorBody>(body, { 'content-encoding': 'gzip' });
        assert.equal(reply.status, 400);
        assert.equal(reply.body.error, 'BAD_REQUEST');
      }
      assert.equal(await received(topic), undefined);
    });

    test('BODY_LIMIT and MAX_BATCH_EVENTS apply to the inflated body: a small gzip that inflates past them gets 413', async () => {
      const topic = uniqueTopic('gzip-limits');
      const near = makeEvent(topic, 'near', { payload: { blob: ' '.repeat(LIMIT - 400) } });
      const over = makeEvent(topic, 'over', { payload: { blob: ' '.repeat(LIMIT) } });
      assert.ok(gzipSync(JSON.stringify(over)).length < 1024, 'the test body compresses well below the limit');
      assert.deepEqual((await publish(gzipSync(JSON.stringify(near)), { 'content-encoding': 'gzip' })).body, {
        received: 1,
        unique: 1,
        duplicates: 0,
      });
      const big = await publish<ErrorBody>(gzipSync(JSON.stringify(over)), { 'content-encoding': 'gzip' });
      assert.equal(big.status, 413);
      assert.equal(big.body.error, 'BODY_TOO_LARGE');
      const many = await publish<ErrorBody>(gzipSync(JSON.stringify(Array.from({ length: 21 }, (_, i) => makeEvent(topic, `m${i}`)))), {
        'content-encoding': 'gzip',
      });
      assert.equal(many.status, 413);
      assert.equal(many.body.error, 'BATCH_TOO_LARGE');
      assert.equal(await received(topic), 1);
    });

    test('a gzip stream that never ends gets 413 while it is still arriving, and the server goes on answering', async () => {
      const answer = await sendEndlessGzip(server.url, 4096);
      assert.equal(answer.status, 413);
      assert.equal(answer.body.error, 'BODY_TOO_LARGE');
      assert.ok(answer.sentMiB < 4096, 'the client had to send its whole bomb before an answer came');
      assert.equal((await fetch(`${server.url}/health`)).status, 200);
    });
  });
}

describe('InflateWithin', { timeout: 10_000 }, () => {
  test('stops inflating and stops reading the request once the inflated size passes the limit', async () => {
    let produced = 0;
    // An endless source of gzip members, made only when read.
    const source = new Readable({
      read() {
        produced++;
        this.push(MEMBER);
      },
    });
    const inflate = new InflateWithin(source, 3 * 1024 * 1024);
    const failure = await new Promise<Error>((resolve) => {
      inflate.on('error', resolve);
      inflate.resume();
    });
    assert.equal((failure as Error & { code?: string }).code, 'BODY_TOO_LARGE');
    // Zlib hands on output in 16 KiB pieces: at most one piece past the limit was inflated and counted.
    assert.ok(inflate.inflatedLength <= 3 * 1024 * 1024 + 16 * 1024, `inflated ${inflate.inflatedLength} bytes`);
    const readSoFar = produced;
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(produced, readSoFar, 'the request stream was still being read after the error');
    assert.equal(source.listenerCount('data'), 0);
    source.destroy();
  });

  test('refuses a body whose encoded length passes the limit itself, before Fastify would', async () => {
    const source = Readable.from([MEMBER, MEMBER]);
    const inflate = new InflateWithin(source, 100);
    const failure = await new Promise<Error>((resolve) => {
      inflate.on('error', resolve);
      inflate.resume();
    });
    assert.equal((failure as Error & { code?: string }).code, 'BODY_TOO_LARGE');
    assert.match(failure.message, /exceeds the limit of 100 bytes \(BODY_LIMIT\)/);
  });

  test('an error after the reader stopped listening (Fastify, once it has answered) is not an uncaught exception', async () => {
    const source = new Readable({
      read() {
        this.push(MEMBER);
      },
    });
    const inflate = new InflateWithin(source, 3 * 1024 * 1024);
    inflate.resume();
    // Without a listener of our own, this error would end the test process.
    await new Promise<void>((resolve) => inflate.once('close', resolve));
    assert.equal(inflate.destroyed, true);
    source.destroy();
  });
});

describe('gzip bomb under the default limits', { timeout: 120_000 }, () => {
  const server = serverForSuite('pglite');

  test('a 1 GiB bomb gets 413 and the server does not grow by anything like its inflated size', async () => {
    // The server runs in this process: its peak resident set is ours.
    const baseline = peakRssMiB(process.pid);
    // 1024 members of 1 MiB: ~1 MiB on the wire, well under BODY_LIMIT, so only the inflated size can refuse it.
    const bomb = Buffer.concat(Array.from({ length: 1024 }, () => MEMBER));
    const reply = await send<ErrorBody>(`${server.url}/publish`, bomb, { 'content-encoding': 'gzip' });
    assert.equal(reply.status, 413);
    assert.equal(reply.body.error, 'BODY_TOO_LARGE');
    const growth = peakRssMiB(process.pid) - baseline;
    // The default BODY_LIMIT is 10 MiB: holding up to it (and zlib's buffers) is fine, a fraction of 1 GiB is not.
    assert.ok(growth < 100, `peak RSS grew by ${growth.toFixed(0)} MiB`);
  });
});
