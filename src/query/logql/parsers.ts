/**
 * `| json` and `| logfmt` as Loki runs them (grafana/loki pkg/logql/log/parser.go): labels are named from the
 * keys (nested JSON objects joined with `_`; characters other than [A-Za-z0-9_] become `_`; a leading digit gets
 * a `_`), values are the text (a JSON number as written, true/false; null and arrays are skipped). A line that is
 * not a JSON object sets __error__ to JSONParserErr, keeping what was read before the fault. logfmt is Loki's
 * default non-strict mode: it skips what it cannot read and sets no error, and drops empty values.
 */

/** `path`: the JSON keys the label was read from, as written (what Loki's detected fields report as jsonPath). */
export type SetLabel = (key: string, value: string, path?: readonly string[]) => void;

export function sanitizeKey(parts: readonly string[]): string {
  let out = '';
  for (const raw of parts) {
    const part = raw.trim();
    if (part === '') continue;
    if (out !== '') out += '_';
    if (out === '' && /^[0-9]/.test(part)) out += '_';
    for (const ch of part) out += /[A-Za-z0-9_]/.test(ch) ? ch : '_';
  }
  return out;
}

class JsonFault extends Error {}

/** Walks a JSON object, calling `set` for each scalar; returns an error message when the line is not one. */
export function parseJsonLine(line: string, set: SetLabel): string | undefined {
  let i = 0;
  const ws = (): void => {
    while (i < line.length && ' \t\n\r'.includes(line[i] as string)) i++;
  };
  const fault = (what: string): never => {
    throw new JsonFault(`${what} at offset ${i}`);
  };
  const rawString = (): string => {
    if (line[i] !== '"') fault('expected a string');
    const start = i;
    i++;
    while (i < line.length && line[i] !== '"') i += line[i] === '\\' ? 2 : 1;
    if (i >= line.length) fault('unterminated string');
    i++;
    return line.slice(start, i);
  };
  const decode = (raw: string): string => {
    try {
      return JSON.parse(raw) as string;
    } catch {
      return '';
    }
  };
  const skipValue = (depth: number): void => {
    if (depth > 256) fault('too deep');
    ws();
    const c = line[i];
    if (c === '"') rawString();
    else if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (line[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === '{') {
          ws();
          rawString();
          ws();
          if (line[i] !== ':') fault("expected ':'");
          i++;
        }
        skipValue(depth + 1);
        ws();
        if (line[i] === ',') i++;
        else if (line[i] === close) {
          i++;
          return;
        } else fault('expected , or a closing bracket');
      }
    } else scalar();
  };
  const scalar = (): { raw: string; kind: 'number' | 'true' | 'false' | 'null' } => {
    const match = /^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|true|false|null)/.exec(line.slice(i, i + 400));
    if (!match) return fault('unexpected character');
    i += match[0].length;
    const raw = match[0];
    return { raw, kind: raw === 'true' || raw === 'false' || raw === 'null' ? raw : 'number' };
  };
  const object = (prefix: string[], depth: number): void => {
    if (depth > 256) fault('too deep');
    ws();
    if (line[i] !== '{') fault('expected an object');
    i++;
    ws();
    if (line[i] === '}') {
      i++;
      return;
    }
    for (;;) {
      ws();
      const rawKey = rawString().slice(1, -1);
      ws();
      if (line[i] !== ':') fault("expected ':'");
      i++;
      ws();
      const c = line[i];
      const path = [...prefix, rawKey];
      if (c === '{') object(path, depth + 1);
      else if (c === '[') skipValue(depth + 1);
      else if (c === '"') {
        const value = decode(rawString());
        const key = sanitizeKey(path);
        if (key !== '') set(key, value, path);
      } else {
        const { raw, kind } = scalar();
        const key = sanitizeKey(path);
        if (key !== '' && kind !== 'null') set(key, raw, path);
      }
      ws();
      if (line[i] === ',') i++;
      else if (line[i] === '}') {
        i++;
        return;
      } else fault("expected ',' or '}'");
    }
  };
  try {
    object([], 0);
    return undefined;
  } catch (err) {
    if (err instanceof JsonFault) return err.message;
    throw err;
  }
}

/** Reads `key=value key="quoted value" bare` pairs, skipping what does not parse (Loki's non-strict logfmt). */
export function parseLogfmtLine(line: string, set: SetLabel): void {
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && line.charCodeAt(i) <= 32) i++;
    const keyStart = i;
    while (i < n && line.charCodeAt(i) > 32 && line[i] !== '=' && line[i] !== '"') i++;
    const key = line.slice(keyStart, i);
    if (key === '') {
      i++;
      continue;
    }
    if (line[i] !== '=') continue;
    i++;
    let value: string;
    if (line[i] === '"') {
      const start = i;
      i++;
      while (i < n && line[i] !== '"') i += line[i] === '\\' ? 2 : 1;
      if (i >= n) return;
      i++;
      try {
        value = JSON.parse(line.slice(start, i)) as string;
      } catch {
        continue;
      }
    } else {
      const start = i;
      while (i < n && line.charCodeAt(i) > 32 && line[i] !== '"' && line[i] !== '=') i++;
      value = line.slice(start, i);
    }
    const name = sanitizeKey([key]);
    if (name !== '' && value !== '') set(name, value);
  }
}
