/** Why secure-json-parse refuses JSON that JSON.parse reads: a key that could pollute prototypes. */
export const PROTOTYPE_KEY =
  'a "__proto__" key, or a "constructor" object with a "prototype" key, is refused: such keys can change the prototype of objects built from the data (prototype pollution); rename the key';

/**
 * Why a text the secure JSON parser refused is not accepted: JSON.parse's own message (where the JSON breaks), or
 * PROTOTYPE_KEY when JSON.parse reads it. Fastify's parser says only "invalid JSON"; call this on the failure path
 * only, as it parses the text again.
 */
export function jsonRefusalReason(raw: string): string {
  try {
    JSON.parse(raw);
    return PROTOTYPE_KEY;
  } catch (err) {
    return (err as Error).message;
  }
}
