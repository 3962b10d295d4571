import type { TemplatePart } from './ast.js';
import type { Cursor } from './cursor.js';

/**
 * line_format's Go template, the subset logagg renders (docs/query.md): literal text, `{{.label}}` (a missing
 * label renders as nothing, as in Loki), `{{__line__}}` (the current line), and the `{{-` / `-}}` trim markers.
 * Any other action (functions, pipelines, if/range, variables) is refused with a 400 naming it.
 */
export function compileTemplate(c: Cursor, template: string, pos: number): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{{', i);
    if (open === -1) {
      text += template.slice(i);
      break;
    }
    text += template.slice(i, open);
    const close = template.indexOf('}}', open + 2);
    if (close === -1) throw c.fail('line_format: unclosed action in the template', pos);
    let inner = template.slice(open + 2, close);
    // `{{- ` trims the space before the action, ` -}}` the space after it (Go's rule: the dash and a space).
    if (/^-[ \t\r\n]/.test(inner)) {
      text = text.replace(/[ \t\r\n]+$/, '');
      inner = inner.slice(1);
    }
    let trimAfter = false;
    if (/[ \t\r\n]-$/.test(inner)) {
      trimAfter = true;
      inner = inner.slice(0, -1);
    }
    const action = inner.trim();
    if (text !== '') parts.push({ kind: 'text', text });
    text = '';
    const label = /^\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(action);
    if (label) parts.push({ kind: 'label', name: label[1] as string });
    else if (action === '__line__') parts.push({ kind: 'line' });
    else throw c.unsupported(`the line_format action {{${inner}}}`, pos);
    i = close + 2;
    if (trimAfter) while (i < template.length && /[ \t\r\n]/.test(template[i] as string)) i++;
  }
  if (text !== '') parts.push({ kind: 'text', text });
  return parts;
}

export function renderTemplate(parts: readonly TemplatePart[], line: string, label: (name: string) => string): string {
  let out = '';
  for (const part of parts) out += part.kind === 'text' ? part.text : part.kind === 'line' ? line : label(part.name);
  return out;
}
