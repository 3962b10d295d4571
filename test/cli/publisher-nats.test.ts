import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runNatsPublisher } from '../../src/cli/publish-nats.js';
import { uniqueTopic } from '../helpers/events.js';
import { NATS_URL, scratchStream } from '../helpers/nats.js';
import { spawnServer } from '../helpers/process.js';
import { freshStore } from '../helpers/stores.js';

describe('publisher --transport nats', { timeout: 120_000 }, () => {
  test('3,000 copies with 30% re-sends through JetStream: the verification against /stats passes', async (t) => {
    const scratch = await scratchStream();
    const location = await freshStore('pglite');
    const server = await spawnServer(location, {
      NATS_URL,
      NATS_STREAM: scratch.stream,
      NATS_SUBJECTS: scratch.subjects,
      NATS_DURABLE: scratch.durable,
    });
    t.after(async () => {
      server.child.kill('SIGTERM');
      await server.exited;
      await scratch.destroy();
      await location.destroy();
    });
    const report = await runNatsPublisher({
      url: server.url,
      natsUrl: NATS_URL,
      subjectPrefix: scratch.subjects.slice(0, -2),
      events: 3000,
      dupRate: 0.3,
      topics: 3,
      payloadBytes: 64,
      batch: 1,
      concurrency: 32,
      seed: 5,
      topicPrefix: uniqueTopic('natspub'),
    });
    assert.deepEqual(
      report.checks.filter((check) => !check.ok),
      [],
      JSON.stringify(report.errors),
    );
    assert.equal(report.distinctSent, 2100);
    // Nats-Msg-Id = event_id: JetStream itself dropped the re-sends inside its 2-minute window.
    assert.ok((report.droppedByStream ?? 0) > 0, 'JetStream dropped no re-send');
  });
});
