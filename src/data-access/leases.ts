import { Model } from 'mongoose';

/**
 * Documents in `state` whose lease (`leaseUntil`) ran out, oldest first, at most
 * `limit`: the work recovery takes over (a charge or refund its holder left).
 */
export function expiredLeases<T>(model: Model<T>, state: string, limit: number): Promise<T[]> {
  return (model as unknown as Model<{ state: string; leaseUntil: Date }>)
    .find({ state, leaseUntil: { $lte: new Date() } })
    .sort({ leaseUntil: 1 })
    .limit(limit)
    .lean<T[]>();
}
