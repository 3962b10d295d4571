import { Type, type Static } from 'typebox';

/** The two engines behind the one Store (docs/spec.md §4), as /stats names them. */
export const StoreKindSchema = Type.Union([Type.Literal('postgres'), Type.Literal('pglite')]);
export type StoreKind = Static<typeof StoreKindSchema>;
