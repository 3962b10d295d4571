import { LogqlError } from './error.js';
import { parseLokiDuration } from './duration.js';

/**
 * LogQL tokens, read the way Loki's lexer reads them (grafana/loki pkg/logql/syntax/lex.go): Go string literals,
 * numbers that run into a duration (`5m`) or a byte size (`20KB`), `[range]` as one token, `#` comments.
 */
export type TokenKind = 'string' | 'number' | 'duration' | 'bytes' | 'range' | 'ident' | 'op' | 'eof';

export interface Token {
  kind: TokenKind;
  /** The source text (for a string: its decoded value; for op: the operator). */
  text: string;
  /** Offset of the first character in the query. */
  pos: number;
  /** number, duration (ns), bytes and range (ns) tokens. */
  value?: number;
}

// Longest first: `|=` before `|`, `!=` before `!`.
const OPERATORS = [
  '|=',
  '|~',
  '|>',
  '!=',
  '=~',
  '!~',
  '!>',
  '==',
  '>=',
  '<=',
  '{',
  '}',
  '(',
  ')',
  ',',
  '=',
  '|',
  '>',
  '<',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
];
const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;
const DIGIT = /[0-9]/;
const DURATION_RUNE = /[0-9.nuµmshdwy]/;
const BYTES_RUNE = /[0-9.BikKMGTP]/;
const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

export function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const c = query[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '#') {
      while (i < query.length && query[i] !== '\n') i++;
    } else if (c === '"' || c === '`') {
      const { value, end } = readString(query, i);
      tokens.push({ kind: 'string', text: value, pos: i });
      i = end;
    } else if (c === '[') {
      const close = query.indexOf(']', i);
      if (close === -1) throw new LogqlError('parse', "missing closing ']' in duration", i, query);
      const text = query.slice(i + 1, close);
      const ns = parseLokiDuration(text, true);
      if (ns === undefined) throw new LogqlError('parse', `not a valid duration string: "${text}"`, i + 1, query);
      tokens.push({ kind: 'range', text, pos: i, value: ns });
      i = close + 1;
    } else if (DIGIT.test(c) || (c === '.' && DIGIT.test(query[i + 1] ?? ''))) {
      const token = readNumberish(query, i);
      tokens.push(token);
      i = token.pos + token.text.length;
    } else if (IDENT_START.test(c)) {
      let end = i + 1;
      while (end < query.length && IDENT_PART.test(query[end] as string)) end++;
      tokens.push({ kind: 'ident', text: query.slice(i, end), pos: i });
      i = end;
    } else {
      const op = OPERATORS.find((candidate) => query.startsWith(candidate, i));
      if (op === undefined) throw new LogqlError('parse', `unexpected character ${JSON.stringify(c)}`, i, query);
      tokens.push({ kind: 'op', text: op, pos: i });
      i += op.length;
    }
  }
  tokens.push({ kind: 'eof', text: '', pos: query.length });
  return tokens;
}

/** A number, or a number that runs on into a duration or a byte size up to the next space (Loki's tryScan*). */
function readNumberish(query: string, start: number): Token {
  let end = start;
  while (end < query.length && /[0-9.]/.test(query[end] as string)) end++;
  if (/[eE]/.test(query[end] ?? '') && /[-+0-9]/.test(query[end + 1] ?? '')) {
    end += 2;
    while (end < query.length && DIGIT.test(query[end] as string)) end++;
  }
  const numberText = query.slice(start, end);
  for (const [kind, rune] of [
    ['duration', DURATION_RUNE],
    ['bytes', BYTES_RUNE],
  ] as const) {
    let stop = end;
    while (stop < query.length && rune.test(query[stop] as string)) stop++;
    if (stop === end) continue;
    const text = query.slice(start, stop);
    const value = kind === 'duration' ? parseLokiDuration(text, false) : parseBytes(text);
    if (value !== undefined) return { kind, text, pos: start, value };
  }
  const value = Number(numberText);
  if (!/^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/.test(numberText) || !Number.isFinite(value)) {
    throw new LogqlError('parse', `invalid number ${JSON.stringify(numberText)}`, start, query);
  }
  return { kind: 'number', text: numberText, pos: start, value };
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  ki: 1024,
  m: 1e6,
  mb: 1e6,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1e12,
  tb: 1e12,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
  p: 1e15,
  pb: 1e15,
  pi: 1024 ** 5,
  pib: 1024 ** 5,
};

/** A byte size as go-humanize's ParseBytes reads it ("20KB", "1.5 MiB", "42"); undefined when it is not one. */
export function parseBytes(text: string): number | undefined {
  const match = /^\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*$/.exec(text);
  if (!match) return undefined;
  const unit = BYTE_UNITS[(match[2] as string).toLowerCase()];
  if (unit === undefined) return undefined;
  return Math.floor(Number(match[1]) * unit);
}

/** A Go string literal at `start`: "..." with Go escapes, or `...` raw (Loki unquotes with strconv rules). */
function readString(query: string, start: number): { value: string; end: number } {
  const quote = query[start] as string;
  let value = '';
  let bytes: number[] = [];
  const flush = (at: number): void => {
    if (bytes.length === 0) return;
    try {
      value += new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
    } catch {
      throw new LogqlError('parse', 'invalid UTF-8 in a string', at, query);
    }
    bytes = [];
  };
  let i = start + 1;
  for (;;) {
    if (i >= query.length) throw new LogqlError('parse', 'literal not terminated', start, query);
    const c = query[i] as string;
    if (c === quote) {
      flush(i);
      return { value, end: i + 1 };
    }
    if (quote === '`' || c !== '\\') {
      if (c === '\n' && quote === '"') throw new LogqlError('parse', 'literal not terminated', start, query);
      flush(i);
      value += c;
      i++;
      continue;
    }
    const e = query[i + 1] ?? '';
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined && e !== "'") {
      flush(i);
      value += simple;
      i += 2;
    } else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(query.slice(i + 2, i + 4))) {
      bytes.push(parseInt(query.slice(i + 2, i + 4), 16));
      i += 4;
    } else if (/^[0-7]{3}$/.test(query.slice(i + 1, i + 4)) && parseInt(query.slice(i + 1, i + 4), 8) <= 255) {
      bytes.push(parseInt(query.slice(i + 1, i + 4), 8));
      i += 4;
    } else if (
      (e === 'u' || e === 'U') &&
      new RegExp(`^[0-9a-fA-F]{${e === 'u' ? 4 : 8}}$`).test(query.slice(i + 2, i + (e === 'u' ? 6 : 10)))
    ) {
      const width = e === 'u' ? 4 : 8;
      const code = parseInt(query.slice(i + 2, i + 2 + width), 16);
      if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw new LogqlError('parse', 'invalid syntax', i, query);
      flush(i);
      value += String.fromCodePoint(code);
      i += 2 + width;
    } else {
      throw new LogqlError('parse', 'invalid syntax', i, query);
    }
  }
}
