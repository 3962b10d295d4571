/**
 * A condition on stored events: what the search syntax (`q=`) and LogQL's stream selectors and line filters
 * compile to, and what the store turns into SQL. One shape for both languages, so both run on the same indexes.
 */
export type Predicate =
  | { kind: 'all'; of: readonly Predicate[] }
  | { kind: 'any'; of: readonly Predicate[] }
  | { kind: 'not'; of: Predicate }
  /**
   * The event's line (src/query/line.ts): holds a whole word (`word`: its words, src/query/words.ts, in that order,
   * ignoring case) or a word starting with one (`prefix`), contains a text (case-sensitive or not), or matches a regex.
   */
  | { kind: 'line'; op: LineOp; value: string }
  /** topic or source: equal to, or (whole value) matching a regex. */
  | { kind: 'label'; name: 'topic' | 'source'; op: 'eq' | 'regex'; value: string }
  /** A payload JSON path (`['user', 'id']`): equal (as text, case-insensitive or not) or compared as a number. */
  | { kind: 'field'; path: readonly string[]; op: FieldOp; value: string };

export type LineOp = 'word' | 'prefix' | 'contains' | 'icontains' | 'regex' | 'iregex';
export type FieldOp = 'eq' | 'ieq' | 'lt' | 'le' | 'gt' | 'ge';
