import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isLogaggError } from '../../src/errors.js';
import { parseLogql } from '../../src/query/logql/parse.js';

/** The error a query gets: its code and message (throws if the query parses). */
function refusal(query: string): { code: string; message: string; offset: number } {
  try {
    parseLogql(query);
  } catch (err) {
    assert.ok(isLogaggError(err), `not a LogaggError: ${String(err)}`);
    return { code: err.code, message: err.message, offset: (err.details?.[0] as { offset: number }).offset };
  }
  throw new Error(`parsed: ${query}`);
}

describe('LogQL parser', () => {
  it('reads a log query with every supported stage, in order', () => {
    const expr = parseLogql(
      '{topic="a", source=~"api-.+"} |= "x" or "y" != `z` | json | status >= 500 and level="error" or x=~"a.+" ' +
        '| line_format "{{.msg}} {{ __line__ }}" | drop __error__, a="b" | keep a',
    );
    assert.equal(expr.kind, 'log');
    assert.deepEqual(expr.kind === 'log' && expr.stages.map((s) => s.kind), [
      'lineFilter',
      'lineFilter',
      'json',
      'labelFilter',
      'lineFormat',
      'drop',
      'keep',
    ]);
    assert.deepEqual(expr.kind === 'log' && expr.stages[0], { kind: 'lineFilter', op: '|=', values: ['x', 'y'], pos: 30 });
  });

  it('gives `or` the loosest binding among label filters, as Loki does', () => {
    const expr = parseLogql('{a="b"} | x="1" or y="2" and z="3"');
    const stage = expr.kind === 'log' ? expr.stages[0] : undefined;
    assert.ok(stage?.kind === 'labelFilter');
    assert.equal(stage.filter.kind, 'or');
    assert.equal(stage.filter.kind === 'or' && stage.filter.right.kind, 'and');
  });

  it('reads numbers, durations and byte sizes in label filters', () => {
    const expr = parseLogql('{a="b"} | n > -1.5 | latency >= 250ms | size < 20KiB | code = 200');
    assert.ok(expr.kind === 'log');
    assert.deepEqual(
      expr.stages.map((s) => {
        const filter = s.kind === 'labelFilter' ? s.filter : undefined;
        return filter?.kind === 'number' || filter?.kind === 'duration' || filter?.kind === 'bytes'
          ? [filter.kind, filter.op, filter.value]
          : null;
      }),
      [
        ['number', '>', -1.5],
        ['duration', '>=', 250e6],
        ['bytes', '<', 20480],
        ['number', '==', 200],
      ],
    );
  });

  it('reads metric queries: range functions, aggregations with grouping, topk, arithmetic precedence', () => {
    const expr = parseLogql('topk(3, sum by (source) (rate({topic="a"}[5m30s]))) * 2 + 1');
    assert.equal(expr.kind, 'binary');
    assert.ok(expr.kind === 'binary' && expr.op === '+' && expr.left.kind === 'binary' && expr.left.op === '*');
    const range = parseLogql('count_over_time({a="b"}[1m] |= "x")');
    assert.ok(range.kind === 'range' && range.rangeNs === 60e9 && range.log.stages.length === 1);
    assert.equal(parseLogql('vector(1)+vector(1)').kind, 'binary');
    const power = parseLogql('2 ^ 3 ^ 2');
    assert.ok(power.kind === 'binary' && power.right.kind === 'binary', '^ is right-associative');
  });

  for (const [query, part] of [
    ['count_over_time({a="b"}[1m] offset 1h)', 'offset'],
    ['{a="b"} | regexp "(?P<x>.)"', '| regexp'],
    ['{a="b"} | json a="b"', '| json with parameters'],
    ['avg_over_time({a="b"} | unwrap x [5m])', 'avg_over_time'],
    ['{a="b"} |~ "\\\\bword"', '\\b'],
    ['{a="b"} | line_format "{{ .a | upper }}"', 'line_format action'],
    ['sum(rate({a="b"}[1m])) or vector(0)', 'set operator or'],
    ['rate({a="b"}[1m]) / on (x) rate({a="c"}[1m])', 'vector matching with on'],
    ['{a="b"} |> "<_> x"', 'pattern line filter'],
    ['{a="b"} |~ "(a+)+b"', 'a repeated group that itself repeats'],
  ] as const) {
    it(`refuses ${part} as outside the subset, with its position: ${query}`, () => {
      const { code, message } = refusal(query);
      assert.equal(code, 'LOGQL_UNSUPPORTED');
      assert.match(message, /^unsupported at line 1, col \d+: /);
      assert.ok(message.includes(part), message);
    });
  }

  for (const [query, offset] of [
    ['{a="b"', 6],
    ['{a=~".*"}', 0],
    ['sum(', 4],
    ['{a="b"} |= ', 11],
    ['1 > 2', 2],
    ['{a="b"} | x >', 13],
    ['rate({a="b"}[0s])', 12],
    ['{a="b\\q"}', 5],
    ['{}', 1],
  ] as const) {
    it(`refuses bad syntax with a parse error at offset ${offset}: ${query}`, () => {
      const error = refusal(query);
      assert.equal(error.code, 'LOGQL_INVALID');
      assert.match(error.message, /^parse error at line 1, col \d+: /);
      assert.equal(error.offset, offset);
    });
  }

  it('refuses every random string with a LogaggError or parses it, never anything else', () => {
    const pieces = [
      '{',
      '}',
      '(',
      ')',
      '[5m]',
      '|',
      '|=',
      '!=',
      '=~',
      '"a"',
      '`b`',
      'json',
      'logfmt',
      'sum',
      'by',
      'rate',
      'topic',
      '=',
      ',',
      '1',
      '-',
      'or',
      'and',
      '>',
      'line_format',
      '"{{.a}}"',
      ' ',
    ];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 60 }),
          fc.array(fc.constantFrom(...pieces), { maxLength: 30 }).map((p) => p.join('')),
        ),
        (query) => {
          try {
            parseLogql(query);
          } catch (err) {
            assert.ok(isLogaggError(err) && err.status === 400, `${JSON.stringify(query)}: ${String(err)}`);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
