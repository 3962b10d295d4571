import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { loadConfig } from '../../src/config.js';
import { LogaggError } from '../../src/errors.js';
import { TokenBucket } from '../../src/quota/bucket.js';
import { MAX_TRACKED_TENANTS, TenantQuotas } from '../../src/quota/quotas.js';
import { parseTenantLimits, type TenantLimits } from '../../src/schema/limits.js';

// The buckets with a hand-moved clock: refill is checked exactly, with no waiting and nothing timed.

function limits(json: unknown): TenantLimits {
  const parsed = parseTenantLimits(JSON.stringify(json), 'TENANT_LIMITS');
  assert.deepEqual(parsed.problems, []);
  return parsed.limits as TenantLimits;
}

describe('TokenBucket', () => {
  test('starts full, refills at its rate up to its burst, and tells the wait to the token', () => {
    const bucket = new TokenBucket(10, 20, 0);
    assert.equal(bucket.wait(20, 0), 0);
    bucket.take(20, 0);
    assert.equal(bucket.wait(5, 0), 0.5);
    assert.equal(bucket.wait(5, 0.25), 0.25);
    assert.equal(bucket.wait(5, 0.5), 0);
    // A long idle time refills to the burst, not beyond.
    assert.equal(bucket.wait(20, 100), 0);
    assert.ok(bucket.wait(21, 100) === 0, 'a cost over the burst passes on a full bucket');
    bucket.take(40, 100);
    // In debt by 20: a request of one waits for the debt and its token.
    assert.equal(bucket.wait(1, 100), 2.1);
    assert.equal(bucket.fullAt(100 + 3.9), false);
    assert.equal(bucket.fullAt(100 + 4), true);
  });

  test('property: a request that waits as told passes, and never more is admitted than the burst plus the rate × time (plus the excess of one request over the burst)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: 1000, noNaN: true }),
        fc.integer({ min: 1, max: 500 }),
        fc.array(fc.tuple(fc.double({ min: 0, max: 5, noNaN: true }), fc.integer({ min: 0, max: 800 })), { maxLength: 200 }),
        (rate, burst, requests) => {
          const bucket = new TokenBucket(rate, burst, 0);
          let now = 0;
          let admitted = 0;
          let largest = 0;
          for (const [dt, cost] of requests) {
            now += dt;
            const wait = bucket.wait(cost, now);
            if (wait > 0) {
              // The client waits as told (the header rounds up, so at least this) and sends again: it passes.
              now += wait * (1 + 1e-9);
              assert.equal(bucket.wait(cost, now), 0);
            }
            bucket.take(cost, now);
            admitted += cost;
            largest = Math.max(largest, cost);
            const bound = burst + rate * now + Math.max(0, largest - burst);
            assert.ok(admitted <= bound * (1 + 1e-9) + 1e-6, `admitted ${admitted} > ${bound}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a clock that steps back adds nothing', () => {
    const bucket = new TokenBucket(1, 1, 10);
    bucket.take(1, 10);
    assert.equal(bucket.wait(1, 5), 1);
    assert.equal(bucket.wait(1, 11), 0);
  });
});

describe('TenantQuotas', () => {
  const config = {
    defaults: { events_per_second: 10, events_burst: 10 },
    tenants: {
      bytes: { bytes_per_second: 100, bytes_burst: 1000, events_per_second: null },
      small: { max_body_bytes: 500 },
      free: { events_per_second: null },
    },
  };

  test('events: refused once the bucket is spent, with the wait rounded up, and admitted after it', () => {
    let now = 0;
    const refusals: string[] = [];
    const quotas = new TenantQuotas(limits(config), { now: () => now, onRefused: (tenant, limit) => refusals.push(`${tenant}/${limit}`) });
    assert.equal(quotas.admitBody('a', 100), undefined);
    assert.equal(quotas.admitEvents('a', 10), undefined);
    const refused = quotas.admitEvents('a', 5);
    assert.ok(refused instanceof LogaggError);
    assert.equal(refused.code, 'QUOTA_EXCEEDED');
    assert.equal(refused.status, 429);
    assert.equal(refused.retryAfterSeconds, 1, '5 events at 10/s: 0.5 s, rounded up');
    assert.deepEqual(refused.details, [{ tenant: 'a', limit: 'events_per_second', value: 10, retry_after_seconds: 1 }]);
    // Before the body is read: an empty bucket refuses whatever the request holds.
    assert.equal(quotas.admitBody('a', 100)?.code, 'QUOTA_EXCEEDED');
    // Another tenant has buckets of its own.
    assert.equal(quotas.admitEvents('b', 10), undefined);
    now = 0.5;
    assert.equal(quotas.admitEvents('a', 5), undefined);
    assert.deepEqual(refusals, ['a/events_per_second', 'a/events_per_second']);
  });

  test('bytes are charged on admission of the body; max_body_bytes is a 413; null lifts a default', () => {
    let now = 0;
    const quotas = new TenantQuotas(limits(config), { now: () => now });
    assert.equal(quotas.admitBody('bytes', 900), undefined);
    const refused = quotas.admitBody('bytes', 200);
    assert.equal(refused?.code, 'QUOTA_EXCEEDED');
    assert.equal(refused?.retryAfterSeconds, 1, '100 bytes short at 100/s');
    assert.match(refused?.message ?? '', /100 bytes per second \(TENANT_LIMITS bytes_per_second\)/);
    now = 1;
    assert.equal(quotas.admitBody('bytes', 200), undefined);
    // A body without Content-Length is charged once read.
    quotas.chargeBytes('bytes', 900);
    assert.equal(quotas.admitBody('bytes', 1)?.code, 'QUOTA_EXCEEDED');
    const tooLarge = quotas.admitBody('small', 501);
    assert.equal(tooLarge?.code, 'BODY_TOO_LARGE');
    assert.equal(tooLarge?.status, 413);
    assert.match(tooLarge?.message ?? '', /limit of 500 bytes \(TENANT_LIMITS max_body_bytes of tenant "small"\)/);
    assert.equal(quotas.admitBody('small', 500), undefined);
    assert.equal(quotas.limitOf('free'), undefined, 'a tenant whose every limit is lifted skips the check');
    for (let i = 0; i < 100; i++) assert.equal(quotas.admitEvents('free', 1000), undefined);
  });

  test('no limits at all: nothing is checked', () => {
    const quotas = new TenantQuotas(limits({}));
    assert.equal(quotas.limitOf('default'), undefined);
    assert.equal(quotas.admitEvents('default', 1e9), undefined);
  });

  test('a reload puts the new rates in force with full buckets', () => {
    const quotas = new TenantQuotas(limits(config), { now: () => 0 });
    assert.equal(quotas.admitEvents('a', 10), undefined);
    assert.equal(quotas.admitEvents('a', 1)?.code, 'QUOTA_EXCEEDED');
    quotas.replace(limits({ defaults: { events_per_second: 100 } }));
    assert.equal(quotas.admitEvents('a', 100), undefined);
  });

  test('tenants named by clients cannot grow the state without bound: refilled buckets are swept', () => {
    let now = 0;
    const quotas = new TenantQuotas(limits(config), { now: () => now });
    for (let i = 0; i < MAX_TRACKED_TENANTS; i++) quotas.admitEvents(`t${i}`, 1);
    now = 10;
    // The next new tenant sweeps every full bucket; "t0" then starts again full, as it would have been anyway.
    quotas.admitEvents('late', 10);
    assert.equal(quotas.admitEvents('t0', 10), undefined);
  });
});

describe('TENANT_LIMITS and TENANT_LIMITS_FILE', () => {
  test('a bad document refuses to start, naming each problem by its path', () => {
    const bad = JSON.stringify({ defaults: { events_per_second: 0, typo: 1 }, tenants: { 'a|b': {} } });
    assert.throws(
      () => loadConfig({ TENANT_LIMITS: bad }),
      (err: LogaggError) => {
        assert.equal(err.code, 'CONFIG_INVALID');
        assert.match(err.message, /TENANT_LIMITS \/defaults: unknown field "typo"/);
        assert.match(err.message, /TENANT_LIMITS \/defaults\/events_per_second: must be > 0/);
        return true;
      },
    );
    assert.throws(() => loadConfig({ TENANT_LIMITS: '{"tenants": {"a|b": {}}}' }), /\/tenants\/a\|b: not a tenant name/);
    assert.throws(() => loadConfig({ TENANT_LIMITS: 'nope' }), /TENANT_LIMITS is not JSON/);
    assert.throws(() => loadConfig({ TENANT_LIMITS: '{}', TENANT_LIMITS_FILE: '/x' }), /both set/);
    assert.throws(() => loadConfig({ TENANT_LIMITS_FILE: '/nonexistent/limits.json' }), /TENANT_LIMITS_FILE cannot be read/);
  });

  test('unset: no limits (every request as before); an override merges over the defaults field by field', () => {
    assert.equal(loadConfig({}).tenantLimits, undefined);
    const parsed = limits({ defaults: { events_per_second: 5, max_body_bytes: 1000 }, tenants: { a: { events_burst: 50 } } });
    assert.deepEqual(parsed.defaults, { eventsPerSecond: 5, eventsBurst: 5, maxBodyBytes: 1000 });
    assert.deepEqual(parsed.tenants.get('a'), { eventsPerSecond: 5, eventsBurst: 50, maxBodyBytes: 1000 });
    assert.deepEqual(limits({ defaults: { events_per_second: 0.5 } }).defaults, { eventsPerSecond: 0.5, eventsBurst: 1 });
  });
});
