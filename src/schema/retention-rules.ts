/**
 * RETENTION_RULES: per-topic-pattern retention windows (docs/config.md, docs/operations.md "Retention rules").
 *
 * Syntax: comma-separated `[tenant@]pattern=window[/keywindow]`. A pattern is a topic name in which `*` stands for
 * any run of characters (none included, dots included); every other character is literal. A tenant name before the
 * first `@` keeps the rule to that tenant's topics (`*@` or none: every tenant's; a pattern for every tenant that
 * itself holds `@` is written after `*@`). The first rule whose pattern
 * matches a topic applies, in the order written; topics no rule matches take RETENTION / DEDUP_RETENTION. A window
 * is a duration (`30d`) or `forever`; the key window, when given, must be longer than the events window.
 *
 * Rules are kept as data (a tenant, a pattern and two windows): the statements resolve them per row.
 */
import { MAX_NAME_LENGTH } from './event.js';
import { isTenantName } from './keys.js';

export interface RetentionRule {
  /** The one tenant whose topics the rule covers; undefined: every tenant's. */
  tenant?: string | undefined;
  /** As written, `*` the only wildcard. */
  pattern: string;
  /** Events received longer ago are deleted; undefined: kept forever. */
  eventsMs: number | undefined;
  /** Keys outlive their events this long (> eventsMs); undefined: the key window is the events window. */
  keysMs: number | undefined;
}

/** A resolved window pair, for the rules and the default alike. */
export interface RetentionWindows {
  eventsMs: number | undefined;
  keysMs: number | undefined;
}

/** The glob as a SQL LIKE pattern (escape character `\`, PostgreSQL's default): `*` → `%`, `%` `_` `\` literal. */
export function likePattern(glob: string): string {
  return glob.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%');
}

/** Whether the glob matches the whole of `text`. */
export function globMatches(glob: string, text: string): boolean {
  const source = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&'))
    .join('[\\s\\S]*');
  return new RegExp(`^${source}$`, 'u').test(text);
}

/** The windows a tenant's topic gets: the first rule matching it, else the default. */
export function windowsFor(
  topic: string,
  rules: readonly RetentionRule[],
  fallback: RetentionWindows,
  tenant = 'default',
): RetentionWindows {
  const rule = rules.find((r) => (r.tenant === undefined || r.tenant === tenant) && globMatches(r.pattern, topic));
  return rule ? { eventsMs: rule.eventsMs, keysMs: rule.keysMs } : fallback;
}

/**
 * Parses RETENTION_RULES; each problem names the rule (its position and text). `duration` is the config's parser,
 * so rules and RETENTION read durations alike.
 */
export function parseRetentionRules(
  text: string,
  duration: (text: string) => number | undefined,
): { rules: RetentionRule[]; problems: string[] } {
  const rules: RetentionRule[] = [];
  const problems: string[] = [];
  const window = (value: string): number | undefined | 'bad' => (value === 'forever' ? undefined : (duration(value) ?? 'bad'));
  const entries = text.split(',').map((entry) => entry.trim());
  if (entries.every((entry) => entry === '')) return { rules, problems };
  entries.forEach((entry, index) => {
    const problem = (why: string) => problems.push(`RETENTION_RULES rule ${index + 1} ("${entry}"): ${why}`);
    const eq = entry.lastIndexOf('=');
    if (eq < 0) return problem('must be pattern=window, e.g. debug.*=3d or payments.*=400d/800d');
    const scoped = entry.slice(0, eq).trim();
    const atSign = scoped.indexOf('@');
    const prefix = atSign > 0 ? scoped.slice(0, atSign) : '';
    const hasTenant = prefix === '*' || isTenantName(prefix);
    const tenant = hasTenant && prefix !== '*' ? prefix : undefined;
    const pattern = hasTenant ? scoped.slice(atSign + 1).trim() : scoped;
    const [eventsText = '', keysText, extra] = entry
      .slice(eq + 1)
      .split('/')
      .map((part) => part.trim());
    if (pattern === '') return problem('the pattern is empty (use * for every topic)');
    if (pattern.length > MAX_NAME_LENGTH || pattern.includes('\u0000')) {
      return problem(`a pattern is a topic name of at most ${MAX_NAME_LENGTH} characters, * the only wildcard`);
    }
    if (extra !== undefined) return problem('at most two windows: events/keys');
    const eventsMs = window(eventsText);
    if (eventsMs === 'bad') return problem(`the window must be a duration like 30d, 12h, 90m or 45s, or "forever"; got "${eventsText}"`);
    let keysMs: number | undefined;
    if (keysText !== undefined) {
      if (eventsMs === undefined) return problem('a forever rule keeps its keys forever: drop the key window');
      const keys = window(keysText);
      if (keys === 'bad' || keys === undefined) {
        return problem(`the key window must be a duration like 400d (at most 100 years); got "${keysText}"`);
      }
      if (keys <= eventsMs) {
        return problem('the key window must be longer than the events window (the keys outlive the payloads); drop it for an equal window');
      }
      keysMs = keys;
    }
    const shadow = rules.findIndex(
      (earlier) => (earlier.tenant === undefined || earlier.tenant === tenant) && globMatches(earlier.pattern, pattern),
    );
    if (shadow >= 0) {
      // The earlier glob matches this pattern's own text, so it matches every topic this one does: first match wins.
      const earlier = rules[shadow];
      const named = earlier?.tenant === undefined ? earlier?.pattern : `${earlier.tenant}@${earlier.pattern}`;
      return problem(`never applies: the earlier rule "${named}" matches every topic it matches (the first match wins)`);
    }
    rules.push(tenant === undefined ? { pattern, eventsMs, keysMs } : { tenant, pattern, eventsMs, keysMs });
  });
  return { rules, problems };
}

/** Whether any window keeps keys longer than events: the batch statement must then claim keys in event_keys. */
export function needsKeyTable(rules: readonly RetentionRule[], fallback: RetentionWindows): boolean {
  return fallback.keysMs !== undefined || rules.some((rule) => rule.keysMs !== undefined);
}

/** Whether any topic can have a finite window: the retention job has work to do. */
export function anyExpiry(rules: readonly RetentionRule[], fallback: RetentionWindows): boolean {
  return fallback.eventsMs !== undefined || rules.some((rule) => rule.eventsMs !== undefined);
}

/** One line per rule for the start-up log: `payments.*=400d/800d` style, with the default last. */
export function describeRules(rules: readonly RetentionRule[], fallback: RetentionWindows): string[] {
  const show = (ms: number | undefined): string => {
    if (ms === undefined) return 'forever';
    for (const [unit, size] of [
      ['d', 86_400_000],
      ['h', 3_600_000],
      ['m', 60_000],
    ] as const) {
      if (ms % size === 0) return `${ms / size}${unit}`;
    }
    return `${ms / 1000}s`;
  };
  const line = (pattern: string, w: RetentionWindows) =>
    `${pattern}=${show(w.eventsMs)}${w.keysMs === undefined ? '' : `/${show(w.keysMs)}`}`;
  return [
    ...rules.map((rule) => line(rule.tenant === undefined ? rule.pattern : `${rule.tenant}@${rule.pattern}`, rule)),
    line('(default)', fallback),
  ];
}
