// The NATS defaults and the subject rule, in one place: the server's config (NATS_*), the transport that consumes
// the stream and `logagg publish --transport nats` that feeds it must agree on them (docs/spec.md §6).

/** JetStream stream consumed (NATS_STREAM); created if missing. */
export const DEFAULT_NATS_STREAM = 'LOGS';
/** Subjects are `<prefix>.<topic>`; this is the prefix by default. */
export const DEFAULT_NATS_SUBJECT_PREFIX = 'logs';
/** The stream's subjects (NATS_SUBJECTS): `<prefix>.>`. */
export const DEFAULT_NATS_SUBJECTS = `${DEFAULT_NATS_SUBJECT_PREFIX}.>` as const;
/** Durable pull consumer every replica shares (NATS_DURABLE). */
export const DEFAULT_NATS_DURABLE = 'logagg';
/**
 * Whose the messages' events are (NATS_TENANT): one tenant, or `*` for the tenant each message's X-Scope-OrgID
 * header names. NATS permissions cover subjects, not headers, so trusting the header is opt-in.
 */
export const DEFAULT_NATS_TENANT = 'default';

/**
 * The subject rule: a stream's subjects are one `<prefix>.>` (no spaces or wildcards in the prefix), so the topic of
 * a message is the rest of its subject. Returns why `subjects` breaks it, or undefined when it follows it.
 */
export function natsSubjectsProblem(subjects: string): string | undefined {
  return /^[^\s*>]+\.>$/.test(subjects) ? undefined : `must look like "<prefix>.>", got "${subjects}"`;
}

/** The subject an event of `topic` is published on. */
export function natsSubject(prefix: string, topic: string): string {
  return `${prefix}.${topic}`;
}
