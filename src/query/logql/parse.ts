import type { BinaryOp, Expr, Grouping, LogExpr, RangeOp, SampleExpr, VectorOp } from './ast.js';
import { Cursor } from './cursor.js';
import { parseLogExpr, parseStages } from './parse-log.js';

const RANGE_OPS = new Set<string>(['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate']);
const VECTOR_OPS = new Set<string>(['sum', 'avg', 'min', 'max', 'count', 'topk', 'bottomk']);
/** Functions Loki has and logagg does not: named in the 400 they get. */
const UNSUPPORTED_FUNCTIONS = new Set([
  'rate_counter',
  'avg_over_time',
  'sum_over_time',
  'min_over_time',
  'max_over_time',
  'stdvar_over_time',
  'stddev_over_time',
  'quantile_over_time',
  'first_over_time',
  'last_over_time',
  'absent_over_time',
  'stddev',
  'stdvar',
  'sort',
  'sort_desc',
  'approx_topk',
  'label_replace',
]);
/** Binary operators by precedence, loosest first (Loki's syntax.y). */
const PRECEDENCE: Record<string, number> = {
  or: 1,
  and: 2,
  unless: 2,
  '==': 3,
  '!=': 3,
  '>': 3,
  '>=': 3,
  '<': 3,
  '<=': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '%': 5,
  '^': 6,
};
const COMPARISONS = new Set(['==', '!=', '>', '>=', '<', '<=']);

/** Parses a LogQL query of logagg's subset; throws LogqlError (400) naming the position of any problem. */
export function parseLogql(query: string): Expr {
  const c = new Cursor(query);
  const expr = parseExpr(c, 0);
  if (c.peek().kind !== 'eof') throw c.unexpected();
  return expr;
}

function binaryOperator(c: Cursor): string | undefined {
  const token = c.peek();
  if (token.kind === 'op' && token.text in PRECEDENCE) return token.text;
  if (token.kind === 'ident' && ['or', 'and', 'unless'].includes(token.text.toLowerCase())) return token.text.toLowerCase();
  return undefined;
}

function parseExpr(c: Cursor, minPrecedence: number): Expr {
  c.enter(c.peek().pos);
  let left = parsePrimary(c);
  for (;;) {
    const op = binaryOperator(c);
    const precedence = op === undefined ? 0 : (PRECEDENCE[op] as number);
    if (op === undefined || precedence < minPrecedence) break;
    const token = c.next();
    if (op === 'or' || op === 'and' || op === 'unless') throw c.unsupported(`the set operator ${op}`, token.pos);
    let returnBool = false;
    if (c.isIdent('bool')) {
      if (!COMPARISONS.has(op)) throw c.fail('bool modifier can only be used on comparison operators', c.peek().pos);
      c.next();
      returnBool = true;
    }
    for (const modifier of ['on', 'ignoring', 'group_left', 'group_right']) {
      if (c.isIdent(modifier)) throw c.unsupported(`vector matching with ${modifier}`, c.peek().pos);
    }
    const right = parseExpr(c, op === '^' ? precedence : precedence + 1);
    const l = sample(c, left, token.pos);
    const r = sample(c, right, token.pos);
    if (COMPARISONS.has(op) && !returnBool && l.kind === 'literal' && r.kind === 'literal') {
      throw c.fail('comparisons between scalars must use BOOL modifier', token.pos);
    }
    left = { kind: 'binary', op: op as BinaryOp, returnBool, left: l, right: r, pos: token.pos };
  }
  c.leave();
  return left;
}

function sample(c: Cursor, expr: Expr, pos: number): SampleExpr {
  if (expr.kind === 'log') throw c.fail('unexpected binary operation on a log query: only metric queries combine', pos);
  return expr;
}

function parsePrimary(c: Cursor): Expr {
  const token = c.peek();
  if (token.kind === 'op' && token.text === '(') {
    c.next();
    const inner = parseExpr(c, 0);
    c.expectOp(')');
    return inner;
  }
  if (token.kind === 'op' && token.text === '{') return parseLogExpr(c);
  if (token.kind === 'number') {
    c.next();
    return { kind: 'literal', value: token.value as number, pos: token.pos };
  }
  if (token.kind === 'op' && (token.text === '-' || token.text === '+') && c.peek(1).kind === 'number') {
    c.next();
    const number = c.next();
    return { kind: 'literal', value: (token.text === '-' ? -1 : 1) * (number.value as number), pos: token.pos };
  }
  if (token.kind === 'ident') {
    const name = token.text.toLowerCase();
    const isCall = c.isOp('(', 1) || c.isIdent('by', 1) || c.isIdent('without', 1);
    if (isCall && RANGE_OPS.has(name) && c.isOp('(', 1)) return parseRangeAggregation(c, name as RangeOp);
    if (isCall && VECTOR_OPS.has(name)) return parseVectorAggregation(c, name as VectorOp);
    if (name === 'vector' && c.isOp('(', 1)) {
      c.next();
      c.next();
      const value = parseSignedNumber(c);
      c.expectOp(')');
      return { kind: 'vector', value, pos: token.pos };
    }
    if (isCall && UNSUPPORTED_FUNCTIONS.has(name)) throw c.unsupported(`the function ${token.text}`, token.pos);
  }
  throw c.unexpected();
}

function parseSignedNumber(c: Cursor): number {
  let sign = 1;
  if (c.isOp('-') || c.isOp('+')) sign = c.next().text === '-' ? -1 : 1;
  return sign * (c.expectKind('number', 'a number').value as number);
}

/** `rate({...} | ... [5m])`, also written `rate({...}[5m] | ...)` or with the log part in parentheses. */
function parseRangeAggregation(c: Cursor, op: RangeOp): SampleExpr {
  const pos = c.next().pos;
  c.expectOp('(');
  if (c.peek().kind === 'number' && c.isOp(',', 1)) throw c.fail(`invalid parameter for ${op}: it takes none`, c.peek().pos);
  let log: LogExpr;
  let rangeNs: number;
  if (c.isOp('(')) {
    c.next();
    log = parseLogExpr(c);
    c.expectOp(')');
    rangeNs = expectRange(c);
  } else {
    log = parseLogExpr(c);
    rangeNs = expectRange(c);
    // Loki also takes the pipeline after the range when none came before it: `{app="a"}[5m] |= "x"`.
    if (log.stages.length === 0) log = { ...log, stages: parseStages(c) };
  }
  if (c.isIdent('offset')) throw c.unsupported('offset', c.peek().pos);
  if (c.isOp('|') && c.isIdent('unwrap', 1)) throw c.unsupported('| unwrap', c.peek(1).pos);
  c.expectOp(')');
  if (c.isIdent('by') || c.isIdent('without')) throw c.fail(`grouping not allowed for ${op} aggregation`, c.peek().pos);
  return { kind: 'range', op, log, rangeNs, pos };
}

function expectRange(c: Cursor): number {
  const token = c.expectKind('range', 'a range such as [5m]');
  if ((token.value as number) <= 0) throw c.fail(`invalid range [${token.text}]: it must be positive`, token.pos);
  return token.value as number;
}

function parseVectorAggregation(c: Cursor, op: VectorOp): SampleExpr {
  const pos = c.next().pos;
  let grouping = parseGrouping(c);
  c.expectOp('(');
  let param: number | undefined;
  if (op === 'topk' || op === 'bottomk') {
    const token = c.peek();
    param = parseSignedNumber(c);
    if (!Number.isInteger(param) || param <= 0)
      throw c.fail(`invalid parameter ${op}(${token.text},: it must be an integer greater than 0`, token.pos);
    c.expectOp(',');
  } else if (c.peek().kind === 'number' && c.isOp(',', 1)) {
    throw c.fail(`unsupported parameter for operation ${op}(${c.peek().text},`, c.peek().pos);
  }
  const inner = parseExpr(c, 0);
  c.expectOp(')');
  if (inner.kind === 'log') throw c.fail(`${op} takes a metric query, not a log query`, inner.pos);
  const after = parseGrouping(c);
  if (after !== undefined) {
    if (grouping !== undefined) throw c.unexpected();
    grouping = after;
  }
  return { kind: 'vectorAgg', op, grouping, param, expr: inner, pos };
}

function parseGrouping(c: Cursor): Grouping | undefined {
  if (!(c.isIdent('by') || c.isIdent('without'))) return undefined;
  const without = c.next().text.toLowerCase() === 'without';
  c.expectOp('(');
  const labels: string[] = [];
  while (!c.isOp(')')) {
    labels.push(c.expectKind('ident', 'a label name').text);
    if (!c.isOp(',')) break;
    c.next();
  }
  c.expectOp(')');
  return { without, labels };
}
