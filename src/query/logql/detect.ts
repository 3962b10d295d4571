import { parseGoDuration } from './duration.js';
import { parseJsonLine, parseLogfmtLine } from './parsers.js';
import type { ScannedEntry } from './scan.js';
import { STREAM_LABELS } from './stream.js';

/**
 * What Grafana Logs Drilldown asks of sampled entries (grafana/loki pkg/querier/queryrange/detected_fields.go and
 * pkg/querier/querier.go): the fields a sample of lines holds, and which stream labels are worth a tab.
 */

export type FieldType = 'int' | 'float' | 'boolean' | 'duration' | 'bytes' | 'string';

export interface DetectedField {
  label: string;
  type: FieldType;
  cardinality: number;
  /** null for structured metadata (no parser read it), as Loki answers. */
  parsers: string[] | null;
  /** The JSON keys a json-parsed field was read from, as written. */
  jsonPath?: string[];
}

const INT64 = 2n ** 63n;
const FLOAT = /^[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)$/i;
const BOOL = new Set(['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False']);
/** go-humanize's ParseBytes: a number (digits, '.', ','; commas dropped), then one of its units or none. */
const BYTES = /^([0-9.,]+)\s*(?:b|kib|kb|mib|mb|gib|gb|tib|tb|pib|pb|eib|eb|ki|k|mi|m|gi|g|ti|t|pi|p|ei|e)?\s*$/i;

function isBytes(value: string): boolean {
  const number = BYTES.exec(value)?.[1]?.replace(/,/g, '');
  return number !== undefined && /[0-9]/.test(number) && Number.isFinite(Number(number));
}

/** Loki's determineType: the first of int, float, boolean, duration, bytes that parses (Go's parsers), else string. */
export function fieldType(value: string): FieldType {
  if (/^[+-]?[0-9]+$/.test(value)) {
    const n = BigInt(value);
    if (n < INT64 && n >= -INT64) return 'int';
  }
  if (FLOAT.test(value)) return 'float';
  if (BOOL.has(value)) return 'boolean';
  if (parseGoDuration(value) !== undefined) return 'duration';
  if (isBytes(value)) return 'bytes';
  return 'string';
}

const SPECIAL = new Set(['__error__', '__error_details__', '__preserve_error__']);
const STREAM = new Set<string>(STREAM_LABELS);

/** The fields of one line: json if it reads as a JSON object, else logfmt (which never fails), as Loki tries them. */
function parseLine(line: string): { parser: 'json' | 'logfmt'; fields: Map<string, { value: string; path?: string[] }> } {
  const fields = new Map<string, { value: string; path?: string[] }>();
  // A key clashing with a stream label is renamed, as Loki's label builder (holding the stream labels) renames it.
  const name = (key: string) => (STREAM.has(key) ? `${key}_extracted` : key);
  const json = new Map<string, { value: string; path?: string[] }>();
  const fault = parseJsonLine(line, (key, value, path) => json.set(name(key), { value, ...(path ? { path: [...path] } : {}) }));
  if (fault === undefined) return { parser: 'json', fields: json };
  parseLogfmtLine(line, (key, value) => fields.set(name(key), { value }));
  return { parser: 'logfmt', fields };
}

interface EntryField {
  label: string;
  value: string;
  /** undefined for structured metadata. */
  parser: 'json' | 'logfmt' | undefined;
  path: string[] | undefined;
}

/** One entry's fields: its structured metadata, then its query's parsed labels and what json (else logfmt) reads. */
function entryFields(entry: ScannedEntry): EntryField[] {
  const out: EntryField[] = [];
  for (const [label, value] of entry.labels.metadata) out.push({ label, value, parser: undefined, path: undefined });
  const { parser, fields: parsed } = parseLine(entry.line);
  for (const [label, value] of entry.labels.parsed) if (!parsed.has(label)) parsed.set(label, { value });
  for (const [label, { value, path }] of parsed) {
    if (!SPECIAL.has(label)) out.push({ label, value, parser, path: parser === 'json' ? path : undefined });
  }
  return out;
}

/**
 * Loki's parseDetectedFields over entries newest first: each entry's structured metadata (parsers null), the labels
 * its query's parsers set, and what json (else logfmt) reads from its line. At most `limit` fields, the first found;
 * cardinality is the exact count of distinct values (Loki estimates it with a HyperLogLog sketch); the type is
 * re-detected at each entry, as Loki does, so it is the oldest sampled value's. Sorted by name (Loki's order is a
 * Go map's).
 */
export function detectFields(entries: readonly ScannedEntry[], limit: number): DetectedField[] {
  const fields = new Map<string, { values: Set<string>; type: FieldType; parsers: string[] | null; jsonPath?: string[] }>();
  const add = (label: string, value: string, parser: string | undefined, path: string[] | undefined) => {
    let field = fields.get(label);
    if (field === undefined) {
      if (fields.size >= limit) return;
      field = { values: new Set(), type: 'string', parsers: parser === undefined ? null : [] };
      fields.set(label, field);
    }
    field.values.add(value);
    field.type = fieldType(value);
    if (parser !== undefined) {
      field.parsers ??= [];
      if (!field.parsers.includes(parser)) field.parsers.push(parser);
    }
    if (path !== undefined) field.jsonPath = path;
  };
  for (const entry of entries) for (const field of entryFields(entry)) add(field.label, field.value, field.parser, field.path);
  return [...fields.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([label, field]) => ({
      label,
      type: field.type,
      cardinality: field.values.size,
      parsers: field.parsers,
      ...(field.jsonPath ? { jsonPath: field.jsonPath } : {}),
    }));
}

const HEX_UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/** The forms google/uuid's Parse takes: plain, urn:uuid:, {braced}, and 32 hex digits. */
const UUID = new RegExp(`^(?:(?:urn:uuid:)?${HEX_UUID}|\\{${HEX_UUID}\\}|[0-9a-f]{32})$`, 'i');

/**
 * Loki's shouldRejectLabel: a label is no use as a tab when it has no value, or when every value is an id (a number
 * or a UUID), unless its values are only 0 and 1 (a flag) and there are at most two.
 */
export function isIdLabel(values: readonly string[]): boolean {
  if (values.length === 0) return true;
  if (values.length <= 2 && values.every((v) => v === '0' || v === '1')) return false;
  return values.every((v) => FLOAT.test(v) || UUID.test(v));
}

const SI = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
const BYTE_UNITS = [
  'b',
  'kib',
  'kb',
  'mib',
  'mb',
  'gib',
  'gb',
  'tib',
  'tb',
  'pib',
  'pb',
  'eib',
  'eb',
  'ki',
  'k',
  'mi',
  'm',
  'gi',
  'g',
  'ti',
  't',
  'pi',
  'p',
  'ei',
  'e',
];
const MULTIPLIER: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, ki: 1024, kib: 1024 };
for (const [i, p] of ['m', 'g', 't', 'p', 'e'].entries()) {
  MULTIPLIER[p] = MULTIPLIER[`${p}b`] = 1000 ** (i + 2);
  MULTIPLIER[`${p}i`] = MULTIPLIER[`${p}ib`] = 1024 ** (i + 2);
}

/** go-humanize's Bytes (SI units, one decimal under 10) without its space: what Loki lists a byte size as. */
function humanBytes(value: string): string | undefined {
  const match = BYTES.exec(value);
  const number = match?.[1]?.replace(/,/g, '');
  if (match === null || number === undefined || !/[0-9]/.test(number)) return undefined;
  const unit = value.slice(match[1]?.length).trim().toLowerCase();
  // ParseBytes truncates to whole bytes.
  const bytes = Math.trunc(Number(number) * (MULTIPLIER[unit] ?? NaN));
  if (!Number.isFinite(bytes)) return undefined;
  if (bytes < 10) return `${Math.floor(bytes)}B`;
  const e = Math.min(Math.floor(Math.log(bytes) / Math.log(1000)), SI.length - 1);
  const scaled = Math.floor((bytes / 1000 ** e) * 10 + 0.5) / 10;
  return `${scaled < 10 ? scaled.toFixed(1) : scaled.toFixed(0)}${SI[e]}`;
}

/**
 * Loki's parseDetectedFieldValues: the distinct values of one field over entries newest first, stopping once
 * `limit` are found; a parsed value with a byte unit is listed as go-humanize writes it ("10KB" as "10kB").
 * Sorted (Loki's order is a Go map's).
 */
export function detectFieldValues(entries: readonly ScannedEntry[], name: string, limit: number): string[] {
  const values = new Set<string>();
  for (const entry of entries) {
    if (values.size >= limit) break;
    for (const field of entryFields(entry)) {
      if (field.label !== name) continue;
      const lower = field.value.toLowerCase();
      const bytes = field.parser !== undefined && BYTE_UNITS.some((unit) => lower.endsWith(unit)) ? humanBytes(field.value) : undefined;
      values.add(bytes ?? field.value);
    }
  }
  return [...values].sort();
}
