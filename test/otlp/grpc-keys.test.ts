import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { Client, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { hashKey } from '../../src/schema/keys.js';
import { serverForSuite } from '../helpers/server.js';

const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const identity = (bytes: Buffer): Buffer => bytes;
const [writer, reader, admin] = [0, 0, 0].map(() => randomBytes(24).toString('base64url')) as [string, string, string];
const KEYS = `shipper write default sha256:${hashKey(writer)}; grafana read * sha256:${hashKey(reader)}; ops admin * ${hashKey(admin)}`;

describe('OTLP/gRPC takes the same keys, with the write role', { timeout: 60_000 }, () => {
  const server = serverForSuite('pglite', { otlpGrpc: true, keys: KEYS });

  /** An empty ExportLogsServiceRequest (zero bytes): the answer is all about the key. */
  function exportEmpty(headers: Record<string, string>): Promise<number> {
    const client = new Client(`127.0.0.1:${server.otlpGrpcPort}`, credentials.createInsecure());
    const metadata = new Metadata();
    for (const [name, value] of Object.entries(headers)) metadata.set(name, value);
    return new Promise((resolve) => {
      client.makeUnaryRequest(EXPORT_PATH, identity, identity, Buffer.alloc(0), metadata, (err: ServiceError | null) => {
        client.close();
        resolve(err ? err.code : status.OK);
      });
    });
  }

  test('no or an unknown key is UNAUTHENTICATED, a read key PERMISSION_DENIED, write and admin keys export', async () => {
    assert.equal(await exportEmpty({}), status.UNAUTHENTICATED);
    assert.equal(await exportEmpty({ authorization: 'Bearer nope' }), status.UNAUTHENTICATED);
    assert.equal(await exportEmpty({ authorization: `Bearer ${reader}` }), status.PERMISSION_DENIED);
    assert.equal(await exportEmpty({ authorization: `Bearer ${writer}` }), status.OK);
    assert.equal(await exportEmpty({ authorization: `bearer ${writer}` }), status.OK);
    assert.equal(await exportEmpty({ 'x-api-key': admin }), status.OK);
  });

  test('x-scope-orgid metadata is checked as the HTTP header is', async () => {
    assert.equal(await exportEmpty({ authorization: `Bearer ${writer}`, 'x-scope-orgid': 'default' }), status.OK);
    assert.equal(await exportEmpty({ authorization: `Bearer ${writer}`, 'x-scope-orgid': 'team-b' }), status.PERMISSION_DENIED);
    assert.equal(await exportEmpty({ authorization: `Bearer ${admin}`, 'x-scope-orgid': 'a|b' }), status.INVALID_ARGUMENT);
    assert.equal(await exportEmpty({ authorization: `Bearer ${admin}`, 'x-scope-orgid': 'team-b' }), status.OK);
  });
});
