/*
 * Words of a line, as the full-text index splits them (migration 5, src/store/migrations/005-words.ts): a word is a
 * maximal run of characters that are not ASCII punctuation, spaces or controls (ASCII letters and digits and every
 * non-ASCII character), lowercased by the database. So `/api/v1/orders?id=7` holds the words api, v1, orders, id,
 * 7, and `user-42` the words user and 42. The rule reads ASCII only, so it is the same on both engines whatever
 * their locale, and this file can cut a needle exactly where the index cuts a line.
 */

/** The index cuts a run of word characters longer than this into pieces of this length (a lexeme is ≤ 2,047 bytes). */
export const WORD_CHUNK = 250;

/** Lines longer than this (characters) are indexed up to it and carry the LONG_LINE_LEXEME (a tsvector is ≤ 1 MiB). */
export const INDEXED_LINE_CHARS = 250_000;

/** A lexeme no line can hold (`~` separates words): marks a line whose end is not indexed. */
export const LONG_LINE_LEXEME = '~';

/** A character that separates words: ASCII other than letters and digits. */
export function isSeparator(c: string): boolean {
  const code = c.charCodeAt(0);
  return code < 0x80 && !/[0-9A-Za-z]/.test(c);
}

/** The runs of word characters in `text`, with where each starts and ends (end exclusive, UTF-16 offsets). */
export function wordRuns(text: string): Array<{ word: string; start: number; end: number }> {
  const runs: Array<{ word: string; start: number; end: number }> = [];
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const separator = i === text.length || isSeparator(text[i] as string);
    if (!separator && start < 0) start = i;
    else if (separator && start >= 0) {
      runs.push({ word: text.slice(start, i), start, end: i });
      start = -1;
    }
  }
  return runs;
}

/** Characters, not UTF-16 units: what the database's length() counts. */
const chars = (word: string): number => [...word].length;

/** Index terms a line must hold if it contains `needle`: whole words, and a word it begins with. */
export interface NeedleTerms {
  /** Words of the needle with a separator on both sides inside it: each is a whole word of any line containing it. */
  words: string[];
  /** The needle's last run when a separator precedes it and it ends the needle: a line holds a word starting with it. */
  prefix: string | undefined;
}

/** A prefix shorter than this matches too many words to narrow a search; it is left out. */
const MIN_PREFIX = 3;

/**
 * The terms of the index a line containing `needle` (as a substring) must hold, or undefined when none can be
 * derived: the first run of a needle that begins inside a word may be the end of a longer word, and a run that
 * touches both ends may be the middle of one, so neither is a term. Runs longer than WORD_CHUNK are left out.
 */
export function needleTerms(needle: string): NeedleTerms | undefined {
  const words: string[] = [];
  let prefix: string | undefined;
  for (const run of wordRuns(needle)) {
    if (chars(run.word) > WORD_CHUNK || run.start === 0) continue;
    if (run.end < needle.length) words.push(run.word);
    else if (chars(run.word) >= MIN_PREFIX) prefix = run.word;
  }
  return words.length === 0 && prefix === undefined ? undefined : { words: [...new Set(words)], prefix };
}

/** `text` itself when it is one run of word characters, short enough to be one lexeme; else undefined. */
export function singleWord(text: string): string | undefined {
  const runs = wordRuns(text);
  const [only] = runs;
  return runs.length === 1 && only?.start === 0 && only.end === text.length && chars(only.word) <= WORD_CHUNK ? only.word : undefined;
}
