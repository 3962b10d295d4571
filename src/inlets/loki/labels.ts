/**
 * Loki stream labels: the `{name="value", ...}` string of the protobuf push (Loki parses it as a LogQL stream
 * selector with only `=` matchers), and the checks both encodings share.
 */

export class LabelError extends Error {}

/** Label names Loki accepts (Prometheus' legacy rule); other names are refused, as Loki refuses them. */
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const NAME_START = /[a-zA-Z_]/;
const NAME_PART = /[a-zA-Z0-9_]/;
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
const HEX = /^[0-9a-fA-F]+$/;

/**
 * Reads a quoted value at `text[start]` (the opening quote) the way Go's strconv.Unquote does: "..." and '...' with
 * escapes (\n, \", \xHH, \ooo, \uHHHH, \UHHHHHHHH), `...` raw. \x and octal escapes are bytes, so a run of them is
 * decoded as UTF-8 (strictly: bytes that are not UTF-8 are refused, not replaced).
 */
function readQuoted(text: string, start: number): { value: string; end: number } {
  const quote = text[start];
  if (quote !== '"' && quote !== "'" && quote !== '`') throw new LabelError(`expected a quoted value at offset ${start}`);
  let value = '';
  let bytes: number[] = [];
  const flushBytes = (): void => {
    if (bytes.length === 0) return;
    try {
      value += utf8.decode(Uint8Array.from(bytes));
    } catch {
      throw new LabelError('a label value escapes bytes that are not UTF-8');
    }
    bytes = [];
  };
  let i = start + 1;
  for (;;) {
    if (i >= text.length) throw new LabelError('a label value has no closing quote');
    const c = text[i] as string;
    if (c === quote) {
      flushBytes();
      return { value, end: i + 1 };
    }
    if (c !== '\\' || quote === '`') {
      if (c === '\n' && quote !== '`') throw new LabelError('a quoted label value holds a raw newline');
      flushBytes();
      value += c;
      i++;
      continue;
    }
    const e = text[i + 1];
    if (e === undefined) throw new LabelError('a label value ends in a backslash');
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      flushBytes();
      value += simple;
      i += 2;
    } else if (e === 'x' || (e >= '0' && e <= '7')) {
      const digits = e === 'x' ? text.slice(i + 2, i + 4) : text.slice(i + 1, i + 4);
      const byte =
        e === 'x'
          ? HEX.test(digits) && digits.length === 2
            ? parseInt(digits, 16)
            : NaN
          : /^[0-7]{3}$/.test(digits)
            ? parseInt(digits, 8)
            : NaN;
      if (!(byte <= 255)) throw new LabelError(`a label value has a bad escape at offset ${i}`);
      bytes.push(byte);
      i += 4;
    } else if (e === 'u' || e === 'U') {
      const width = e === 'u' ? 4 : 8;
      const digits = text.slice(i + 2, i + 2 + width);
      const code = digits.length === width && HEX.test(digits) ? parseInt(digits, 16) : NaN;
      if (!(code <= 0x10ffff) || (code >= 0xd800 && code <= 0xdfff)) throw new LabelError(`a label value has a bad escape at offset ${i}`);
      flushBytes();
      value += String.fromCodePoint(code);
      i += 2 + width;
    } else {
      throw new LabelError(`a label value has an unknown escape \\${e} at offset ${i}`);
    }
  }
}

/** Skips spaces, tabs and newlines (the LogQL lexer does too). */
function skipSpace(text: string, i: number): number {
  while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  return i;
}

/** Parses `{a="b", c="d"}` into its pairs in the order written; throws LabelError with where it broke. */
export function parseLabelString(text: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  let i = skipSpace(text, 0);
  if (text[i] !== '{') throw new LabelError('labels must start with "{"');
  i = skipSpace(text, i + 1);
  if (text[i] === '}') {
    i++;
  } else {
    for (;;) {
      if (!NAME_START.test(text[i] ?? '')) throw new LabelError(`expected a label name at offset ${i}`);
      const nameStart = i;
      while (i < text.length && NAME_PART.test(text[i] as string)) i++;
      const name = text.slice(nameStart, i);
      i = skipSpace(text, i);
      if (text[i] !== '=' || text[i + 1] === '~') throw new LabelError(`expected "=" after label ${name} (only = matchers name a stream)`);
      i = skipSpace(text, i + 1);
      const { value, end } = readQuoted(text, i);
      pairs.push([name, value]);
      i = skipSpace(text, end);
      if (text[i] === ',') {
        i = skipSpace(text, i + 1);
        // LogQL allows a trailing comma before "}".
        if (text[i] === '}') {
          i++;
          break;
        }
        continue;
      }
      if (text[i] === '}') {
        i++;
        break;
      }
      throw new LabelError(`expected "," or "}" at offset ${i}`);
    }
  }
  if (skipSpace(text, i) !== text.length) throw new LabelError('text after the closing "}"');
  return pairs;
}

/**
 * The checks Loki makes on a stream's labels: at least one, names it accepts, no name twice. Returns them sorted
 * by name: the canonical order, so `{a="1",b="2"}` and `{b="2",a="1"}` (and the JSON form of either) are one stream.
 */
export function checkLabels(pairs: Array<[string, string]>): Array<[string, string]> {
  if (pairs.length === 0) throw new LabelError('a stream needs at least one label');
  const sorted = [...pairs].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  for (let i = 0; i < sorted.length; i++) {
    const name = (sorted[i] as [string, string])[0];
    if (!LABEL_NAME.test(name))
      throw new LabelError(`label name "${name}" is not valid (letters, digits and _, not starting with a digit)`);
    if (i > 0 && (sorted[i - 1] as [string, string])[0] === name) throw new LabelError(`label ${name} appears twice`);
  }
  return sorted;
}
