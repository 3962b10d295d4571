import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { PublishResult } from '../../src/schema/publish.js';
import { makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { spawnServer } from '../helpers/process.js';
import { freshStore } from '../helpers/stores.js';

interface TraceVerdict {
  responses: number;
  walWrites: number;
  walFlushes: number;
  /** Responses written while a WAL file had writes not yet flushed. */
  violations: string[];
}

const WAL_FILE = /<([^>]*\/pg_wal\/[0-9A-F]{24})>/;
const RESPONSE = /^\d+ +(?:write|writev|sendto|sendmsg)\(\d+<socket:\[\d+\]>, (?:\[\{iov_base=)?"HTTP\/1\.1 2\d\d /;

/**
 * Replays an strace log (-f -y) in order and checks the crash-consistency property of docs/spec.md §1 on the embedded
 * store: whenever a 2xx response starts to leave, every WAL segment written before it has been fsynced since.
 * A flush counts when its call returns; a write counts from when it starts (the conservative reading).
 */
function checkTrace(lines: string[]): TraceVerdict {
  const dirty = new Set<string>();
  const pendingFlush = new Map<string, string>();
  const verdict: TraceVerdict = { responses: 0, walWrites: 0, walFlushes: 0, violations: [] };
  for (const line of lines) {
    const pid = line.split(' ', 1)[0] ?? '';
    const wal = WAL_FILE.exec(line)?.[1];
    if (/^\d+ +(?:pwrite64|write|pwritev2?|writev)\(/.test(line) && wal) {
      dirty.add(wal);
      verdict.walWrites++;
    } else if (/^\d+ +f(?:data)?sync\(/.test(line) && wal) {
      if (line.includes('<unfinished ...>')) pendingFlush.set(pid, wal);
      else if (/\)\s+= 0$/.test(line)) {
        dirty.delete(wal);
        verdict.walFlushes++;
      }
    } else if (/<\.\.\. f(?:data)?sync resumed>/.test(line) && pendingFlush.has(pid)) {
      if (/\)\s+= 0$/.test(line)) {
        dirty.delete(pendingFlush.get(pid) as string);
        verdict.walFlushes++;
      }
      pendingFlush.delete(pid);
    } else if (RESPONSE.test(line)) {
      verdict.responses++;
      if (dirty.size > 0) verdict.violations.push(`${[...dirty].join(', ')} unflushed at: ${line.slice(0, 120)}`);
    }
  }
  return verdict;
}

function ensureStrace(): void {
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
  } catch {
    assert.fail('strace is required for this test (.ci/run installs it: apt-get install -y strace)');
  }
}

async function tracedLoad(sync: 'on' | 'off'): Promise<TraceVerdict & { acknowledged: number }> {
  const location = await freshStore('pglite');
  const tracePath = join(location.dataDir, 'strace.log');
  const server = await spawnServer(location, { EMBEDDED_SYNC: sync, DATA_DIR: join(location.dataDir, 'store') }, [
    'strace',
    '-f',
    '-y',
    '-s',
    '24',
    '-e',
    'trace=desc,network',
    '-o',
    tracePath,
  ]);
  try {
    const topic = uniqueTopic(`durable-${sync}`);
    let acknowledged = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        for (let round = 0; round < 15; round++) {
          const events = Array.from({ length: 5 }, (_, i) => makeEvent(topic, `w${worker}-${round}-${i}`));
          const reply = await post<PublishResult>(`${server.url}/publish`, events);
          assert.equal(reply.status, 200);
          acknowledged++;
        }
      }),
    );
    // Stop the traced node process itself (strace's child) so the trace is complete.
    const nodePid = execFileSync('pgrep', ['-P', String(server.child.pid)])
      .toString()
      .trim()
      .split('\n')[0];
    process.kill(Number(nodePid), 'SIGTERM');
    await server.exited;
    return { ...checkTrace(readFileSync(tracePath, 'utf8').split('\n')), acknowledged };
  } finally {
    server.child.kill('SIGKILL');
    await location.destroy();
  }
}

describe('embedded store durability (system-call trace)', { timeout: 240_000 }, () => {
  test('every acknowledged request is answered only after the WAL holding its commit was fsynced', async () => {
    ensureStrace();
    const verdict = await tracedLoad('on');
    assert.equal(verdict.acknowledged, 120);
    assert.ok(verdict.responses >= verdict.acknowledged, `saw ${verdict.responses} responses in the trace`);
    assert.ok(verdict.walFlushes > 0 && verdict.walWrites > 0);
    assert.deepEqual(verdict.violations, []);
  });

  test('the check catches EMBEDDED_SYNC=off: responses leave with the WAL still unflushed', async () => {
    ensureStrace();
    const verdict = await tracedLoad('off');
    assert.equal(verdict.walFlushes, 0);
    assert.ok(verdict.violations.length >= verdict.acknowledged, `only ${verdict.violations.length} violations`);
  });
});
