import { LogaggError } from '../../errors.js';
import type { FieldOp, Predicate } from '../predicate.js';
import { singleWord } from '../words.js';

/*
 * The search syntax of `q=` (docs/query.md): terms separated by spaces, all of which must match.
 *   word          the line holds it as a whole word, ignoring case (words: src/query/words.ts)
 *   word*         the line holds a word starting with it, ignoring case
 *   "a phrase"    the line contains the phrase, ignoring case (\" and \\ inside quotes)
 *   -term         excludes what term matches (a word, a phrase or a field)
 *   name:value    a payload field (dotted path, `payload.` optional) equals value, ignoring case;
 *                 name:>n, >=n, <n, <=n compare it as a number; value may be "quoted"
 *   topic:x source:x   the event's topic or source is exactly x
 * A token whose part before the first `:` is not a field name (12:30, ::1) is a plain word.
 */

/** Characters a q may hold. */
export const MAX_QUERY_LENGTH = 1024;
/** Terms a q may hold: each is a condition on every candidate row. */
export const MAX_TERMS = 32;
const MAX_PATH_DEPTH = 16;

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_0-9][A-Za-z0-9_-]*)*$/;
const NUMBER = /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]{1,3})?$/;
const COMPARISONS: ReadonlyArray<[prefix: string, op: FieldOp]> = [
  ['>=', 'ge'],
  ['<=', 'le'],
  ['>', 'gt'],
  ['<', 'lt'],
];

/** A problem in q at a character position (0-based): INVALID_QUERY, the position in the message and details. */
function syntaxError(position: number, problem: string): LogaggError {
  return new LogaggError('INVALID_QUERY', {
    message: `Invalid q at position ${position}: ${problem}`,
    details: [{ parameter: 'q', position, message: problem }],
  });
}

class Scanner {
  pos = 0;
  constructor(readonly text: string) {}

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  skipSpace(): void {
    while (!this.done && /\s/.test(this.text[this.pos] as string)) this.pos++;
  }

  /** A quoted phrase starting at the opening quote; returns its text without quotes or escapes. */
  quoted(): string {
    const open = this.pos++;
    let value = '';
    while (!this.done) {
      const c = this.text[this.pos++] as string;
      if (c === '"') return value;
      if (c === '\\') {
        if (this.done) break;
        value += this.text[this.pos++];
      } else value += c;
    }
    throw syntaxError(open, 'the phrase opened here has no closing quote');
  }

  /** Characters up to the next space or quote. */
  bare(): string {
    const start = this.pos;
    while (!this.done && !/[\s"]/.test(this.text[this.pos] as string)) this.pos++;
    return this.text.slice(start, this.pos);
  }
}

function fieldTerm(name: string, rawValue: string, quoted: boolean, at: number): Predicate {
  if (name === 'topic' || name === 'source') return { kind: 'label', name, op: 'eq', value: rawValue };
  const path = (name.startsWith('payload.') ? name.slice('payload.'.length) : name).split('.');
  if (path.length > MAX_PATH_DEPTH) throw syntaxError(at, `a field path of at most ${MAX_PATH_DEPTH} names`);
  if (!quoted) {
    for (const [prefix, op] of COMPARISONS) {
      if (!rawValue.startsWith(prefix)) continue;
      const number = rawValue.slice(prefix.length);
      if (!NUMBER.test(number)) throw syntaxError(at, `${name}:${prefix} needs a number, not "${number}"`);
      return { kind: 'field', path, op, value: number };
    }
  }
  return { kind: 'field', path, op: 'ieq', value: rawValue };
}

/** A bare word: `stem*` completes a single word; anything else is a whole word (punctuation and all). */
function wordTerm(word: string): Predicate {
  const stem = word.endsWith('*') ? word.slice(0, -1) : undefined;
  if (stem !== undefined && singleWord(stem) !== undefined) return { kind: 'line', op: 'prefix', value: stem };
  return { kind: 'line', op: 'word', value: word };
}

/** One term at the scanner's position (after any `-`). */
function term(scan: Scanner): Predicate {
  const at = scan.pos;
  if (scan.text[scan.pos] === '"') {
    const phrase = scan.quoted();
    if (phrase === '') throw syntaxError(at, 'an empty phrase');
    return { kind: 'line', op: 'icontains', value: phrase };
  }
  const word = scan.bare();
  const colon = word.indexOf(':');
  const name = colon > 0 ? word.slice(0, colon) : '';
  if (!FIELD_NAME.test(name)) return wordTerm(word);
  let value = word.slice(colon + 1);
  let quoted = false;
  if (value === '' && scan.text[scan.pos] === '"') {
    value = scan.quoted();
    quoted = true;
  } else if (value !== '' && scan.text[scan.pos] === '"') {
    throw syntaxError(scan.pos, 'a quote inside a value: quote the whole value (name:"a b")');
  }
  if (value === '' && !quoted) throw syntaxError(at + colon + 1, `${name}: needs a value`);
  return fieldTerm(name, value, quoted, at + colon + 1);
}

/**
 * Parses q into a Predicate (every term must match), or undefined when q holds no term. Throws INVALID_QUERY
 * naming the position of the first problem.
 */
export function parseSearch(q: string): Predicate | undefined {
  if (q.length > MAX_QUERY_LENGTH) throw syntaxError(MAX_QUERY_LENGTH, `q is longer than ${MAX_QUERY_LENGTH} characters`);
  const nul = q.indexOf('\u0000');
  if (nul >= 0) throw syntaxError(nul, 'U+0000 is not allowed');
  const scan = new Scanner(q);
  const terms: Predicate[] = [];
  for (scan.skipSpace(); !scan.done; scan.skipSpace()) {
    const at = scan.pos;
    if (terms.length === MAX_TERMS) throw syntaxError(at, `more than ${MAX_TERMS} terms`);
    const negated = q[at] === '-' && at + 1 < q.length && !/\s/.test(q[at + 1] as string);
    if (negated) scan.pos++;
    else if (q[at] === '-') throw syntaxError(at, 'a lone "-": write -word to exclude a word');
    const predicate = term(scan);
    terms.push(negated ? { kind: 'not', of: predicate } : predicate);
  }
  if (terms.length === 0) return undefined;
  return terms.length === 1 ? terms[0] : { kind: 'all', of: terms };
}
