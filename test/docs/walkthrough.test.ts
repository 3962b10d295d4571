import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { startServer, type TestServer } from '../helpers/server.js';
import { freshStore, type StoreLocation } from '../helpers/stores.js';
import { mismatch, parseSample, shellBlocks, type ShellBlock } from './snippets.js';

const run = promisify(execFile);

// The order a new reader follows: the README's walkthrough, then the integrations page, against one server.
const DOCS = ['README.md', 'docs/integrations.md'];
const DOCUMENTED = /(?:http:\/\/)?localhost:8080/g;
const RC = /\n@@rc=(\d+)@@\n/;
/** A live stream never ends by itself: the harness reads it this long, then closes it. */
const STREAM_SECONDS = 3;

/** Runs a block's commands in one bash (so variables and files carry from one command to the next). */
async function runBlock(block: ShellBlock, base: string, cwd: string): Promise<{ output: string; rc: number }[]> {
  const script = block.commands
    .map((command) => {
      const text = command.text.replace(DOCUMENTED, base);
      const bounded = /\/events\/stream/.test(text) ? `timeout ${STREAM_SECONDS} ${text}` : text;
      return `${bounded}\nprintf '\\n@@rc=%s@@\\n' "$?"`;
    })
    .join('\n');
  const { stdout } = await run('bash', ['-c', script], { cwd, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
  const parts = stdout.split(RC);
  const results: { output: string; rc: number }[] = [];
  for (let k = 0; k + 1 < parts.length; k += 2) results.push({ output: parts[k] as string, rc: Number(parts[k + 1]) });
  return results;
}

describe('the walkthrough, run as a new reader would (README.md, then docs/integrations.md)', () => {
  let store: StoreLocation | undefined;
  let server: TestServer | undefined;
  const cwd = mkdtempSync(join(tmpdir(), 'logagg-walkthrough-'));
  before(async () => {
    store = await freshStore('pglite');
    server = await startServer(store);
  });
  after(async () => {
    await server?.stop();
    await store?.destroy();
    rmSync(cwd, { recursive: true, force: true });
  });

  for (const file of DOCS) {
    for (const block of shellBlocks(file)) {
      const name = `${file}:${block.line}`;
      if (block.notRun !== undefined) {
        test(`${name} is not run: ${block.notRun}`, () => {
          assert.ok(block.notRun && block.notRun.length > 5, `${name}: say why the block cannot run`);
        });
        continue;
      }
      test(`${name} runs and answers as shown`, async () => {
        assert.ok(server);
        const base = server.url.replace(/^http:\/\//, '');
        const results = await runBlock(block, base, cwd);
        assert.equal(results.length, block.commands.length, `${name}: every command ran`);
        for (const [k, command] of block.commands.entries()) {
          const { output, rc } = results[k] as { output: string; rc: number };
          const where = `${file}:${command.line}`;
          if (/\/events\/stream/.test(command.text)) {
            // Stopped by the harness (124); what it printed must be the events the reader published.
            assert.equal(rc, 124, `${where}: the stream stayed open`);
            assert.match(output, /^id: \d+$/m, `${where}: the stream sent the stored events`);
            assert.match(output, /3832d20e7-unique-payment-101/, `${where}: the stream sent the event published above`);
            continue;
          }
          assert.equal(rc, 0, `${where}: exit status ${rc}; output:\n${output}`);
          if (command.shown === undefined) continue;
          let actual: unknown;
          try {
            actual = JSON.parse(output);
          } catch {
            assert.fail(`${where}: the answer is not JSON:\n${output}`);
          }
          const problem = mismatch(parseSample(command.shown), actual);
          assert.equal(problem, undefined, `${where}: the shown answer differs from the real one at ${problem}\nreal: ${output}`);
        }
      });
    }
  }
});

describe('the sample matcher', () => {
  test('"..." is any value, a trailing ... allows more members, volatile fields compare by type', () => {
    const sample = parseSample('{"a":1,"b":"...","c":[1, ...],"uptime":42,"d":{...}}   (a remark)');
    assert.equal(mismatch(sample, { a: 1, b: [3], c: [1, 2], uptime: 7, d: { x: 1 } }), undefined);
    assert.match(mismatch(sample, { a: 2, b: 0, c: [1], uptime: 7, d: {} }) ?? '', /^\/a: expected 1/);
    assert.match(mismatch(sample, { a: 1, b: 0, c: [1], uptime: 7, d: {}, e: 1 }) ?? '', /unexpected keys e/);
    assert.match(mismatch(sample, { a: 1, b: 0, c: [], uptime: 7, d: {} }) ?? '', /at least 1 items/);
    assert.match(mismatch(sample, { a: 1, b: 0, c: [1], uptime: '7', d: {} }) ?? '', /\/uptime: expected a number/);
    assert.equal(
      mismatch(parseSample('{}'), { partialSuccess: {} }),
      '/: unexpected keys partialSuccess (end the sample with ... if more may follow)',
    );
  });
});
