import { LEVEL_ALIASES, LEVEL_FIELDS } from '../query/logql/stream.js';

/* An event's detected_level in SQL (src/query/logql/stream.ts says which fields, in which order): src/store/logql-sql.ts. */

const quote = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** A level-like text → detected_level (LEVEL_ALIASES, ignoring case), else 'unknown'. */
function aliasCase(text: string): string {
  const whens = Object.entries(LEVEL_ALIASES).map(([alias, level]) => `WHEN ${quote(alias)} THEN ${quote(level)}`);
  return `CASE lower(${text}) ${whens.join(' ')} ELSE 'unknown' END`;
}

// Numbers are read only when short decimals, so a hostile payload (1e100000) can never fail the cast.
const SHORT_NUMBER = `'^-?[0-9]{1,15}(\\.[0-9]{1,15})?$'`;

/** pino's numeric levels: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal. */
function pinoCase(text: string): string {
  return `CASE WHEN ${text} !~ ${SHORT_NUMBER} THEN 'unknown' WHEN ${text}::numeric <= 10 THEN 'trace'
    WHEN ${text}::numeric <= 20 THEN 'debug' WHEN ${text}::numeric <= 30 THEN 'info' WHEN ${text}::numeric <= 40 THEN 'warn'
    WHEN ${text}::numeric <= 50 THEN 'error' ELSE 'fatal' END`;
}

/** OpenTelemetry's SeverityNumber: 1–4 trace, 5–8 debug, 9–12 info, 13–16 warn, 17–20 error, 21–24 fatal. */
function otlpCase(text: string): string {
  return `CASE WHEN ${text} !~ ${SHORT_NUMBER} THEN 'unknown' WHEN ${text}::numeric < 1 THEN 'unknown'
    WHEN ${text}::numeric <= 4 THEN 'trace' WHEN ${text}::numeric <= 8 THEN 'debug' WHEN ${text}::numeric <= 12 THEN 'info'
    WHEN ${text}::numeric <= 16 THEN 'warn' WHEN ${text}::numeric <= 20 THEN 'error' WHEN ${text}::numeric <= 24 THEN 'fatal'
    ELSE 'unknown' END`;
}

/** detected_level of an event (src/query/logql/stream.ts says which fields, in which order). */
export const DETECTED_LEVEL_SQL = `CASE
  ${LEVEL_FIELDS.map((field) => {
    const value = `(payload ->> ${quote(field)})`;
    const type = `json_typeof(payload -> ${quote(field)})`;
    const numeric = field === 'level' || field === 'lvl' ? `WHEN ${type} = 'number' THEN ${pinoCase(value)}` : '';
    return `WHEN ${type} = 'string' THEN ${aliasCase(value)} ${numeric}`;
  }).join('\n  ')}
  WHEN json_typeof(payload -> 'severity_number') = 'number' THEN ${otlpCase(`(payload ->> 'severity_number')`)}
  ELSE 'unknown' END`;
