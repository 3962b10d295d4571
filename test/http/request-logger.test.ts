import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { lazyChildLogger } from '../../src/http/plugins/request-logger.js';

function capture(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  const logger = pino({ level: 'debug', base: { service: 'logagg' } }, stream);
  return {
    logger,
    lines: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

test("request.log made on first use logs what pino's child would: the request's binding, the message, the level", () => {
  const { logger, lines } = capture();
  const log = lazyChildLogger(logger, { reqId: 'req-7' }, {});
  log.error({ code: 'INTERNAL' }, 'request failed');
  log.debug('refused');
  log.trace('below the level');
  const [failed, refused, ...rest] = lines();
  assert.deepEqual(rest, []);
  assert.equal(failed?.reqId, 'req-7');
  assert.equal(failed?.service, 'logagg');
  assert.equal(failed?.code, 'INTERNAL');
  assert.equal(failed?.msg, 'request failed');
  assert.equal(failed?.level, 50);
  assert.equal(refused?.msg, 'refused');
  assert.equal(log.level, 'debug');
  log.child({ part: 'x' }).info('from a grandchild');
  assert.equal(lines()[2]?.reqId, 'req-7');
  assert.equal(lines()[2]?.part, 'x');
});

test('a request that logs nothing never makes a child', () => {
  const { logger } = capture();
  let made = 0;
  const parent = Object.assign(Object.create(logger) as pino.Logger, {
    child: (...args: Parameters<pino.Logger['child']>) => {
      made++;
      return logger.child(...args);
    },
  });
  lazyChildLogger(parent, { reqId: 'req-8' }, {});
  assert.equal(made, 0);
  lazyChildLogger(parent, { reqId: 'req-9' }, {}).warn('now');
  assert.equal(made, 1);
});
