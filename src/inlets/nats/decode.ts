// The NATS inlet's decoder: one JetStream message → one validated event, or the reason it is refused.
import type { JsMsg } from '@nats-io/jetstream';
import type { Event } from '../../schema/event.js';
import { ALL_TENANTS, DEFAULT_TENANT, isTenantName } from '../../schema/keys.js';
import { validatePublishBody } from '../../schema/validate.js';
import type { RejectedMessage } from './types.js';

type Decoded = { ok: true; event: Event; tenant: string } | { ok: false; code: RejectedMessage['code']; message: string };

/** The header naming a message's tenant, as Loki's HTTP header does (docs/tenants.md, "NATS"). */
const TENANT_HEADER = 'X-Scope-OrgID';

/**
 * The message's tenant under NATS_TENANT: a pinned tenant takes every message, and a header naming another is
 * refused (as a key bound to a tenant is); `*` takes the header's, `default` without one.
 */
function tenantOf(msg: JsMsg, pinned: string): { tenant: string } | { problem: string } {
  const named = msg.headers?.get(TENANT_HEADER, 'insensitive') ?? '';
  if (pinned !== ALL_TENANTS) {
    return named === '' || named === pinned
      ? { tenant: pinned }
      : { problem: `${TENANT_HEADER} names "${named.slice(0, 160)}"; NATS_TENANT is "${pinned}"` };
  }
  if (named === '') return { tenant: DEFAULT_TENANT };
  return isTenantName(named)
    ? { tenant: named }
    : { problem: `${TENANT_HEADER} must be a tenant name (Loki's characters, 1 to 150, not *)` };
}

/**
 * One message is one event. Topic rule: the subject's remainder after the prefix is the topic; a body that names
 * a topic must name that one, and a body without one gets it from the subject.
 */
export function decodeMessage(msg: JsMsg, prefix: string, pinned: string): Decoded {
  const owner = tenantOf(msg, pinned);
  if ('problem' in owner) return { ok: false, code: 'VALIDATION_FAILED', message: owner.problem };
  let body: unknown;
  try {
    body = JSON.parse(msg.string());
  } catch {
    return { ok: false, code: 'INVALID_JSON', message: 'The message body is not valid JSON' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, code: 'VALIDATION_FAILED', message: 'A message carries one event: a JSON object' };
  }
  const topic = msg.subject.slice(prefix.length);
  if (!('topic' in body)) {
    body = { topic, ...body };
  } else if (body.topic !== topic) {
    return { ok: false, code: 'VALIDATION_FAILED', message: `topic must equal the subject's remainder "${topic}"` };
  }
  const result = validatePublishBody(body, 1);
  if (!result.ok) {
    const message = result.problems.map((p) => `${p.path || '/'} ${p.message}`).join('; ');
    return { ok: false, code: 'VALIDATION_FAILED', message };
  }
  return { ok: true, event: result.events[0] as Event, tenant: owner.tenant };
}
