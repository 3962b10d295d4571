import assert from 'node:assert/strict';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { PUSH_PROTO_JSON } from '../../src/inlets/loki/proto.js';
import { protoRoot } from './loki.js';

type Fields = Record<string, { id: number; type: string; rule?: string }>;

test("the server's protobufjs definition is push.proto's, strings read as bytes (same wire type)", () => {
  const ours = protobuf.Root.fromJSON(PUSH_PROTO_JSON);
  const file = protoRoot.lookup('logproto') as protobuf.Namespace;
  const messages = file.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type).map((t) => t.name);
  assert.deepEqual(messages.sort(), ['EntryAdapter', 'LabelPairAdapter', 'PushRequest', 'PushResponse', 'StreamAdapter']);
  for (const name of messages) {
    const expected = protoRoot.lookupType(`logproto.${name}`).toJSON().fields as Fields;
    const actual = ours.lookupType(`logproto.${name}`).toJSON().fields as Fields;
    const asWire = (fields: Fields) =>
      Object.fromEntries(
        Object.entries(fields).map(([k, f]) => [k, { id: f.id, rule: f.rule, type: f.type === 'string' ? 'bytes' : f.type }]),
      );
    assert.deepEqual(asWire(actual), asWire(expected), name);
  }
  const timestamp = (t: protobuf.Root) => t.lookupType('google.protobuf.Timestamp').toJSON().fields;
  assert.deepEqual(timestamp(ours), timestamp(protoRoot));
});
