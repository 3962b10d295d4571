/** Durations as LogQL writes them, in nanoseconds. */

const PROM_UNITS_NS: ReadonlyArray<[string, number]> = [
  ['y', 365 * 24 * 3600e9],
  ['w', 7 * 24 * 3600e9],
  ['d', 24 * 3600e9],
  ['h', 3600e9],
  ['m', 60e9],
  ['s', 1e9],
  ['ms', 1e6],
];
const PROM_DURATION = /^(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?$/;
const GO_UNITS_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const GO_PART = /([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Prometheus' model.ParseDuration: `1h30m`, `5m`, `90s`, `250ms`, `2d`, `1w`, `1y`, or `0`. */
export function parsePromDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const match = text === '' ? null : PROM_DURATION.exec(text);
  if (!match) return undefined;
  let ns = 0;
  PROM_UNITS_NS.forEach(([, unit], index) => {
    const digits = match[index + 1];
    if (digits !== undefined) ns += Number(digits) * unit;
  });
  return ns;
}

/** Go's time.ParseDuration: `1.5s`, `250ms`, `2h45m`, `-1m`, or `0`. */
export function parseGoDuration(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  GO_PART.lastIndex = 0;
  let ns = 0;
  while (GO_PART.lastIndex < rest.length) {
    const match = GO_PART.exec(rest);
    if (!match) return undefined;
    ns += Number(match[1]) * (GO_UNITS_NS[match[2] as string] as number);
  }
  return sign * ns;
}

/**
 * A duration token: Loki's lexer tries Prometheus' syntax, then Go's (pkg/logql/syntax/lex.go); inside `[range]`
 * only Prometheus' (`promOnly`).
 */
export function parseLokiDuration(text: string, promOnly: boolean): number | undefined {
  return parsePromDuration(text) ?? (promOnly ? undefined : parseGoDuration(text));
}
