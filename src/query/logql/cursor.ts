import { LogqlError } from './error.js';
import { type Token, tokenize } from './lexer.js';

/** Nesting deeper than this is refused: a recursive-descent parser would otherwise overflow the stack. */
const MAX_DEPTH = 64;

/** A token stream with one place for errors, shared by the expression and pipeline parsers. */
export class Cursor {
  private readonly tokens: Token[];
  private index = 0;
  private depth = 0;

  constructor(readonly query: string) {
    this.tokens = tokenize(query);
  }

  peek(ahead = 0): Token {
    return this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)] as Token;
  }

  next(): Token {
    const token = this.peek();
    if (this.index < this.tokens.length - 1) this.index++;
    return token;
  }

  /** The next token is the operator `text`. */
  isOp(text: string, ahead = 0): boolean {
    const token = this.peek(ahead);
    return token.kind === 'op' && token.text === text;
  }

  /** The next token is the identifier `name` (keywords are case-insensitive, as in Loki). */
  isIdent(name: string, ahead = 0): boolean {
    const token = this.peek(ahead);
    return token.kind === 'ident' && token.text.toLowerCase() === name;
  }

  expectOp(text: string): Token {
    if (!this.isOp(text)) throw this.unexpected(`expecting ${JSON.stringify(text)}`);
    return this.next();
  }

  expectKind(kind: Token['kind'], what: string): Token {
    if (this.peek().kind !== kind) throw this.unexpected(`expecting ${what}`);
    return this.next();
  }

  /** Loki's wording: "syntax error: unexpected <token>, expecting ...". */
  unexpected(expecting?: string, token: Token = this.peek()): LogqlError {
    const shown = token.kind === 'eof' ? 'end of input' : token.kind === 'string' ? `string ${JSON.stringify(token.text)}` : token.text;
    return new LogqlError('parse', `syntax error: unexpected ${shown}${expecting ? `, ${expecting}` : ''}`, token.pos, this.query);
  }

  fail(message: string, pos: number): LogqlError {
    return new LogqlError('parse', message, pos, this.query);
  }

  /** A part Loki knows that logagg does not answer; named so the user knows what to change. */
  unsupported(what: string, pos: number): LogqlError {
    return new LogqlError('unsupported', `${what} is outside logagg's LogQL subset (docs/query.md)`, pos, this.query);
  }

  enter(pos: number): void {
    if (++this.depth > MAX_DEPTH) throw this.fail(`the query nests deeper than ${MAX_DEPTH} levels`, pos);
  }

  leave(): void {
    this.depth--;
  }
}
