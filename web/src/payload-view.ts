import { h } from './dom.js';
import { previewPayload } from './format.js';

/**
 * A payload as a one-line preview that opens to formatted JSON. The JSON is rendered on first open only: most
 * rows are never opened, and the live tail keeps hundreds of them.
 */
export function payloadView(payload: object): HTMLDetailsElement {
  const pre = h('pre', { class: 'json' });
  const details = h('details', { class: 'payload' }, h('summary', {}, previewPayload(payload)), pre);
  details.addEventListener('toggle', () => {
    if (details.open && pre.childNodes.length === 0) pre.textContent = JSON.stringify(payload, null, 2);
  });
  return details;
}
