import type { Cursor } from './cursor.js';

/**
 * LogQL regexes are Go RE2; logagg runs them in JavaScript (pipelines) and PostgreSQL (pushed-down filters), whose
 * dialects differ. So a regex is accepted only within a subset all three read alike, and rewritten into it:
 * shorthand classes become explicit ASCII classes (RE2's \s, \w and \d are ASCII-only; JavaScript's \s is not),
 * stray `{`, `}` and `]` become escaped literals (RE2 reads them as literals; JavaScript's unicode mode refuses
 * them). Anything else RE2 has and the others read differently (\b, \A, \z, \pN, [[:alpha:]], (?P<name>), flags
 * other than a leading (?i) or (?s)) is refused with a 400, never run with another meaning.
 */
export interface PortableRegex {
  /** The rewritten pattern, without the leading flags group. */
  body: string;
  caseInsensitive: boolean;
}

const SHORTHAND: Record<string, string> = { d: '0-9', w: '0-9A-Za-z_', s: '\\t\\n\\f\\r ' };
const CONTROL_ESCAPES = new Set(['t', 'n', 'r', 'f', 'v']);
const JS_SYNTAX = new Set([...'^$\\.*+?()[]{}|/']);
const QUANTIFIER = /^\{[0-9]{1,4}(?:,[0-9]{0,4})?\}/;

export class RegexError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly unsupported: boolean,
  ) {
    super(message);
  }
}

export function portableRegex(source: string): PortableRegex {
  const flags = /^\(\?([is]+)\)/.exec(source);
  let i = flags ? flags[0].length : 0;
  let body = '';
  let inClass = false;
  // Per open group: whether it holds a quantifier. A repeated group that holds one ((a+)+, (\w*)*) can take
  // exponential time in JavaScript's backtracking engine, where RE2 is linear: such a regex is refused.
  const groups: boolean[] = [];
  let closedRepeating = false;
  const repeat = (at: number): void => {
    if (closedRepeating) refuse('a repeated group that itself repeats (it could run in exponential time)', at);
    if (groups.length > 0) groups[groups.length - 1] = true;
  };
  const refuse = (what: string, at: number): never => {
    throw new RegexError(`${what} in a regular expression`, at, true);
  };
  while (i < source.length) {
    const ch = source[i] as string;
    const afterGroup = closedRepeating;
    closedRepeating = false;
    if (ch === '\\') {
      const e = source[i + 1];
      if (e === undefined) throw new RegexError('trailing \\ in a regular expression', i, false);
      const shorthand = SHORTHAND[e.toLowerCase()];
      if (shorthand !== undefined) {
        const negated = e !== e.toLowerCase();
        if (negated && inClass) refuse(`\\${e} inside [...]`, i);
        body += inClass ? shorthand : `[${negated ? '^' : ''}${shorthand}]`;
      } else if (CONTROL_ESCAPES.has(e) || JS_SYNTAX.has(e) || (inClass && e === '-')) {
        body += `\\${e}`;
      } else if (!/[0-9A-Za-z]/.test(e)) {
        // JavaScript's unicode mode refuses `\:` and the like; the character itself means the same everywhere.
        body += e;
      } else {
        refuse(`the escape \\${e}`, i);
      }
      i += 2;
      continue;
    }
    if (inClass) {
      if (ch === '[' && source[i + 1] === ':') refuse('a [:class:]', i);
      if (ch === ']') inClass = false;
      body += ch;
      i++;
      continue;
    }
    if (ch === '[') {
      inClass = true;
      body += ch;
      i++;
      if (source[i] === '^') body += source[i++];
      // RE2 and PostgreSQL read a `]` right after the opening as a literal; JavaScript would end the class.
      if (source[i] === ']') {
        body += '\\]';
        i++;
      }
      continue;
    }
    if (ch === '(') {
      if (source[i + 1] === '?' && source[i + 2] !== ':') refuse('a (?...) group other than (?:...)', i);
      groups.push(false);
    } else if (ch === ')') {
      const inner = groups.pop() ?? false;
      if (inner && groups.length > 0) groups[groups.length - 1] = true;
      body += ch;
      i++;
      closedRepeating = inner;
      continue;
    } else if (ch === '*' || ch === '+') {
      closedRepeating = afterGroup;
      repeat(i);
      closedRepeating = false;
    } else if (ch === '{') {
      const quantifier = QUANTIFIER.exec(source.slice(i));
      if (quantifier && body !== '') {
        if (quantifier[0].split(/[{},]/).some((n) => Number(n) > 1000)) throw new RegexError('invalid repeat count', i, false);
        closedRepeating = afterGroup;
        repeat(i);
        closedRepeating = false;
        body += quantifier[0];
        i += quantifier[0].length;
        continue;
      }
      body += '\\{';
      i++;
      continue;
    } else if (ch === '}' || ch === ']') {
      body += `\\${ch}`;
      i++;
      continue;
    }
    body += ch;
    i++;
  }
  if (inClass) throw new RegexError('missing closing ] in a regular expression', source.length, false);
  try {
    new RegExp(body, 'su');
  } catch (err) {
    throw new RegexError(`invalid regular expression: ${(err as Error).message}`, 0, false);
  }
  return { body, caseInsensitive: flags !== null && (flags[1] as string).includes('i') };
}

/** Refuses, at parse time, a regex outside the portable subset (the error points into the string token). */
export function checkRegex(c: Cursor, source: string, pos: number): void {
  try {
    portableRegex(source);
  } catch (err) {
    if (!(err instanceof RegexError)) throw err;
    throw err.unsupported ? c.unsupported(err.message, pos) : c.fail(`error parsing regexp: ${err.message}`, pos);
  }
}

/** A JavaScript RegExp with RE2's meaning: `.` matches a newline (Loki's line filters and Prometheus' matchers). */
export function jsRegex(source: string, anchored: boolean): RegExp {
  const { body, caseInsensitive } = portableRegex(source);
  return new RegExp(anchored ? `^(?:${body})$` : body, caseInsensitive ? 'sui' : 'su');
}
