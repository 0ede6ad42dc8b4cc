import type { mongo } from 'mongoose';

/**
 * The MongoDB driver's collection under a mongoose model, typed with the stored
 * document `T`: for the hot paths (the request path, the outbox, the order
 * replica) that write every field out themselves and skip mongoose's casting.
 * Mongoose's `timestamps` do not apply there, so such a write sets `updatedAt` itself.
 */
export function driverCollection<T extends mongo.Document>(model: { collection: object }): mongo.Collection<T> {
  return model.collection as unknown as mongo.Collection<T>;
}
