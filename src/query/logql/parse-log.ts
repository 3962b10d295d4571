import type { CompareOp, LabelFilter, LineFilterOp, LogExpr, Matcher, MatchOp, Stage } from './ast.js';
import type { Cursor } from './cursor.js';
import { compileTemplate } from './template.js';
import { checkRegex } from './regex.js';
import { matchesValue } from './matcher.js';

const MATCH_OPS = new Set(['=', '!=', '=~', '!~']);
const LINE_FILTER_OPS = new Set(['|=', '!=', '|~', '!~']);
const COMPARE_OPS = new Set(['==', '!=', '>', '>=', '<', '<=', '=']);
/** Stages Loki has and logagg does not, named in the 400 they get. */
const UNSUPPORTED_STAGES = new Set(['regexp', 'pattern', 'unpack', 'label_format', 'decolorize', 'unwrap', 'logfmt_flags']);

/** `{name op "value", ...}` followed by its pipeline. */
export function parseLogExpr(c: Cursor): LogExpr {
  const pos = c.peek().pos;
  const selector = parseSelector(c);
  return { kind: 'log', selector, stages: parseStages(c), pos };
}

export function parseSelector(c: Cursor): Matcher[] {
  const open = c.expectOp('{');
  const matchers: Matcher[] = [];
  if (c.isOp('}')) throw c.unexpected('expecting a label matcher');
  for (;;) {
    const matcher = parseMatcher(c);
    // The store anchors a stream label regex inside its own group, where PostgreSQL takes no (?i).
    if ((matcher.op === '=~' || matcher.op === '!~') && /^\(\?[is]*i/.test(matcher.value)) {
      throw c.unsupported('(?i) in a stream selector regex (use it in a line filter or label filter)', matcher.pos);
    }
    matchers.push(matcher);
    if (c.isOp(',')) {
      c.next();
      continue;
    }
    c.expectOp('}');
    break;
  }
  // Loki refuses a selector every stream would match (pkg/logql/syntax: "queries require at least one regexp or
  // equality matcher that does not have an empty-compatible value").
  if (!matchers.some((m) => (m.op === '=' || m.op === '=~') && !matchesValue(m, ''))) {
    throw c.fail(
      'queries require at least one regexp or equality matcher that does not have an empty-compatible value. ' +
        'For instance, app=~".*" does not meet this requirement, but app=~".+" will',
      open.pos,
    );
  }
  return matchers;
}

function parseMatcher(c: Cursor): Matcher {
  const name = c.expectKind('ident', 'a label name');
  const op = c.peek();
  if (op.kind !== 'op' || !MATCH_OPS.has(op.text)) throw c.unexpected('expecting =, !=, =~ or !~');
  c.next();
  const value = c.expectKind('string', 'a quoted value');
  const matcher: Matcher = { name: name.text, op: op.text as MatchOp, value: value.text, pos: name.pos };
  if (matcher.op === '=~' || matcher.op === '!~') checkRegex(c, value.text, value.pos);
  return matcher;
}

export function parseStages(c: Cursor): Stage[] {
  const stages: Stage[] = [];
  for (;;) {
    const token = c.peek();
    if (token.kind !== 'op') return stages;
    if (LINE_FILTER_OPS.has(token.text)) {
      stages.push(parseLineFilter(c));
    } else if (token.text === '|>' || token.text === '!>') {
      throw c.unsupported(`the pattern line filter ${token.text}`, token.pos);
    } else if (token.text === '|') {
      c.next();
      stages.push(parsePipeStage(c));
    } else {
      return stages;
    }
  }
}

function parseLineFilter(c: Cursor): Stage {
  const op = c.next();
  const values: string[] = [];
  for (;;) {
    if (c.isIdent('ip') && c.isOp('(', 1)) throw c.unsupported('the ip() line filter', c.peek().pos);
    const value = c.expectKind('string', 'a quoted string');
    if (op.text === '|~' || op.text === '!~') checkRegex(c, value.text, value.pos);
    values.push(value.text);
    if (!(c.isIdent('or') && c.peek(1).kind === 'string')) break;
    c.next();
  }
  return { kind: 'lineFilter', op: op.text as LineFilterOp, values, pos: op.pos };
}

function parsePipeStage(c: Cursor): Stage {
  const token = c.peek();
  if (token.kind !== 'ident') {
    if (c.isOp('(')) return { kind: 'labelFilter', filter: parseLabelFilter(c), pos: token.pos };
    throw c.unexpected('expecting a parser, a label filter, line_format, drop or keep');
  }
  const name = token.text.toLowerCase();
  if ((name === 'json' || name === 'logfmt') && !isComparison(c, 1)) {
    c.next();
    const after = c.peek();
    if (after.kind === 'ident' && !c.isIdent('offset')) throw c.unsupported(`| ${name} with parameters`, after.pos);
    if (c.isOp('-')) throw c.unsupported(`| ${name} with flags`, after.pos);
    return { kind: name, pos: token.pos };
  }
  if (name === 'line_format' && !isComparison(c, 1)) {
    c.next();
    const template = c.expectKind('string', 'a quoted template');
    return { kind: 'lineFormat', template: compileTemplate(c, template.text, template.pos), pos: token.pos };
  }
  if ((name === 'drop' || name === 'keep') && !isComparison(c, 1)) {
    c.next();
    return { kind: name, items: parseNamedMatchers(c), pos: token.pos };
  }
  if (UNSUPPORTED_STAGES.has(name) && !isComparison(c, 1)) throw c.unsupported(`| ${token.text}`, token.pos);
  return { kind: 'labelFilter', filter: parseLabelFilter(c), pos: token.pos };
}

function isComparison(c: Cursor, ahead: number): boolean {
  const token = c.peek(ahead);
  return token.kind === 'op' && (COMPARE_OPS.has(token.text) || token.text === '=~' || token.text === '!~');
}

function parseNamedMatchers(c: Cursor): Array<{ name: string; matcher?: Matcher }> {
  const items: Array<{ name: string; matcher?: Matcher }> = [];
  for (;;) {
    if (isComparison(c, 1)) {
      const matcher = parseMatcher(c);
      items.push({ name: matcher.name, matcher });
    } else {
      items.push({ name: c.expectKind('ident', 'a label name').text });
    }
    if (!c.isOp(',')) return items;
    c.next();
    if (c.peek().kind !== 'ident') throw c.unexpected('expecting a label name');
  }
}

/** Label filters: `or` binds loosest; `and`, `,` and plain juxtaposition all mean and (Loki's grammar). */
function parseLabelFilter(c: Cursor): LabelFilter {
  c.enter(c.peek().pos);
  let left = parseAndFilter(c);
  while (c.isIdent('or')) {
    const pos = c.next().pos;
    left = { kind: 'or', left, right: parseAndFilter(c), pos };
  }
  c.leave();
  return left;
}

function parseAndFilter(c: Cursor): LabelFilter {
  let left = parseFilterAtom(c);
  for (;;) {
    const pos = c.peek().pos;
    if (c.isIdent('and') || (c.isOp(',') && (c.peek(1).kind === 'ident' || c.isOp('(', 1)))) {
      c.next();
    } else if (!((c.peek().kind === 'ident' && isComparison(c, 1)) || c.isOp('('))) {
      return left;
    }
    left = { kind: 'and', left, right: parseFilterAtom(c), pos };
  }
}

function parseFilterAtom(c: Cursor): LabelFilter {
  if (c.isOp('(')) {
    c.next();
    const inner = parseLabelFilter(c);
    c.expectOp(')');
    return inner;
  }
  const name = c.expectKind('ident', 'a label name');
  const op = c.peek();
  if (op.kind !== 'op' || !(COMPARE_OPS.has(op.text) || MATCH_OPS.has(op.text))) throw c.unexpected('expecting a comparison');
  c.next();
  const value = c.peek();
  if (c.isIdent('ip') && c.isOp('(', 1)) throw c.unsupported('the ip() label filter', value.pos);
  if (value.kind === 'string' && MATCH_OPS.has(op.text)) {
    c.next();
    const matcher: Matcher = { name: name.text, op: op.text as MatchOp, value: value.text, pos: name.pos };
    if (matcher.op === '=~' || matcher.op === '!~') checkRegex(c, value.text, value.pos);
    return { kind: 'string', matcher, pos: name.pos };
  }
  if (op.text === '=~' || op.text === '!~') throw c.unexpected('expecting a quoted regular expression');
  const compare = (op.text === '=' ? '==' : op.text) as CompareOp;
  let sign = 1;
  if ((c.isOp('-') || c.isOp('+')) && c.peek(1).kind === 'number') sign = c.next().text === '-' ? -1 : 1;
  const literal = c.peek();
  if (literal.kind === 'number' || literal.kind === 'duration' || literal.kind === 'bytes') {
    c.next();
    return { kind: literal.kind, name: name.text, op: compare, value: sign * (literal.value as number), pos: name.pos };
  }
  throw c.unexpected('expecting a quoted string, a number, a duration or a byte size');
}
