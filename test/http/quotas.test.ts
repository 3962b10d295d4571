import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { Client, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { decodeStatus, encodeExportLogsRequest } from '../../src/inlets/otlp/proto.js';
import type { ErrorBody } from '../../src/schema/error.js';
import type { OtlpStatus } from '../../src/schema/otlp.js';
import { makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { spawnServer, waitFor } from '../helpers/process.js';
import { serverForSuite, startServer } from '../helpers/server.js';
import { freshStore } from '../helpers/stores.js';
import { bulk, ndjson } from '../elasticsearch/es.js';
import { pushJson } from '../loki/loki.js';
import { kv, logs, str } from '../otlp/otlp.js';

// Tenant quotas through the real server over real HTTP (and gRPC). Tenants are named with X-Scope-OrgID under an
// all-tenants key. Nothing here asserts how long anything took: the rates are either tiny (a refusal then lasts
// ~100 s, far past any test) or the test waits the Retry-After it was given and checks that the retry passes.

const KEY = 'quota-test-key';
const LIMITS = {
  // Every tenant not listed: one event, then one more every 100 s.
  defaults: { events_per_second: 0.01, events_burst: 1 },
  tenants: {
    roomy: { events_per_second: 1_000_000 },
    refill: { events_per_second: 0.5, events_burst: 4 },
    noisy: { events_per_second: 0.01, events_burst: 5 },
    bytes: { bytes_per_second: 100, bytes_burst: 1500, events_per_second: null },
    small: { max_body_bytes: 600, events_per_second: null },
  },
};
const as = (tenant: string): Record<string, string> => ({ authorization: `Bearer ${KEY}`, 'x-scope-orgid': tenant });
const publish = (url: string, tenant: string, events: unknown) => post<ErrorBody>(`${url}/publish`, events, { headers: as(tenant) });
const events = (topic: string, n: number, prefix = 'e') => Array.from({ length: n }, (_, i) => makeEvent(topic, `${prefix}${i}`));
const retryAfter = (headers: Headers): number => Number(headers.get('retry-after'));

// google.rpc.Status with its details read back independently of logagg's hand-written encoder.
const rpc = protobuf.Root.fromJSON({
  nested: {
    Status: {
      fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 }, details: { rule: 'repeated', type: 'Any', id: 3 } },
    },
    Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
    RetryInfo: { fields: { retry_delay: { type: 'Duration', id: 1 } } },
    Duration: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
  },
});

/** A POST whose body goes out in two chunks, without Content-Length (Transfer-Encoding: chunked). */
function sendChunked(url: string, headers: Record<string, string>, body: string | Buffer): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/publish`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) as unknown }));
    });
    req.on('error', reject);
    req.write(body.slice(0, 50));
    req.end(body.slice(50));
  });
}

describe('tenant quotas (TENANT_LIMITS)', { timeout: 120_000 }, () => {
  const server = serverForSuite('pglite', { apiKey: KEY, tenantLimits: JSON.stringify(LIMITS), otlpGrpc: true });

  test('POST /publish over the events/s quota: 429, Retry-After, a JSON error naming the limit; after the wait it passes', async () => {
    const topic = uniqueTopic('quota-refill');
    // Five requests of one event at once against a burst of four: they are let in (or not) before any commit, so
    // the bucket has no time to refill in between, and exactly one is refused.
    const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => publish(server.url, 'refill', events(topic, 1, `r${i}-`))));
    assert.deepEqual(replies.map((r) => r.status).sort(), [200, 200, 200, 200, 429]);
    const refused = replies.find((r) => r.status === 429) as (typeof replies)[number];
    // One token at 0.5/s: at most 2 s, whole seconds rounded up; the same figure in the header and the body.
    const wait = retryAfter(refused.headers);
    assert.ok(wait === 1 || wait === 2, `Retry-After ${wait}`);
    assert.equal(refused.body.error, 'QUOTA_EXCEEDED');
    assert.match(refused.body.message, /Tenant "refill" is over its quota of 0\.5 events per second \(TENANT_LIMITS events_per_second\)/);
    assert.deepEqual(refused.body.details, [{ tenant: 'refill', limit: 'events_per_second', value: 0.5, retry_after_seconds: wait }]);
    await sleep(retryAfter(refused.headers) * 1000 + 50);
    const retried = await publish(server.url, 'refill', events(topic, 1, `r${replies.indexOf(refused)}-`));
    assert.equal(retried.status, 200, 'the retry after Retry-After');
  });

  test("a tenant over its quota gets 429s while another tenant's requests, sent at the same time, all succeed", async () => {
    const noisy = uniqueTopic('quota-noisy');
    const quiet = uniqueTopic('quota-quiet');
    const sends = Array.from({ length: 40 }, (_, i) => [
      publish(server.url, 'noisy', events(noisy, 1, `n${i}-`)),
      publish(server.url, 'roomy', events(quiet, 1, `q${i}-`)),
    ]).flat();
    const replies = await Promise.all(sends);
    const statuses = (tenant: number) => replies.filter((_, i) => i % 2 === tenant).map((r) => r.status);
    assert.deepEqual(statuses(1), Array(40).fill(200), 'every request of the tenant within its quota');
    const noisyStatuses = statuses(0);
    assert.equal(noisyStatuses.filter((s) => s === 200).length, 5, 'the burst of 5, no more');
    assert.equal(noisyStatuses.filter((s) => s === 429).length, 35);
    const stored = await fetch(`${server.url}/events?topic=${quiet}&limit=100`, { headers: as('roomy') });
    assert.equal(((await stored.json()) as unknown[]).length, 40);
  });

  test('bytes/s: the Content-Length is charged before the body is read', async () => {
    const topic = uniqueTopic('quota-bytes');
    const body = (id: string) => JSON.stringify(makeEvent(topic, id, { payload: { pad: 'x'.repeat(900) } }));
    const [a, b] = [body('a'), body('b')];
    assert.ok(a.length > 900 && a.length < 1100);
    // Both at once: the bytes are charged before either body is read, so one fits the burst of 1500 and one not.
    const replies = await Promise.all([a, b].map((raw) => post<ErrorBody>(`${server.url}/publish`, null, { raw, headers: as('bytes') })));
    assert.deepEqual(replies.map((r) => r.status).sort(), [200, 429]);
    const refused = replies.find((r) => r.status === 429) as (typeof replies)[number];
    assert.equal((refused.body.details?.[0] as { limit: string }).limit, 'bytes_per_second');
    // ~500 bytes short at 100 bytes a second.
    assert.ok(retryAfter(refused.headers) >= 1 && retryAfter(refused.headers) <= 6, refused.headers.get('retry-after') ?? '');
  });

  test("a body over the tenant's max_body_bytes is 413 as BODY_LIMIT answers, with or without Content-Length", async () => {
    const topic = uniqueTopic('quota-small');
    const body = JSON.stringify(makeEvent(topic, 'big', { payload: { pad: 'x'.repeat(700) } }));
    const refused = await post<ErrorBody>(`${server.url}/publish`, null, { raw: body, headers: as('small') });
    assert.equal(refused.status, 413);
    assert.equal(refused.body.error, 'BODY_TOO_LARGE');
    assert.match(refused.body.message, /limit of 600 bytes \(TENANT_LIMITS max_body_bytes of tenant "small"\)/);
    assert.equal((await post(`${server.url}/publish`, null, { raw: body, headers: as('roomy') })).status, 200, 'another tenant');
    // Chunked: no Content-Length, so the body is counted as it is read.
    const chunked = await sendChunked(server.url, as('small'), body);
    assert.equal(chunked.status, 413);
    assert.match((chunked.body as ErrorBody).message, /TENANT_LIMITS max_body_bytes/);
    const within = JSON.stringify(makeEvent(topic, 'fits', { payload: { pad: 'x'.repeat(100) } }));
    assert.equal((await sendChunked(server.url, as('small'), within)).status, 200, 'a chunked body within the limit');
    // Chunked and gzip: counted as read, that is inflated (a few dozen bytes on the wire here).
    const gzip = { ...as('small'), 'content-encoding': 'gzip' };
    assert.equal((await sendChunked(server.url, gzip, gzipSync(body))).status, 413, 'inflated past the limit');
    const fits = JSON.stringify(makeEvent(topic, 'fits-gz', { payload: { pad: 'x'.repeat(100) } }));
    assert.equal((await sendChunked(server.url, gzip, gzipSync(fits))).status, 200, 'inflated within the limit');
  });

  test('a 429 before the body is read is readable by a client still sending it; then the connection is closed', async (t) => {
    const event = (id: string, pad: number) =>
      JSON.stringify(makeEvent(uniqueTopic('quota-big'), id, { payload: { pad: 'x'.repeat(pad) } }));
    assert.equal((await publish(server.url, 't-big', JSON.parse(event('first', 1)))).status, 200);
    const { hostname, port } = new URL(server.url);
    const open = () => {
      const socket = connect(Number(port), hostname);
      t.after(() => socket.destroy());
      const state = { received: '', ended: false };
      socket.on('data', (chunk: Buffer) => (state.received += chunk.toString()));
      socket.on('end', () => (state.ended = true));
      socket.on('error', () => {});
      return { socket, state, statusLines: () => state.received.match(/HTTP\/1\.1 \d+/g) ?? [] };
    };
    const request = (body: string) =>
      `POST /publish HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${KEY}\r\nX-Scope-OrgID: t-big\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    // 8 MiB written whole before anything is read, as simple clients do: answered 429 while it still arrives, then
    // read and discarded before the connection is closed (as BODY_LIMIT's 413), so no reset can eat the answer.
    const big = open();
    big.socket.write(request(event('big', 8 * 1024 * 1024)));
    await waitFor(async () => big.state.ended, 30_000, 'the connection closed after the answer');
    assert.deepEqual(big.statusLines(), ['HTTP/1.1 429']);
    assert.match(big.state.received, /retry-after: \d+/i);
    assert.match(big.state.received, /connection: close/i);
  });

  test('the Loki push answers 429 in plain text, as Loki does', async () => {
    const body = { streams: [{ stream: { topic: uniqueTopic('quota-loki') }, values: [[`${Date.now()}000000`, 'a line']] }] };
    assert.equal((await pushJson(server.url, body, as('t-loki'))).status, 204);
    const refused = await pushJson(server.url, body, as('t-loki'));
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '100');
    assert.match(refused.text, /^QUOTA_EXCEEDED: Tenant "t-loki" is over its quota/);
  });

  test('OTLP/HTTP answers 429 with Retry-After and a google.rpc.Status RESOURCE_EXHAUSTED (JSON and protobuf)', async () => {
    const request = logs([kv('service.name', str(uniqueTopic('quota-otlp')))], [{ body: str('x') }]);
    assert.equal((await post(`${server.url}/v1/logs`, request, { headers: as('t-otlp') })).status, 200);
    const refused = await post<OtlpStatus>(`${server.url}/v1/logs`, request, { headers: as('t-otlp') });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '100');
    assert.equal(refused.body.code, 8);
    assert.match(refused.body.message, /^QUOTA_EXCEEDED: /);
    const proto = await fetch(`${server.url}/v1/logs`, {
      method: 'POST',
      headers: { ...as('t-otlp'), 'content-type': 'application/x-protobuf' },
      body: encodeExportLogsRequest(request),
    });
    assert.equal(proto.status, 429);
    assert.equal(proto.headers.get('content-type'), 'application/x-protobuf');
    const decoded = decodeStatus(new Uint8Array(await proto.arrayBuffer()));
    assert.equal(decoded.code, 8);
    assert.match(decoded.message, /^QUOTA_EXCEEDED: /);
  });

  test('the Elasticsearch bulk answers 429 es_rejected_execution_exception, as Elasticsearch does', async () => {
    const body = ndjson([[{ create: { _index: uniqueTopic('quota-es') } }, { message: 'x' }]]);
    assert.equal((await bulk(server.url, body, as('t-es'))).status, 200);
    const refused = await bulk(server.url, body, as('t-es'));
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '100');
    const error = (refused.body as unknown as { error: { type: string; logagg_code: string }; status: number }).error;
    assert.equal(error.type, 'es_rejected_execution_exception');
    assert.equal(error.logagg_code, 'QUOTA_EXCEEDED');
  });

  test('OTLP/gRPC answers RESOURCE_EXHAUSTED with a RetryInfo, as the OTLP spec asks of a retryable one', async () => {
    const message = Buffer.from(encodeExportLogsRequest(logs([kv('service.name', str(uniqueTopic('quota-grpc')))], [{ body: str('x') }])));
    const exportOnce = () => {
      const client = new Client(`127.0.0.1:${server.otlpGrpcPort}`, credentials.createInsecure());
      const metadata = new Metadata();
      for (const [name, value] of Object.entries(as('t-grpc'))) metadata.set(name, value);
      const identity = (bytes: Buffer): Buffer => bytes;
      return new Promise<ServiceError | null>((resolve) => {
        client.makeUnaryRequest(
          '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
          identity,
          identity,
          message,
          metadata,
          (err) => {
            client.close();
            resolve(err);
          },
        );
      });
    };
    assert.equal(await exportOnce(), null);
    const refused = await exportOnce();
    assert.equal(refused?.code, status.RESOURCE_EXHAUSTED);
    assert.match(refused?.details ?? '', /^QUOTA_EXCEEDED: /);
    const bin = refused?.metadata.get('grpc-status-details-bin')[0] as Buffer;
    const statusMessage = rpc.lookupType('Status').toObject(rpc.lookupType('Status').decode(bin), { longs: Number }) as {
      code: number;
      details: Array<{ type_url: string; value: Uint8Array }>;
    };
    assert.equal(statusMessage.code, status.RESOURCE_EXHAUSTED);
    assert.equal(statusMessage.details.length, 1);
    assert.equal(statusMessage.details[0]?.type_url, 'type.googleapis.com/google.rpc.RetryInfo');
    const retryInfo = rpc.lookupType('RetryInfo');
    const info = retryInfo.toObject(retryInfo.decode(statusMessage.details[0]?.value as Uint8Array), { longs: Number }) as {
      retry_delay: { seconds: number };
    };
    assert.equal(info.retry_delay.seconds, 100);
  });

  test('/metrics counts refusals by tenant and limit, and the inlets count QUOTA_EXCEEDED as a rejection', async () => {
    const text = await (await fetch(`${server.url}/metrics`, { headers: as('default') })).text();
    const value = (labels: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`logagg_quota_refused_total{${labels}}`));
      return line === undefined ? 0 : Number(line.split(' ').at(-1));
    };
    assert.equal(value('tenant="noisy",limit="events_per_second"'), 35);
    assert.equal(value('tenant="refill",limit="events_per_second"'), 1);
    assert.equal(value('tenant="bytes",limit="bytes_per_second"'), 1);
    assert.equal(value('tenant="small",limit="max_body_bytes"'), 3);
    assert.equal(value('tenant="t-otlp",limit="events_per_second"'), 2);
    assert.equal(value('tenant="t-grpc",limit="events_per_second"'), 1);
    assert.match(text, /logagg_requests_rejected_total\{transport="http",reason="QUOTA_EXCEEDED"\} 38/);
    assert.match(text, /logagg_requests_rejected_total\{transport="loki",reason="QUOTA_EXCEEDED"\} 1/);
    assert.match(text, /logagg_requests_rejected_total\{transport="otlp-grpc",reason="QUOTA_EXCEEDED"\} 1/);
  });
});

describe('TENANT_LIMITS_FILE is reloaded without a restart', { timeout: 60_000 }, () => {
  test('SIGHUP (reloadLimits) puts new limits in force; a bad file keeps the old ones; a replaced file is picked up', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'logagg-limits-'));
    const file = join(dir, 'limits.json');
    const location = await freshStore('pglite');
    writeFileSync(file, JSON.stringify({ tenants: { a: { events_per_second: 0.01, events_burst: 1 } } }));
    const server = await startServer(location, { apiKey: KEY, tenantLimitsFile: file });
    t.after(async () => {
      await server.stop();
      await location.destroy();
      rmSync(dir, { recursive: true, force: true });
    });
    const topic = uniqueTopic('quota-reload');
    assert.equal((await publish(server.url, 'a', events(topic, 1, 'x'))).status, 200);
    assert.equal((await publish(server.url, 'a', events(topic, 1, 'y'))).status, 429);
    assert.equal((await publish(server.url, 'b', events(topic, 5, 'b'))).status, 200, 'a tenant not listed, no defaults');

    writeFileSync(file, '{"tenants": {"a": {"events_per_second": 0}}}');
    assert.equal(server.reloadLimits(), false, 'a rate of 0 is refused');
    assert.equal((await publish(server.url, 'a', events(topic, 1, 'y'))).status, 429, 'the old limits stay');

    writeFileSync(file, JSON.stringify({ defaults: { events_per_second: 0.01, events_burst: 1 } }));
    assert.equal(server.reloadLimits(), true);
    assert.equal((await publish(server.url, 'a', events(topic, 1, 'y'))).status, 200, 'a full bucket at the new rate');
    assert.equal((await publish(server.url, 'b', events(topic, 1, 'c'))).status, 200);
    assert.equal((await publish(server.url, 'b', events(topic, 1, 'd'))).status, 429, 'the new defaults');

    // Replaced atomically (write, then rename), as an editor or a ConfigMap does: the poll loads it, no signal.
    writeFileSync(`${file}.new`, '{}');
    renameSync(`${file}.new`, file);
    const deadline = Date.now() + 10_000;
    let last = 0;
    while (Date.now() < deadline && last !== 200) {
      await sleep(200);
      last = (await publish(server.url, 'b', events(topic, 1, 'e'))).status;
    }
    assert.equal(last, 200, 'the replaced file lifted the limits');
  });
});

describe('SIGHUP reloads TENANT_LIMITS_FILE in a running server process', { timeout: 60_000 }, () => {
  test('a file rewritten in place with its size and mtime kept (the poll cannot see it) is loaded on SIGHUP', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'logagg-limits-'));
    const file = join(dir, 'limits.json');
    const location = await freshStore('pglite');
    t.after(async () => {
      await location.destroy();
      rmSync(dir, { recursive: true, force: true });
    });
    const mtime = new Date('2026-01-01T00:00:00Z');
    const write = (rate: string): void => {
      writeFileSync(file, `{"tenants": {"a": {"events_per_second": ${rate}, "events_burst": 1}}}`);
      utimesSync(file, mtime, mtime);
    };
    write('0.01');
    const server = await spawnServer(location, { TENANT_LIMITS_FILE: file, API_KEY: KEY, LOG_LEVEL: 'info' });
    t.after(async () => {
      server.child.kill('SIGTERM');
      await server.exited;
    });
    const topic = uniqueTopic('quota-sighup');
    assert.equal((await publish(server.url, 'a', events(topic, 1, 'x'))).status, 200);
    assert.equal((await publish(server.url, 'a', events(topic, 1, 'y'))).status, 429);
    write('9999');
    server.child.kill('SIGHUP');
    await waitFor(async () => (await publish(server.url, 'a', events(topic, 1, 'y'))).status === 200, 10_000, 'the new rate after SIGHUP');
    assert.match(server.output(), /tenant limits reloaded/);
  });
});
