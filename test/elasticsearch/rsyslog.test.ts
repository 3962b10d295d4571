import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { kept, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { storedIn, topicCounts } from './es.js';

const RSYSLOGD = '/usr/sbin/rsyslogd';
const MODULE = '/usr/lib/x86_64-linux-gnu/rsyslog/omelasticsearch.so';
const KEY = 'rsyslog-key';
const auth = { authorization: `Bearer ${KEY}` };
const LINES = 1500;

// Debian's rsyslog and rsyslog-elasticsearch (.ci/run installs them); without them there is nothing to run.
const missing =
  !existsSync(RSYSLOGD) || !existsSync(MODULE)
    ? 'rsyslog-elasticsearch is not installed (apt-get install rsyslog rsyslog-elasticsearch)'
    : false;

/**
 * docs/integrations.md's rsyslog configuration, on a private work directory: imfile tails a file, omelasticsearch
 * sends bulk `create` actions with a hash of the message as `_id`, and the key as the basic-auth password.
 */
function config(dir: string, port: number, topic: string): string {
  return `
global(workDirectory="${dir}")
module(load="imfile")
module(load="fmhash")
module(load="omelasticsearch")
input(type="imfile" File="${dir}/input.log" Tag="app" freshStartTail="off")
template(name="doc" type="list" option.jsonf="on") {
  property(outname="@timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="host" name="hostname" format="jsonf")
  property(outname="message" name="msg" format="jsonf")
}
template(name="bulkid" type="string" string="%$.id%")
set $.id = hash64($msg) & "-" & hash32($msg);
action(type="omelasticsearch" server="127.0.0.1" serverport="${port}" searchIndex="${topic}" template="doc"
       bulkmode="on" dynbulkid="on" bulkid="bulkid" writeoperation="create"
       uid="rsyslog" pwd="${KEY}" errorfile="${dir}/es-errors.json"
       queue.type="LinkedList" queue.dequeueBatchSize="200" action.resumeRetryCount="-1" action.resumeInterval="1")
`;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('rsyslog omelasticsearch (Debian) into POST /_bulk', { timeout: 120_000, skip: missing }, () => {
  const server = serverForSuite('pglite', { apiKey: KEY });
  const dir = mkdtempSync(join(tmpdir(), 'logagg-rsyslog-'));
  let rsyslogd: ChildProcess | undefined;
  after(() => {
    rsyslogd?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (topic: string): ChildProcess => {
    const port = new URL(server.url).port;
    writeFileSync(join(dir, 'rsyslog.conf'), config(dir, Number(port), topic));
    const check = spawnSync(RSYSLOGD, ['-N1', '-f', join(dir, 'rsyslog.conf')], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    return spawn(RSYSLOGD, ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslogd.pid')], { stdio: 'ignore' });
  };
  const write = (from: number, to: number): void => {
    let text = '';
    for (let i = from; i < to; i++) text += `request ${i} served in ${i % 97} ms\n`;
    appendFileSync(join(dir, 'input.log'), text);
  };

  test('killed (SIGKILL) and restarted mid-stream: every line stored exactly once, /stats exact', async () => {
    const topic = uniqueTopic('rsyslog');
    write(0, 500);
    rsyslogd = start(topic);
    // More lines arrive while it ships; it is killed once some are stored and before all are.
    let written = 500;
    await until('the first lines', async () => {
      if (written < 1000) {
        write(written, written + 50);
        written += 50;
      }
      return ((await topicCounts(server.url, topic, auth))?.unique_processed ?? 0) > 0;
    });
    rsyslogd.kill('SIGKILL');
    await new Promise((resolve) => rsyslogd?.once('exit', resolve));
    const atKill = (await topicCounts(server.url, topic, auth))?.unique_processed ?? 0;
    write(written, LINES);
    rsyslogd = start(topic);
    await until('every line', async () => ((await topicCounts(server.url, topic, auth))?.unique_processed ?? 0) >= LINES);
    rsyslogd.kill('SIGTERM');
    await new Promise((resolve) => rsyslogd?.once('exit', resolve));

    const stored = await storedIn(server.url, topic, auth);
    const expected = Array.from({ length: LINES }, (_, i) => `request ${i} served in ${i % 97} ms`);
    assert.deepEqual(stored.map((e) => e.payload.message).sort(), expected.sort());
    const counts = await topicCounts(server.url, topic, auth);
    assert.ok(counts);
    // imfile had not saved its position: after the restart it read the file again, and each resent line was a duplicate.
    assert.deepEqual(counts, kept(counts.received, LINES));
    assert.ok(counts.received > LINES, `the restart resent lines (received ${counts.received}, ${atKill} stored at the kill)`);
    // Each resent line was answered 409 for rsyslog's error file: a duplicate, not a failure to store.
    const errors = existsSync(join(dir, 'es-errors.json')) ? readFileSync(join(dir, 'es-errors.json'), 'utf8') : '';
    assert.ok(!/"status":\s*(4(?!09)\d\d|5\d\d)/.test(errors), errors.slice(0, 500));
  });
});
