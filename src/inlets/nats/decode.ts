// The NATS inlet's decoder: one JetStream message → one validated event, or the reason it is refused.
import type { JsMsg } from '@nats-io/jetstream';
import type { Event } from '../../schema/event.js';
import { DEFAULT_TENANT, isTenantName } from '../../schema/keys.js';
import { validatePublishBody } from '../../schema/validate.js';
import type { RejectedMessage } from './types.js';

type Decoded = { ok: true; event: Event; tenant: string } | { ok: false; code: RejectedMessage['code']; message: string };

/**
 * The header naming a message's tenant, as Loki's HTTP header does (docs/tenants.md, "NATS"); without it the
 * event is `default`'s. NATS has no logagg key: who may name which tenant is what the NATS account's publish
 * permissions allow.
 */
const TENANT_HEADER = 'X-Scope-OrgID';

/**
 * One message is one event. Topic rule: the subject's remainder after the prefix is the topic; a body that names
 * a topic must name that one, and a body without one gets it from the subject.
 */
export function decodeMessage(msg: JsMsg, prefix: string): Decoded {
  const tenant = msg.headers?.get(TENANT_HEADER, 'insensitive') || DEFAULT_TENANT;
  if (!isTenantName(tenant)) {
    return { ok: false, code: 'VALIDATION_FAILED', message: `${TENANT_HEADER} must be a tenant name (Loki's characters, 1 to 150, not *)` };
  }
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
  return { ok: true, event: result.events[0] as Event, tenant };
}
