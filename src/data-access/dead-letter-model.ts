import { Connection, Model, Schema } from 'mongoose';

/**
 * An event its handler could not apply, set aside so that the stream behind it
 * keeps flowing:
 *
 *   retrying - tried again from here when `nextAttemptAt` comes (that field is
 *              also the lease of the instance retrying it);
 *   parked   - tried `attempts` times, the last of them `maxDeliveries`: it waits
 *              for an operator (`npm run payments -- dead-letters`, `replay`).
 *
 * An applied retry deletes its dead letter. Every change of state is made by
 * the DeadLetters class (events/dead-letters.ts), the service's and the operator's CLI's alike.
 */
export const DeadLetterState = { Retrying: 'retrying', Parked: 'parked' } as const;
export type DeadLetterState = (typeof DeadLetterState)[keyof typeof DeadLetterState];

export interface DeadLetter {
  /** Derived from subject, sequence and payload: a redelivery of the same event finds its letter already there. */
  _id: string;
  subject: string;
  /** The broker's sequence of the delivery that set it aside. */
  sequence: number;
  /** The payload as JSON text, exactly as it will be handed to the handler again. */
  payload: string;
  /** Why the last attempt failed (the error's message). */
  reason: string;
  state: DeadLetterState;
  /** Times the handler tried it; the delivery that set it aside is the first. */
  attempts: number;
  nextAttemptAt: Date | null;
  firstFailedAt: Date;
  lastFailedAt: Date;
}

const schema = new Schema<DeadLetter>(
  {
    _id: { type: String, required: true },
    subject: { type: String, required: true },
    sequence: { type: Number, required: true },
    payload: { type: String, required: true },
    reason: { type: String, required: true },
    state: { type: String, required: true, enum: Object.values(DeadLetterState) },
    attempts: { type: Number, required: true },
    nextAttemptAt: { type: Date, default: null },
    firstFailedAt: { type: Date, required: true },
    lastFailedAt: { type: Date, required: true },
  },
  { collection: 'dead_letters', versionKey: false },
);
schema.index({ state: 1, nextAttemptAt: 1 });

export function deadLetterModel(connection: Connection): Model<DeadLetter> {
  return connection.model<DeadLetter>('DeadLetter', schema);
}
