import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NDJSON_TYPES } from '../../src/inlets/http/ndjson.js';
import { serverForSuite } from '../helpers/server.js';

interface ErrorAnswer {
  status: number;
  body: { error: string; message: string; details?: { message: string }[] };
}

async function answer(url: string, init?: RequestInit): Promise<ErrorAnswer> {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as ErrorAnswer['body'] };
}

const publish = (url: string, body: string, contentType = 'application/json') =>
  answer(`${url}/publish`, { method: 'POST', headers: { 'content-type': contentType }, body });

// Messages a person reads (issue 14 §5): each says what is wrong and what is allowed, never a raw regex.
describe('error messages say what is wrong in words', () => {
  const server = serverForSuite('pglite', { bodyLimit: 4096 });

  test('a bad query parameter names the parameter and its allowed values', async () => {
    const cases: [string, RegExp][] = [
      ['/events?limit=10001', /limit must be an integer from 1 to 10000$/],
      ['/events?limit=0', /limit must be an integer from 1 to 10000/],
      ['/events?since=yesterday', /since must be an RFC 3339 time such as 2025-10-21T10:00:00Z/],
      ['/events?until=2025-13-01', /until must be an RFC 3339 time/],
      ['/events?after=-1', /after must be a seq: an integer from 0/],
      ['/events/stream?after=x', /after must be a seq/],
    ];
    for (const [path, expected] of cases) {
      const { status, body } = await answer(`${server.url}${path}`);
      assert.equal(status, 422, path);
      assert.equal(body.error, 'VALIDATION_FAILED', path);
      assert.match(body.message, expected, path);
      assert.doesNotMatch(body.message, /pattern|\^|\$/, `${path}: no regex in the message`);
      assert.match(body.details?.[0]?.message ?? '', expected, path);
    }
    const { body } = await answer(`${server.url}/events?limit=10001`);
    assert.equal(body.message, 'Invalid query: limit must be an integer from 1 to 10000');
  });

  test('BODY_TOO_LARGE states the limit and the setting', async () => {
    const { status, body } = await publish(server.url, JSON.stringify({ pad: 'x'.repeat(5000) }));
    assert.equal(status, 413);
    assert.equal(body.error, 'BODY_TOO_LARGE');
    assert.match(body.message, /limit of 4096 bytes \(BODY_LIMIT\)/);
  });

  test('the 415 lists JSON and all the NDJSON types', async () => {
    const { status, body } = await publish(server.url, 'a,b', 'text/csv');
    assert.equal(status, 415);
    for (const type of ['application/json', ...NDJSON_TYPES]) assert.ok(body.message.includes(type), `${type} in: ${body.message}`);
  });

  test('a __proto__ key says why it is refused, in JSON and in NDJSON', async () => {
    for (const json of ['{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}']) {
      const { status, body } = await publish(server.url, json);
      assert.equal(status, 400, json);
      assert.equal(body.error, 'INVALID_JSON');
      assert.match(body.message, /^The body is refused: a "__proto__" key.*prototype pollution/, json);
    }
    const ndjson = await publish(server.url, '{"__proto__":1}\n', 'application/x-ndjson');
    assert.equal(ndjson.status, 400);
    assert.match(ndjson.body.details?.[0]?.message ?? '', /"__proto__" key.*prototype pollution/);
  });

  test('JSON that does not parse says where', async () => {
    const { status, body } = await publish(server.url, '{"topic":');
    assert.equal(status, 400);
    assert.match(body.message, /^The body is not valid JSON: .+/);
  });
});
