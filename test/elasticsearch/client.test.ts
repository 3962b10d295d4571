import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import { kept, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';
import { storedIn, topicCounts } from './es.js';

const KEY = 'es-client-key';
const auth = { authorization: `Bearer ${KEY}` };

for (const kind of storeKinds()) {
  describe(`@elastic/elasticsearch client [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind, { apiKey: KEY });
    const client = () => new Client({ node: server.url, auth: { apiKey: KEY }, compression: true });

    test('ping and info: the client accepts the product check', async () => {
      const es = client();
      assert.equal(await es.ping(), true);
      const info = await es.info();
      assert.equal(info.cluster_name, 'logagg');
      assert.match(info.version.number, /^8\./);
      await es.close();
    });

    test('helpers.bulk with ids, sent twice: stored once, the second pass is all duplicates, /stats exact', async () => {
      const topic = uniqueTopic('es-client');
      const documents = Array.from({ length: 250 }, (_, i) => ({
        id: `doc-${i}`,
        '@timestamp': new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
        message: `line ${i}`,
      }));
      const es = client();
      const run = async () => {
        const dropped: Array<{ status: number; type: string | undefined }> = [];
        const stats = await es.helpers.bulk({
          datasource: documents,
          flushBytes: 4000,
          onDocument: (doc) => ({ create: { _index: topic, _id: doc.id } }),
          onDrop: (drop) => dropped.push({ status: drop.status, type: (drop.error as { type?: string } | null)?.type }),
        });
        return { stats, dropped };
      };
      const first = await run();
      assert.equal(first.stats.successful, documents.length);
      assert.equal(first.stats.failed, 0);
      assert.equal(first.dropped.length, 0);
      const second = await run();
      assert.equal(second.stats.successful, 0);
      assert.equal(second.stats.failed, documents.length);
      assert.ok(second.dropped.every((d) => d.status === 409 && d.type === 'version_conflict_engine_exception'));
      await es.close();

      const stored = await storedIn(server.url, topic, auth);
      assert.deepEqual(stored.map((e) => e.event_id).sort(), documents.map((d) => d.id).sort());
      assert.deepEqual(await topicCounts(server.url, topic, auth), kept(2 * documents.length, documents.length));
    });
  });
}
