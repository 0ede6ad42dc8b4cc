import { Router } from 'express';
import { param, query, matchedData } from 'express-validator';
import { isObjectId } from '../../events/contracts';
import { PaymentReads } from '../../payments/read-payment';
import { CurrentUser, requireUser } from './current-user';
import { rejectInvalid } from './validate';

/** `GET /api/payments/:id` and `GET /api/payments?orderId=`: the signed-in owner reads a payment (401, 400 with `field`, 404). */
export function paymentReadsRouter(reads: PaymentReads, jwtKey: string): Router {
  const router = Router();
  router.get(
    '/api/payments/:id',
    requireUser(jwtKey),
    param('id').custom(isObjectId).withMessage('id must be a valid payment id'),
    rejectInvalid,
    async (req, res) => {
      const { id } = matchedData(req) as { id: string };
      res.json(await reads.byId((res.locals.user as CurrentUser).id, id.toLowerCase()));
    },
  );
  router.get(
    '/api/payments',
    requireUser(jwtKey),
    query('orderId')
      .isString().withMessage('orderId is required').bail()
      .custom(isObjectId).withMessage('orderId must be a valid order id'),
    rejectInvalid,
    async (req, res) => {
      const { orderId } = matchedData(req) as { orderId: string };
      res.json(await reads.byOrder((res.locals.user as CurrentUser).id, orderId.toLowerCase()));
    },
  );
  return router;
}
