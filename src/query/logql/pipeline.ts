import type { Predicate } from '../predicate.js';
import type { CompareOp, LabelFilter, LineFilterStage, LogExpr, Matcher, Stage } from './ast.js';
import { parseBytes } from './lexer.js';
import { parseGoDuration } from './duration.js';
import { matchesValue } from './matcher.js';
import { parseJsonLine, parseLogfmtLine } from './parsers.js';
import { jsRegex, portableRegex } from './regex.js';
import { DETECTED_LEVEL, type Level, levelsMatching, selectorPredicate, type StreamLabels } from './stream.js';
import { renderTemplate } from './template.js';

/**
 * A log query split into what the store runs (a Predicate, and a set of detected levels) and the stages left for
 * JavaScript. Line filters before the first line_format go to the store wherever they stand (parsers, label
 * filters, drop and keep never change the line); a label filter on topic, source, service_name or detected_level
 * goes too while no drop or keep precedes it (parsers cannot overwrite those labels: Loki suffixes a clashing key
 * with _extracted).
 */
export interface Plan {
  /** false: no stream can match. */
  where: Predicate | false;
  levels: Level[] | undefined;
  stages: Stage[];
  /** The JS stages need only an entry's labels (no parser, no line_format, no line filter). */
  labelsOnly: boolean;
}

const PUSHABLE_LABELS = new Set(['topic', 'source', 'service_name', DETECTED_LEVEL]);

export function planLog(log: LogExpr): Plan {
  const selector = selectorPredicate(log.selector);
  if (selector === false) return { where: false, levels: undefined, stages: [], labelsOnly: true };
  const of: Predicate[] = [selector];
  let levels: Level[] | undefined;
  const stages: Stage[] = [];
  let lineChanged = false;
  let labelsDropped = false;
  for (const stage of log.stages) {
    if (stage.kind === 'lineFilter' && !lineChanged) {
      of.push(lineFilterPredicate(stage));
      continue;
    }
    if (stage.kind === 'labelFilter' && !labelsDropped) {
      const rest: LabelFilter[] = [];
      for (const leaf of conjuncts(stage.filter)) {
        // A case-insensitive regex stays in JavaScript: the store anchors a label regex where (?i) cannot go.
        if (leaf.kind === 'string' && PUSHABLE_LABELS.has(leaf.matcher.name) && !isCaseInsensitiveOnLabel(leaf.matcher)) {
          if (leaf.matcher.name === DETECTED_LEVEL) {
            const allowed = levelsMatching(leaf.matcher);
            levels = levels === undefined ? allowed : levels.filter((level) => allowed.includes(level));
          } else {
            const predicate = selectorPredicate([{ ...leaf.matcher, op: leaf.matcher.op }]);
            if (predicate === false) return { where: false, levels: undefined, stages: [], labelsOnly: true };
            of.push(predicate);
          }
        } else {
          rest.push(leaf);
        }
      }
      if (rest.length > 0) {
        const filter = rest.reduce((left, right) => ({ kind: 'and', left, right, pos: left.pos }));
        stages.push({ kind: 'labelFilter', filter, pos: stage.pos });
      }
      continue;
    }
    if (stage.kind === 'lineFormat') lineChanged = true;
    if (stage.kind === 'drop' || stage.kind === 'keep') labelsDropped = true;
    stages.push(stage);
  }
  const labelsOnly = stages.every((s) => s.kind === 'labelFilter' || s.kind === 'drop' || s.kind === 'keep');
  return { where: { kind: 'all', of }, levels, stages, labelsOnly };
}

function isCaseInsensitiveOnLabel(m: Matcher): boolean {
  return m.name !== DETECTED_LEVEL && (m.op === '=~' || m.op === '!~') && portableRegex(m.value).caseInsensitive;
}

function conjuncts(filter: LabelFilter): LabelFilter[] {
  return filter.kind === 'and' ? [...conjuncts(filter.left), ...conjuncts(filter.right)] : [filter];
}

function lineFilterPredicate(stage: LineFilterStage): Predicate {
  const regex = stage.op === '|~' || stage.op === '!~';
  const each: Predicate[] = stage.values.map((value) => {
    if (!regex) return { kind: 'line', op: 'contains', value };
    const { body, caseInsensitive } = portableRegex(value);
    return { kind: 'line', op: caseInsensitive ? 'iregex' : 'regex', value: body };
  });
  if (stage.op === '|=' || stage.op === '|~') return { kind: 'any', of: each };
  return { kind: 'all', of: each.map((p) => ({ kind: 'not', of: p })) };
}

/** An entry's labels by Loki's categories; parsed labels hold what parsers set, errors included. */
export class EntryLabels {
  readonly stream = new Map<string, string>();
  readonly metadata = new Map<string, string>();
  readonly parsed = new Map<string, string>();

  constructor(labels: StreamLabels) {
    this.stream.set('service_name', labels.source);
    this.stream.set('source', labels.source);
    this.stream.set('topic', labels.topic);
    this.metadata.set(DETECTED_LEVEL, labels.level);
  }

  get(name: string): string | undefined {
    return this.parsed.get(name) ?? this.metadata.get(name) ?? this.stream.get(name);
  }

  setParsed(key: string, value: string): void {
    const name = this.stream.has(key) || this.metadata.has(key) ? `${key}_extracted` : key;
    this.parsed.set(name, value);
  }

  setError(error: string, details: string): void {
    if (this.parsed.has('__error__')) return;
    this.parsed.set('__error__', error);
    this.parsed.set('__error_details__', details);
  }

  delete(name: string): void {
    this.stream.delete(name);
    this.metadata.delete(name);
    this.parsed.delete(name);
  }

  /** Every label, as a metric's series or a non-categorized stream has them. */
  all(): Map<string, string> {
    return new Map([...this.stream, ...this.metadata, ...this.parsed]);
  }
}

const SPECIAL = new Set(['__error__', '__error_details__', '__preserve_error__']);

/** Runs the JS stages over one entry: the (possibly rewritten) line, or undefined when a stage drops it. */
export function runStages(stages: readonly Stage[], line: string, labels: EntryLabels): string | undefined {
  let current = line;
  for (const stage of stages) {
    switch (stage.kind) {
      case 'lineFilter':
        if (!lineFilterMatches(stage, current)) return undefined;
        break;
      case 'json': {
        const fault = parseJsonLine(current, (key, value) => labels.setParsed(key, value));
        if (fault !== undefined) labels.setError('JSONParserErr', fault);
        break;
      }
      case 'logfmt':
        parseLogfmtLine(current, (key, value) => labels.setParsed(key, value));
        break;
      case 'labelFilter':
        if (!labelFilterMatches(stage.filter, labels)) return undefined;
        break;
      case 'lineFormat':
        current = renderTemplate(stage.template, current, (name) => labels.get(name) ?? '');
        break;
      case 'drop':
        for (const item of stage.items) {
          if (item.matcher === undefined || matchesValue(item.matcher, labels.get(item.name) ?? '')) labels.delete(item.name);
        }
        break;
      case 'keep':
        for (const [name, value] of labels.all()) {
          if (SPECIAL.has(name)) continue;
          const kept = stage.items.some((item) => item.name === name && (item.matcher === undefined || matchesValue(item.matcher, value)));
          if (!kept) labels.delete(name);
        }
        break;
    }
  }
  return current;
}

const lineRegexes = new WeakMap<object, RegExp[]>();

function lineFilterMatches(stage: LineFilterStage, line: string): boolean {
  let any: boolean;
  if (stage.op === '|=' || stage.op === '!=') {
    any = stage.values.some((value) => line.includes(value));
  } else {
    let regexes = lineRegexes.get(stage);
    if (regexes === undefined) {
      regexes = stage.values.map((value) => jsRegex(value, false));
      lineRegexes.set(stage, regexes);
    }
    any = regexes.some((re) => re.test(line));
  }
  return stage.op === '|=' || stage.op === '|~' ? any : !any;
}

/** Go's strconv.ParseFloat, strictly (no spaces, no empty text). */
function parseFloatStrict(text: string): number | undefined {
  if (/^[-+]?(?:inf|infinity)$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(text)) return NaN;
  return /^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/.test(text) ? Number(text) : undefined;
}

function compare(op: CompareOp, a: number, b: number): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
  }
}

/** Loki's label filters: a missing label fails a typed comparison; one that does not convert passes with LabelFilterErr. */
export function labelFilterMatches(filter: LabelFilter, labels: EntryLabels): boolean {
  switch (filter.kind) {
    case 'and': {
      const left = labelFilterMatches(filter.left, labels);
      return labelFilterMatches(filter.right, labels) && left;
    }
    case 'or':
      return labelFilterMatches(filter.left, labels) || labelFilterMatches(filter.right, labels);
    case 'string':
      return matchesValue(filter.matcher, labels.get(filter.matcher.name) ?? '');
    default: {
      const text = labels.get(filter.name);
      if (text === undefined) return false;
      const value =
        filter.kind === 'number' ? parseFloatStrict(text) : filter.kind === 'duration' ? parseGoDuration(text) : parseBytes(text);
      if (value === undefined) {
        labels.setError('LabelFilterErr', `cannot convert ${JSON.stringify(text)} to a ${filter.kind}`);
        return true;
      }
      return compare(filter.op, value, filter.value);
    }
  }
}
