import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import {
  backoffDelay,
  createClient,
  createEvent,
  DEFAULT_RETRY_POLICY,
  GaveUpError,
  HttpError,
  isRetryable,
  mayHaveCommitted,
  parseRetryAfter,
  type RetryNotice,
} from '../../src/client/index.js';

type Answer = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A real HTTP server that answers the nth request with answers[n] (the last one repeats); records each body. */
async function scriptedServer(t: TestContext, answers: Answer[]): Promise<{ url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      bodies.push(body);
      (answers[Math.min(bodies.length, answers.length) - 1] as Answer)(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  t.after(() => server.closeAllConnections());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies };
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Answer =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
const committed = json(200, { received: 1, unique: 1, duplicates: 0 });
const fast = { baseDelayMs: 1, maxDelayMs: 5 };
const event = () => createEvent({ topic: 'retry.test', source: 'test', payload: { n: 1 } });

describe('client retry policy', { timeout: 30_000 }, () => {
  test('a 503 with Retry-After is retried after at least the asked delay, with the same event, then succeeds', async (t) => {
    const server = await scriptedServer(t, [json(503, { error: 'OVERLOADED', message: 'full' }, { 'retry-after': '1' }), committed]);
    const notices: RetryNotice[] = [];
    const client = createClient({ url: server.url, retry: fast, onRetry: (n) => notices.push(n) });
    t.after(() => client.close());
    const receipt = await client.publish(event());
    assert.equal(receipt.attempts, 2);
    assert.deepEqual(receipt.result, { received: 1, unique: 1, duplicates: 0 });
    assert.equal(notices.length, 1);
    assert.ok((notices[0] as RetryNotice).delayMs >= 1000, 'Retry-After: 1 is a floor of 1000 ms');
    assert.equal(server.bodies.length, 2);
    assert.equal(server.bodies[0], server.bodies[1], 'a retry resends the same event, same event_id');
    assert.equal(receipt.uncertainAttempts, 0, 'an OVERLOADED refusal never committed');
  });

  test('a 429 and a 500 are retried until a 2xx', async (t) => {
    const server = await scriptedServer(t, [
      json(429, { error: 'SLOW_DOWN', message: '' }),
      json(500, { error: 'INTERNAL', message: '' }),
      committed,
    ]);
    const client = createClient({ url: server.url, retry: fast });
    t.after(() => client.close());
    const receipt = await client.publish([event()]);
    assert.equal(receipt.attempts, 3);
    assert.equal(receipt.uncertainAttempts, 1, 'a 500 may have committed; a 429 did not');
  });

  test('a 4xx is never retried: it fails at once with the server error code', async (t) => {
    const server = await scriptedServer(t, [json(422, { error: 'VALIDATION_FAILED', message: 'bad' }), committed]);
    const client = createClient({ url: server.url, retry: fast });
    t.after(() => client.close());
    const failure = await client.publish(event()).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(failure instanceof GaveUpError);
    assert.equal(failure.attempts, 1);
    assert.ok(failure.cause instanceof HttpError);
    assert.equal(failure.cause.status, 422);
    assert.equal(failure.cause.code, 'VALIDATION_FAILED');
    assert.equal(server.bodies.length, 1);
  });

  test('a connection dropped before the answer is retried and counted as possibly committed', async (t) => {
    const server = await scriptedServer(t, [(req) => req.socket.destroy(), committed]);
    const client = createClient({ url: server.url, retry: fast });
    t.after(() => client.close());
    const receipt = await client.publish(event());
    assert.equal(receipt.attempts, 2);
    assert.equal(receipt.uncertainAttempts, 1);
  });

  test('an answer that never comes times out and is retried', async (t) => {
    const server = await scriptedServer(t, [() => undefined, committed]);
    const client = createClient({ url: server.url, retry: fast, timeoutMs: 200 });
    t.after(() => client.close());
    const receipt = await client.publish(event());
    assert.equal(receipt.attempts, 2);
    assert.equal(receipt.uncertainAttempts, 1);
  });

  test('after maxAttempts retryable failures the client gives up and says how many attempts it made', async (t) => {
    const server = await scriptedServer(t, [json(503, { error: 'STORE_UNAVAILABLE', message: '' })]);
    const client = createClient({ url: server.url, retry: { ...fast, maxAttempts: 3 } });
    t.after(() => client.close());
    const failure = await client.publish(event()).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(failure instanceof GaveUpError);
    assert.equal(failure.attempts, 3);
    assert.equal(server.bodies.length, 3);
  });
});

describe('client retry policy - pure parts', () => {
  test('backoff is full jitter: from 0 up to base * 2^retry, capped at maxDelayMs', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(
      backoffDelay(0, policy, () => 0),
      0,
    );
    assert.equal(
      backoffDelay(0, policy, () => 0.999),
      99,
    );
    assert.equal(
      backoffDelay(2, policy, () => 0.5),
      200,
    );
    assert.equal(
      backoffDelay(10, policy, () => 0.999),
      999,
    );
  });

  test('Retry-After is read as seconds or as an HTTP date, and ignored when unreadable', () => {
    const now = Date.parse('2025-10-21T10:00:00Z');
    assert.equal(parseRetryAfter('2', now), 2000);
    assert.equal(parseRetryAfter('Tue, 21 Oct 2025 10:00:03 GMT', now), 3000);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });

  test('network errors, timeouts, 429 and 5xx are retryable; other 4xx and plain bugs are not', () => {
    const http = (status: number, code?: string) => new HttpError(status, code, '', undefined);
    assert.equal(isRetryable(Object.assign(new Error('reset'), { code: 'ECONNRESET' })), true);
    assert.equal(isRetryable(http(503)), true);
    assert.equal(isRetryable(http(500)), true);
    assert.equal(isRetryable(http(429)), true);
    assert.equal(isRetryable(http(400)), false);
    assert.equal(isRetryable(http(401)), false);
    assert.equal(isRetryable(new TypeError('bug')), false);
    assert.equal(mayHaveCommitted(http(503, 'OVERLOADED')), false);
    assert.equal(mayHaveCommitted(http(503, 'STORE_UNAVAILABLE')), true);
    assert.equal(mayHaveCommitted(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })), false);
  });
});
