import { LogaggError } from '../errors.js';
import type { Predicate } from '../query/predicate.js';
import { containsCondition, LINE_SQL, prefixCondition, wordCondition } from './words-sql.js';

export { containsPattern, LINE_SQL, WORDS_SQL } from './words-sql.js';

/*
 * A Predicate (src/query/predicate.ts) as a SQL condition on the events table, the same text on both engines.
 * Values never enter the SQL text: each is appended to the caller's parameter list and referenced as $n. The
 * search syntax and LogQL both compile to this, so both run on the word index over the line (migration 5;
 * the line conditions are in src/store/words-sql.ts).
 */

/** A JSON number, or a decimal in a string: what a numeric field comparison reads (the exponent bounded for ::numeric). */
const NUMBER_PATTERN = '^-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]{1,3})?$';
const NUMBER = new RegExp(NUMBER_PATTERN);

const COMPARE = { lt: '<', le: '<=', gt: '>', ge: '>=' } as const;

/**
 * Compiles `predicate` to a SQL condition, appending its values to `params` (so `$n` numbers continue the
 * caller's). A field that is missing or not comparable makes its comparison false, never NULL, so `not`
 * negates it as a reader expects (`-level:error` keeps events without a level). Throws INVALID_QUERY for a
 * numeric comparison with a value that is not a number.
 */
export function compilePredicate(predicate: Predicate, params: unknown[]): string {
  const bind = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  switch (predicate.kind) {
    case 'all':
      return predicate.of.length === 0 ? 'TRUE' : `(${predicate.of.map((p) => compilePredicate(p, params)).join(' AND ')})`;
    case 'any':
      return predicate.of.length === 0 ? 'FALSE' : `(${predicate.of.map((p) => compilePredicate(p, params)).join(' OR ')})`;
    case 'not':
      return `NOT ${compilePredicate(predicate.of, params)}`;
    case 'line':
      switch (predicate.op) {
        case 'word':
          return wordCondition(predicate.value, bind);
        case 'prefix':
          return prefixCondition(predicate.value, bind);
        case 'contains':
          return containsCondition(predicate.value, false, bind);
        case 'icontains':
          return containsCondition(predicate.value, true, bind);
        case 'regex':
          return `(${LINE_SQL} ~ ${bind(predicate.value)}::text)`;
        case 'iregex':
          return `(${LINE_SQL} ~* ${bind(predicate.value)}::text)`;
      }
      break;
    case 'label':
      if (predicate.op === 'eq') return `(${predicate.name} = ${bind(predicate.value)}::text)`;
      // `.*` and `.+` (Grafana's "any service") without a regex per row, which cost more than the rest of a count
      // over the ts index (~0.5 µs a row); `.` matches any character, newlines too, in PostgreSQL's default mode.
      if (predicate.value === '.*') return 'TRUE';
      if (predicate.value === '.+') return `(${predicate.name} <> '')`;
      // A label regex matches the whole value, as in LogQL and PromQL.
      return `(${predicate.name} ~ ${bind(`^(?:${predicate.value})$`)}::text)`;
    case 'field': {
      if (predicate.path.length === 0) throw new LogaggError('INVALID_QUERY', { message: 'A field needs a name' });
      const keys = predicate.path.map((key) => `${bind(key)}::text`);
      const last = keys.pop() as string;
      const text = `(${['payload', ...keys].join(' -> ')} ->> ${last})`;
      switch (predicate.op) {
        case 'eq':
          return `coalesce(${text} = ${bind(predicate.value)}::text, false)`;
        case 'ieq':
          return `coalesce(lower(${text}) = lower(${bind(predicate.value)}::text), false)`;
        default: {
          if (!NUMBER.test(predicate.value)) {
            throw new LogaggError('INVALID_QUERY', { message: `"${predicate.value}" is not a number to compare with` });
          }
          // The CASE keeps ::numeric from ever seeing text that is not a number (a cast error would be a 500).
          return `coalesce(CASE WHEN ${text} ~ '${NUMBER_PATTERN}' THEN ${text}::numeric ${COMPARE[predicate.op]} ${bind(predicate.value)}::numeric END, false)`;
        }
      }
    }
  }
  throw new LogaggError('INVALID_QUERY', { message: 'Unknown predicate' });
}

// SQLSTATE classes that mean "this query", not "the store": 22 data exception (2201B an invalid regular
// expression, or one too complex; a value that does not convert), 54 program limit exceeded (too deep, too big).
const REFUSED_SQLSTATE = /^(22|54)/;

/**
 * What a read with a Predicate answers when the store fails it: a query PostgreSQL refused (a regex it cannot
 * compile, say) is INVALID_QUERY with PostgreSQL's reason, and a statement cancelled at statement_timeout is
 * QUERY_TIMEOUT: the store is alive, the query is too expensive. Anything else is passed on unchanged.
 */
export function translateQueryError(err: unknown): unknown {
  if (!(err instanceof LogaggError)) return err;
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  const sqlstate = typeof cause?.code === 'string' ? cause.code : '';
  const reason = typeof cause?.message === 'string' ? cause.message : err.message;
  if (REFUSED_SQLSTATE.test(sqlstate))
    return new LogaggError('INVALID_QUERY', { message: `The store refused the query: ${reason}`, cause: err });
  if (sqlstate === '57014') return new LogaggError('QUERY_TIMEOUT', { cause: err });
  return err;
}
