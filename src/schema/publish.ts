import { Type, type Static } from 'typebox';

/** What a publish request learns once its events are committed. */
export const PublishResultSchema = Type.Object(
  {
    received: Type.Integer({ description: 'Events in this request' }),
    unique: Type.Integer({ description: 'Events stored for the first time' }),
    duplicates: Type.Integer({ description: 'Events whose (topic, event_id) was already stored' }),
  },
  { $id: 'PublishResult' },
);
export type PublishResult = Static<typeof PublishResultSchema>;
