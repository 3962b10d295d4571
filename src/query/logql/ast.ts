/**
 * The LogQL subset logagg answers (docs/query.md), as a tree. Every node keeps `pos`, the offset of its first
 * character in the query, so an error found after parsing can still point at the part it is about.
 */

export type MatchOp = '=' | '!=' | '=~' | '!~';

/** `name op "value"`: in a stream selector, a label filter, or a drop/keep item. */
export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
  pos: number;
}

export type LineFilterOp = '|=' | '!=' | '|~' | '!~';

/** `|= "a" or "b"`: the line contains (or matches) any of the values; the negated ops: none of them. */
export interface LineFilterStage {
  kind: 'lineFilter';
  op: LineFilterOp;
  values: string[];
  pos: number;
}

export type CompareOp = '==' | '!=' | '>' | '>=' | '<' | '<=';

export type LabelFilter =
  | { kind: 'and' | 'or'; left: LabelFilter; right: LabelFilter; pos: number }
  | { kind: 'string'; matcher: Matcher; pos: number }
  /** A number, a duration (ns) or a byte size, compared after converting the label's value the same way. */
  | { kind: 'number' | 'duration' | 'bytes'; name: string; op: CompareOp; value: number; pos: number };

/** A piece of a line_format template: literal text, a label's value, or the current line. */
export type TemplatePart = { kind: 'text'; text: string } | { kind: 'label'; name: string } | { kind: 'line' };

export type Stage =
  | LineFilterStage
  | { kind: 'json' | 'logfmt'; pos: number }
  | { kind: 'labelFilter'; filter: LabelFilter; pos: number }
  | { kind: 'lineFormat'; template: TemplatePart[]; pos: number }
  /** `drop a, b="x"` / `keep a, b="x"`: a bare name, or a matcher on the value. */
  | { kind: 'drop' | 'keep'; items: Array<{ name: string; matcher?: Matcher }>; pos: number };

export interface LogExpr {
  kind: 'log';
  selector: Matcher[];
  stages: Stage[];
  pos: number;
}

export type RangeOp = 'count_over_time' | 'rate' | 'bytes_over_time' | 'bytes_rate';
export type VectorOp = 'sum' | 'avg' | 'min' | 'max' | 'count' | 'topk' | 'bottomk';
export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '^' | CompareOp;

export interface Grouping {
  without: boolean;
  labels: string[];
}

export type SampleExpr =
  | { kind: 'range'; op: RangeOp; log: LogExpr; rangeNs: number; pos: number }
  | { kind: 'vectorAgg'; op: VectorOp; grouping: Grouping | undefined; param: number | undefined; expr: SampleExpr; pos: number }
  | { kind: 'binary'; op: BinaryOp; returnBool: boolean; left: SampleExpr; right: SampleExpr; pos: number }
  | { kind: 'literal'; value: number; pos: number }
  | { kind: 'vector'; value: number; pos: number };

export type Expr = LogExpr | SampleExpr;
