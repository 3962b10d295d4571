import { Type, type Static } from 'typebox';

/** Every error response (docs/spec.md §3). */
export const ErrorBodySchema = Type.Object(
  {
    error: Type.String({ description: 'Stable code, see docs/errors.md' }),
    message: Type.String(),
    details: Type.Optional(Type.Array(Type.Unknown())),
  },
  { $id: 'ErrorBody' },
);
export type ErrorBody = Static<typeof ErrorBodySchema>;
