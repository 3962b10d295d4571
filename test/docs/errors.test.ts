import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ERROR_CODES } from '../../src/errors.js';

describe('docs/errors.md', () => {
  const rows = [...readFileSync('docs/errors.md', 'utf8').matchAll(/^\| `([A-Z_]+)` \| (\d{3}|—) \| (yes|no) \|/gm)];

  test('lists every code of src/errors.ts and no other, with its status and retry flag', () => {
    const documented = new Map(rows.map((m) => [m[1], { status: m[2], retryable: m[3] === 'yes' }]));
    assert.deepEqual([...documented.keys()].sort(), Object.keys(ERROR_CODES).sort());
    for (const [code, entry] of Object.entries(ERROR_CODES)) {
      const doc = documented.get(code);
      if (doc?.status !== '—') assert.equal(doc?.status, String(entry.status), code);
      assert.equal(doc?.retryable, entry.retryable, code);
    }
  });
});
