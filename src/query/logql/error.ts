import { LogaggError } from '../../errors.js';

export type LogqlErrorKind = 'parse' | 'unsupported';

/** Line and column (1-based, in characters) of an offset, as Loki's parse errors name them. */
export function lineCol(query: string, offset: number): { line: number; col: number } {
  const before = query.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - (before.lastIndexOf('\n') + 1) + 1 };
}

/**
 * A query logagg will not answer: bad syntax (LOGQL_INVALID) or a part outside the supported subset
 * (LOGQL_UNSUPPORTED). The message reads like Loki's ("parse error at line 1, col 12: ..."); details give the
 * offset too, so a client can point at it.
 */
export class LogqlError extends LogaggError {
  constructor(kind: LogqlErrorKind, message: string, offset: number, query: string) {
    const { line, col } = lineCol(query, offset);
    const prefix = kind === 'parse' ? 'parse error' : 'unsupported';
    super(kind === 'parse' ? 'LOGQL_INVALID' : 'LOGQL_UNSUPPORTED', {
      message: `${prefix} at line ${line}, col ${col}: ${message}`,
      details: [{ offset, line, col }],
    });
  }
}
