import { LogaggError } from '../errors.js';
import { LONG_LINE_LEXEME, needleTerms, singleWord, WORD_CHUNK, wordRuns, isSeparator } from '../query/words.js';

/*
 * Conditions on an event's line that run on the word index (migration 5; the words are src/query/words.ts). A
 * tsquery is written here from the term's words and bound as one text parameter that SQL lowercases with the same
 * lower() the index used, then casts: never parsed by the text-search parser, never part of the statement text. A
 * word holds no quote, backslash or other ASCII punctuation, so quoting it as a tsquery lexeme is always safe.
 */

/** An event's line (src/query/line.ts) in SQL: the IMMUTABLE function migration 4 creates. */
export const LINE_SQL = 'logagg_line(payload)';
/** Its words as migration 5 indexes them. */
export const WORDS_SQL = `logagg_words(${LINE_SQL})`;

/** A LIKE pattern matching `text` anywhere: its own %, _ and the escape character taken literally. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

type Bind = (value: unknown) => string;

/** tsquery text: all `words`, and a word starting with `prefix`; or, with `longLines`, any line longer than what is indexed. */
function tsquery(words: readonly string[], prefix: string | undefined, longLines: boolean): string {
  const terms = [...words.map((w) => `'${w}'`), ...(prefix === undefined ? [] : [`'${prefix}':*`])].join(' & ');
  return longLines ? `(${terms}) | '${LONG_LINE_LEXEME}'` : terms;
}

const matches = (query: string, bind: Bind): string => `(${WORDS_SQL} @@ lower(${bind(query)}::text)::tsquery)`;

/** PostgreSQL's regex (ARE) for separators: ASCII other than letters and digits (U+0000 cannot be in text). */
const SEPARATOR_CLASS = '[\\x01-\\x2f\\x3a-\\x40\\x5b-\\x60\\x7b-\\x7f]';

/** `text` as a literal ARE: a backslash before a non-alphanumeric ASCII character makes it literal. */
const literalRegex = (text: string): string => text.replace(/[^0-9A-Za-z\u0080-\uffff]/g, (c) => `\\${c}`);

/**
 * A search word (`q=`): the line holds it as a whole word, ignoring case. A single run of word characters is one
 * lexeme, answered by the index alone. A word with punctuation inside (`user-42`, `a.b@c.com`, `/api/v1`) is found
 * by its words through the index, then the line is checked for the text itself, with word boundaries at its ends.
 */
export function wordCondition(value: string, bind: Bind): string {
  const single = singleWord(value);
  if (single !== undefined) return matches(tsquery([single], undefined, false), bind);
  // A boundary is needed only where the word ends in a word character: `/api` may follow anything.
  const inWord = (c: string | undefined): boolean => c !== undefined && !isSeparator(c);
  const before = inWord(value[0]) ? `(^|${SEPARATOR_CLASS})` : '';
  const after = inWord(value[value.length - 1]) ? `($|${SEPARATOR_CLASS})` : '';
  const exact = `(${LINE_SQL} ~* ${bind(`${before}${literalRegex(value)}${after}`)}::text)`;
  const words = [...new Set(wordRuns(value).map((run) => run.word))].filter((w) => [...w].length <= WORD_CHUNK);
  return words.length === 0 ? exact : `(${matches(tsquery(words, undefined, true), bind)} AND ${exact})`;
}

/** `word*` in a search: the line holds a word starting with it, ignoring case (the parser makes it from a single run). */
export function prefixCondition(value: string, bind: Bind): string {
  const single = singleWord(value);
  if (single === undefined) throw new LogaggError('INVALID_QUERY', { message: `"${value}*" is not a word to complete` });
  return matches(tsquery([], single, false), bind);
}

/**
 * The line contains `needle` (LIKE, or ILIKE ignoring case): exactly that condition, ANDed with the index terms any
 * such line must hold (needleTerms) when there are some, so the index narrows the rows and never drops one.
 */
export function containsCondition(needle: string, ignoreCase: boolean, bind: Bind): string {
  const exact = `(${LINE_SQL} ${ignoreCase ? 'ILIKE' : 'LIKE'} ${bind(containsPattern(needle))}::text)`;
  const terms = needleTerms(needle);
  return terms === undefined ? exact : `(${matches(tsquery(terms.words, terms.prefix, true), bind)} AND ${exact})`;
}
