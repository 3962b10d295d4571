import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { subjectsOverlap, startNatsTransport } from '../../src/inlets/nats/index.js';
import { NATS_URL, scratchStream } from '../helpers/nats.js';

describe('NATS_SUBJECTS that match no subject of the existing stream', { timeout: 60_000 }, () => {
  test('subjects overlap token by token (* one token, > the rest)', () => {
    assert.equal(subjectsOverlap('logs.>', 'logs.>'), true);
    assert.equal(subjectsOverlap('logs.app.*', 'logs.>'), true);
    assert.equal(subjectsOverlap('>', 'logs.>'), true);
    assert.equal(subjectsOverlap('*.>', 'logs.>'), true);
    assert.equal(subjectsOverlap('events.>', 'logs.>'), false);
    assert.equal(subjectsOverlap('logs', 'logs.>'), false);
  });

  test('start warns, naming the stream, its subjects and NATS_SUBJECTS', async (t) => {
    const scratch = await scratchStream();
    t.after(() => scratch.destroy());
    await scratch.jsm.streams.add({ name: scratch.stream, subjects: [`other${scratch.durable}.>`] });
    const warnings: string[] = [];
    const logger = { info: () => undefined, error: () => undefined, warn: (_obj: object, msg: string) => void warnings.push(msg) };
    const pipeline = { submit: () => Promise.reject(new Error('no message is expected')) };
    const transport = await startNatsTransport(pipeline, {
      url: NATS_URL,
      stream: scratch.stream,
      subjects: scratch.subjects,
      durable: scratch.durable,
      logger,
    });
    await transport.close();
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.ok(warnings[0]?.includes(`NATS stream "${scratch.stream}" exists with subjects [other${scratch.durable}.>]`), warnings[0]);
    assert.match(warnings[0] ?? '', new RegExp(`none of which NATS_SUBJECTS "${scratch.subjects.replace('.', '\\.')}" matches`));
  });
});
