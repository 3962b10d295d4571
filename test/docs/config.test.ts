import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { DEFAULTS, loadConfig, parseDuration, RANGES } from '../../src/config.js';
import { globMatches, likePattern, needsKeyTable, windowsFor } from '../../src/schema/retention-rules.js';

function documentedDefaults(file: string): Map<string, string> {
  const rows = readFileSync(file, 'utf8').matchAll(/^\| `([A-Z_]+)` \| (?:`([^`]*)`|\(unset\)) \|/gm);
  return new Map([...rows].map((m) => [m[1] as string, m[2] ?? '']));
}

describe('configuration', () => {
  test('docs/config.md and the README table list every variable with the default in code', () => {
    for (const file of ['docs/config.md', 'README.md']) {
      assert.deepEqual(Object.fromEntries(documentedDefaults(file)), { ...DEFAULTS }, file);
    }
  });

  test('docs/config.md states the allowed range of every integer setting, as the errors enforce it', () => {
    const rows = readFileSync('docs/config.md', 'utf8').matchAll(/^\| `([A-Z_]+)` \| [^|]+ \| `(\d+)` to `(\d+)` \|/gm);
    const documented = Object.fromEntries([...rows].map((m) => [m[1] as string, [Number(m[2]), Number(m[3])]]));
    assert.deepEqual(documented, Object.fromEntries(Object.entries(RANGES).map(([name, range]) => [name, [...range]])));
    for (const [name, [min, max]] of Object.entries(RANGES)) {
      for (const bad of [min - 1, max + 1]) {
        if (bad < 0) continue;
        assert.throws(
          () => loadConfig({ [name]: String(bad), ...(name === 'MAX_QUEUE' ? { MAX_BATCH_EVENTS: '1' } : {}) }),
          (err: Error) => err.message.includes(`${name} must be an integer from ${min} to ${max}, got "${bad}"`),
          `${name}=${bad}`,
        );
      }
    }
  });

  test('MAX_QUEUE below MAX_BATCH_EVENTS shows both values', () => {
    assert.throws(
      () => loadConfig({ MAX_QUEUE: '500', MAX_BATCH_EVENTS: '1000' }),
      (err: Error) => /MAX_QUEUE \(500\) must be at least MAX_BATCH_EVENTS \(1000\)/.test(err.message),
    );
  });

  test('defaults load into a frozen config that reads the embedded store', () => {
    const config = loadConfig({});
    assert.ok(Object.isFrozen(config));
    assert.equal(config.port, 8080);
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.dataDir, './data');
  });

  test('every bad value is reported at once as CONFIG_INVALID', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty', WORKERS: '0', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' }),
      (err: Error & { code?: string; details?: string[] }) =>
        err.code === 'CONFIG_INVALID' && err.details?.length === 4 && /PORT/.test(err.message) && /WORKERS/.test(err.message),
    );
  });

  test('RETENTION and DEDUP_RETENTION take durations; the key window must outlast the payloads', () => {
    assert.equal(parseDuration('30d'), 30 * 86_400_000);
    assert.equal(parseDuration('45s'), 45_000);
    for (const bad of ['0d', '30', '1.5h', '30 d', '-1d', '1w', '36501d', '']) assert.equal(parseDuration(bad), undefined, bad);
    assert.deepEqual(
      { retention: loadConfig({ RETENTION: '7d' }).retentionMs, keys: loadConfig({ RETENTION: '7d' }).dedupRetentionMs },
      { retention: 7 * 86_400_000, keys: undefined },
    );
    assert.equal(loadConfig({ RETENTION: '1d', DEDUP_RETENTION: '30d' }).dedupRetentionMs, 30 * 86_400_000);
    const invalid = (env: Record<string, string>, pattern: RegExp) =>
      assert.throws(
        () => loadConfig(env),
        (err: Error & { code?: string }) => err.code === 'CONFIG_INVALID' && pattern.test(err.message),
      );
    invalid({ RETENTION: 'forever' }, /RETENTION must be a duration/);
    invalid({ DEDUP_RETENTION: '30d' }, /DEDUP_RETENTION needs RETENTION/);
    invalid({ RETENTION: '30d', DEDUP_RETENTION: '30d' }, /must be longer than RETENTION/);
    invalid({ RETENTION: '30d', DEDUP_RETENTION: '1d' }, /must be longer than RETENTION/);
  });

  test('RETENTION_RULES: tenant@ keeps a rule to one tenant; *@ or none is every tenant; a rule a wider earlier one covers is refused', () => {
    const day = 86_400_000;
    const rules = loadConfig({ RETENTION_RULES: 'acme@debug.*=3d, *@mail@host.*=2d, debug.*=30d' }).retentionRules;
    assert.deepEqual(rules, [
      { tenant: 'acme', pattern: 'debug.*', eventsMs: 3 * day, keysMs: undefined },
      { pattern: 'mail@host.*', eventsMs: 2 * day, keysMs: undefined },
      { pattern: 'debug.*', eventsMs: 30 * day, keysMs: undefined },
    ]);
    const fallback = { eventsMs: undefined, keysMs: undefined };
    assert.equal(windowsFor('debug.x', rules, fallback, 'acme').eventsMs, 3 * day);
    assert.equal(windowsFor('debug.x', rules, fallback, 'globex').eventsMs, 30 * day);
    assert.equal(windowsFor('mail@host.a', rules, fallback, 'globex').eventsMs, 2 * day);
    const refused = (text: string, pattern: RegExp) => assert.throws(() => loadConfig({ RETENTION_RULES: text }), pattern);
    refused('debug.*=30d, acme@debug.x=3d', /never applies: the earlier rule "debug\.\*"/);
    refused('acme@debug.*=30d, acme@debug.x=3d', /never applies: the earlier rule "acme@debug\.\*"/);
    assert.equal(loadConfig({ RETENTION_RULES: 'acme@debug.*=30d, globex@debug.x=3d' }).retentionRules.length, 2);
  });

  test('RETENTION_RULES: pattern=window[/keywindow], first match wins, * the only wildcard', () => {
    const config = loadConfig({ RETENTION: '30d', RETENTION_RULES: ' payments.*=400d/800d ,debug.*=3d, audit.*=forever,* =1d' });
    const day = 86_400_000;
    assert.deepEqual(config.retentionRules, [
      { pattern: 'payments.*', eventsMs: 400 * day, keysMs: 800 * day },
      { pattern: 'debug.*', eventsMs: 3 * day, keysMs: undefined },
      { pattern: 'audit.*', eventsMs: undefined, keysMs: undefined },
      { pattern: '*', eventsMs: day, keysMs: undefined },
    ]);
    const fallback = { eventsMs: config.retentionMs, keysMs: config.dedupRetentionMs };
    assert.deepEqual(windowsFor('payments.eu', config.retentionRules, fallback), { eventsMs: 400 * day, keysMs: 800 * day });
    assert.deepEqual(windowsFor('audit.x', config.retentionRules, fallback), { eventsMs: undefined, keysMs: undefined });
    assert.deepEqual(windowsFor('payments', config.retentionRules, fallback), { eventsMs: day, keysMs: undefined });
    assert.ok(needsKeyTable(config.retentionRules, fallback), 'a rule with a key window needs the key table');
    assert.ok(!needsKeyTable(loadConfig({ RETENTION_RULES: 'a*=1d' }).retentionRules, { eventsMs: undefined, keysMs: undefined }));
    assert.deepEqual(loadConfig({ RETENTION_RULES: '' }).retentionRules, []);
    // The glob and its LIKE form: only * is special; % _ \ ? . are literal.
    assert.equal(likePattern('a_b%c\\d*'), 'a\\_b\\%c\\\\d%');
    for (const [glob, topic, match] of [
      ['a.*', 'a.b.c', true],
      ['a.*', 'a.', true],
      ['a.*', 'axb', false],
      ['a_*', 'ab', false],
      ['a?', 'ab', false],
      ['a?', 'a?', true],
      ['*x*', 'x', true],
      ['(*)', '(y)', true],
    ] as const) {
      assert.equal(globMatches(glob, topic), match, `${glob} ~ ${topic}`);
    }
  });

  test('a bad rule is refused at start with its position and text', () => {
    const invalid = (rules: string, pattern: RegExp, extra: Record<string, string> = {}) =>
      assert.throws(
        () => loadConfig({ RETENTION_RULES: rules, ...extra }),
        (err: Error & { code?: string }) => err.code === 'CONFIG_INVALID' && pattern.test(err.message),
        rules,
      );
    invalid('debug.*', /RETENTION_RULES rule 1 \("debug\.\*"\): must be pattern=window/);
    invalid('a*=1d, debug.*=3x', /rule 2 \("debug\.\*=3x"\): the window must be a duration .* got "3x"/);
    invalid('=3d', /rule 1 \("=3d"\): the pattern is empty/);
    invalid('a*=3d/3d', /the key window must be longer than the events window/);
    invalid('a*=3d/1d', /the key window must be longer than the events window/);
    invalid('a*=3d/forever', /the key window must be a duration/);
    invalid('a*=forever/3d', /a forever rule keeps its keys forever/);
    invalid('a*=1d/2d/3d', /at most two windows/);
    invalid('pay*=1d, payments.*=400d', /rule 2 \("payments\.\*=400d"\): never applies: the earlier rule "pay\*"/);
    invalid('a.*=1d, a.*=2d', /rule 2 .*never applies/);
    invalid(`${'x'.repeat(256)}=1d`, /at most 255 characters/);
    // Every bad rule at once, beside other problems.
    assert.throws(
      () => loadConfig({ RETENTION_RULES: 'a=1x, b', PORT: 'x' }),
      (err: Error & { details?: string[] }) => err.details?.length === 3,
    );
  });
});
