import { readFileSync } from 'node:fs';

/** One shell command of a doc snippet, with the answer the doc shows under it (if any). */
export interface SnippetCommand {
  /** 1-based line in the doc where the command starts. */
  line: number;
  text: string;
  /** The JSON-ish sample the doc shows in `# ...` lines right under the command. */
  shown: string | undefined;
}

export interface ShellBlock {
  file: string;
  line: number;
  /** Why the block is not run (`<!-- not run: reason -->` right above its fence); undefined: it is run. */
  notRun: string | undefined;
  commands: SnippetCommand[];
}

const SHELL_FENCES = new Set(['sh', 'bash', 'shell', 'console']);

/**
 * The shell blocks of a markdown file, in order. A command runs from a non-comment line to the next blank line or
 * comment line at column 0; a sample answer is the comment lines right under it that start with `{` or `[`
 * (continued on comment lines indented by a space, until its brackets balance).
 */
export function shellBlocks(file: string): ShellBlock[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: ShellBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\w+)\s*$/.exec(lines[i] as string);
    if (!fence) {
      if (/^```/.test(lines[i] as string)) i = closingFence(lines, i);
      continue;
    }
    const end = closingFence(lines, i);
    if (SHELL_FENCES.has(fence[1] as string)) {
      const marker = /^<!-- not run: (.+?) -->$/.exec(previousNonBlank(lines, i));
      blocks.push({ file, line: i + 1, notRun: marker?.[1], commands: commandsOf(lines.slice(i + 1, end), i + 2) });
    }
    i = end;
  }
  return blocks;
}

function closingFence(lines: string[], open: number): number {
  for (let j = open + 1; j < lines.length; j++) if (/^```\s*$/.test(lines[j] as string)) return j;
  throw new Error(`unclosed code fence at line ${open + 1}`);
}

function previousNonBlank(lines: string[], index: number): string {
  for (let j = index - 1; j >= 0; j--) if ((lines[j] as string).trim() !== '') return (lines[j] as string).trim();
  return '';
}

function commandsOf(body: string[], firstLine: number): SnippetCommand[] {
  const commands: SnippetCommand[] = [];
  let i = 0;
  while (i < body.length) {
    const line = body[i] as string;
    if (line.trim() === '' || line.startsWith('#')) {
      i++;
      continue;
    }
    const start = i;
    while (i < body.length && (body[i] as string).trim() !== '' && !(body[i] as string).startsWith('#')) i++;
    const text = body.slice(start, i).join('\n');
    let shown: string | undefined;
    if (i < body.length && /^# [[{]/.test(body[i] as string)) {
      shown = (body[i] as string).slice(2);
      i++;
      while (!balanced(shown) && i < body.length && /^# /.test(body[i] as string)) {
        shown += (body[i] as string).slice(1);
        i++;
      }
    }
    commands.push({ line: firstLine + start, text, shown });
  }
  return commands;
}

/** The length of the leading balanced JSON value of `text` (strings honoured), or -1 when it never closes. */
function jsonPrefixLength(text: string): number {
  let depth = 0;
  let inString = false;
  for (let k = 0; k < text.length; k++) {
    const c = text[k];
    if (inString) {
      if (c === '\\') k++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return k + 1;
    }
  }
  return -1;
}

function balanced(text: string): boolean {
  return jsonPrefixLength(text) > 0;
}

/** Any value: a sample's `"..."`. */
export const ANY = Symbol('any');
/** "More may follow": a sample's `...` as the last member of an object or array. */
const MORE = '@@more@@';

export type Sample = typeof ANY | null | boolean | number | string | Sample[] | { [key: string]: Sample };

/**
 * Reads a doc sample: JSON, where `"..."` stands for any value and a trailing `...` (in an object or array) for
 * "more members may follow". Text after the value (a remark in parentheses) is ignored.
 */
export function parseSample(shown: string): Sample {
  const length = jsonPrefixLength(shown);
  if (length < 0) throw new Error(`sample does not close: ${shown}`);
  const json = shown
    .slice(0, length)
    .replace(/\{\s*\.\.\.\s*\}/g, `{"${MORE}":0}`)
    .replace(/,\s*\.\.\.\s*([}\]])/g, (_m, close: string) => (close === '}' ? `,"${MORE}":0}` : `,"${MORE}"]`));
  return revive(JSON.parse(json) as unknown);
}

function revive(value: unknown): Sample {
  if (value === '...') return ANY;
  if (Array.isArray(value)) return value.map(revive);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
  }
  return value as Sample;
}

/**
 * Where `actual` differs from the sample, or undefined when it matches. Objects must have exactly the sample's keys
 * unless the sample ends with `...`; arrays likewise. Volatile values (times, ids, durations, uptime) need only
 * the same type.
 */
export function mismatch(sample: Sample, actual: unknown, path = '', volatile = false): string | undefined {
  if (sample === ANY) return undefined;
  if (volatile && sample !== null && typeof sample !== 'object') {
    return typeof actual === typeof sample ? undefined : `${path || '/'}: expected a ${typeof sample}, got ${JSON.stringify(actual)}`;
  }
  if (Array.isArray(sample)) {
    if (!Array.isArray(actual)) return `${path || '/'}: expected an array, got ${JSON.stringify(actual)}`;
    const open = sample[sample.length - 1] === MORE;
    const items = open ? sample.slice(0, -1) : sample;
    if (open ? actual.length < items.length : actual.length !== items.length) {
      return `${path || '/'}: expected ${open ? 'at least ' : ''}${items.length} items, got ${actual.length}`;
    }
    for (const [k, item] of items.entries()) {
      const problem = mismatch(item, actual[k], `${path}/${k}`, volatile);
      if (problem) return problem;
    }
    return undefined;
  }
  if (sample !== null && typeof sample === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      return `${path || '/'}: expected an object, got ${JSON.stringify(actual)}`;
    }
    const open = MORE in sample;
    const record = actual as Record<string, unknown>;
    for (const [key, value] of Object.entries(sample)) {
      if (key === MORE) continue;
      if (!(key in record)) return `${path}/${key}: missing`;
      const problem = mismatch(value, record[key], `${path}/${key}`, volatile || isVolatile(key));
      if (problem) return problem;
    }
    if (!open) {
      const extra = Object.keys(record).filter((key) => !(key in sample));
      if (extra.length > 0) return `${path || '/'}: unexpected keys ${extra.join(', ')} (end the sample with ... if more may follow)`;
    }
    return undefined;
  }
  return Object.is(sample, actual) ? undefined : `${path || '/'}: expected ${JSON.stringify(sample)}, got ${JSON.stringify(actual)}`;
}

/** Fields whose value differs from run to run: compared by type only. */
function isVolatile(key: string): boolean {
  return /(^|_)(at|time|timestamp|uptime|id|seq|ms|duration)$/.test(key) || key === 'uptime' || key === 'received_at';
}
