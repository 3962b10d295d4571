import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { mapLogsRequest } from '../../src/inlets/otlp/index.js';
import { mapProtobufLogs } from '../../src/inlets/otlp/proto-http.js';
import { encodeExportLogsRequest } from '../../src/inlets/otlp/proto.js';
import { PIN_RECEIVED_AT, PIN_REQUEST } from './fixtures-eventid.js';

// event_id is what deduplicates a retried or re-exported record: a change to it would store every record sent
// before the change once more. These values were computed by the first mapper (logagg-otlp-log-v1); an
// optimization of the mapper must leave them, and the events around them, byte-identical.
const EVENT_IDS = [
  '86fd5dbefcd9ac6ddd9db8c838ee6a40e77070d13462f7baa580e0694f8ecd95',
  'd7990bf38b977a22b897360af56b73f7b0a9f78896c047d7dd1dc6227a014067',
  'd86419e055bad7b3732e342dd8aeee7320012f91a32a662a733cc88a87dcf7d5',
  'my-own-id',
  '44d2c36b7487fbe6e06de88cdbd385e3439b34e173dcb1197ef6b0216007e2a6',
  '0fab017032bab10e8920a60aab51e24c9418236928de8f4c32bac4f6433c1d0e',
  '643658298929a032779f19b3020251abfe9b3070bdc115a99093ea1cff81eb02',
  '3fe10d6820bff922fe3ae53de5c30f6d3e0d43a35ad2a1c4351fc7c8aab3ce09',
];
const REJECTED = [
  { path: '/resourceLogs/0/scopeLogs/0/logRecords/4', reason: 'attribute logagg.topic must be a string' },
  { path: '/resourceLogs/0/scopeLogs/0/logRecords/5', reason: 'attribute log.record.uid must be a string' },
];
// sha256 of JSON.stringify of the whole result (events with topic, timestamp, source, payload in key order, and
// rejections). They differ only in the case of trace_id and span_id: protobuf carries bytes, read back as lower hex.
const DIGEST = {
  json: '88eb12c0722debdad5aef4b36b5204af427eb3a1d654558fbc0e364e75c9d4f6',
  proto: 'b53aaf63d748da0c0fd289f911d1cd7b43151d49ce8bce2249733a4db92252f4',
};

const options = { maxBatchEvents: 100, receivedAt: PIN_RECEIVED_AT };
const digest = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

test('OTLP/JSON: event_ids, events and rejections stay what the first mapper made', () => {
  const mapped = mapLogsRequest(structuredClone(PIN_REQUEST), options);
  assert.deepEqual(
    mapped.events.map((e) => e.event_id),
    EVENT_IDS,
  );
  assert.deepEqual(mapped.rejected, REJECTED);
  assert.equal(digest(mapped), DIGEST.json);
});

test('OTLP/protobuf: the same event_ids as JSON, and the same events as before', () => {
  const mapped = mapProtobufLogs(encodeExportLogsRequest(PIN_REQUEST), options);
  assert.deepEqual(
    mapped.events.map((e) => e.event_id),
    EVENT_IDS,
  );
  assert.deepEqual(mapped.rejected, REJECTED);
  assert.equal(digest(mapped), DIGEST.proto);
});
