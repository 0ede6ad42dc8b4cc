import { Router } from 'express';
import { body, matchedData } from 'express-validator';
import { isObjectId } from '../events/contracts';
import { addLogContext } from '../logger';
import { OrderPayments } from '../payments/pay-order';
import { Payment } from '../payments/payment-model';
import { CurrentUser, requireUser } from './current-user';
import { rejectInvalid } from './validate';

export function paymentsRouter(payments: OrderPayments, jwtKey: string): Router {
  const router = Router();
  router.post(
    '/api/payments',
    requireUser(jwtKey),
    body('token')
      .isString().withMessage('token must be a string').bail()
      .trim().notEmpty().withMessage('token is required').bail()
      .isLength({ max: 255 }).withMessage('token is too long').bail()
      .matches(/^[A-Za-z0-9_-]+$/).withMessage('token is not a card token'),
    body('orderId')
      .isString().withMessage('orderId must be a string').bail()
      .trim().custom(isObjectId).withMessage('orderId must be a valid order id'),
    rejectInvalid,
    async (req, res) => {
      const { token, orderId } = matchedData(req) as { token: string; orderId: string };
      const user = res.locals.user as CurrentUser;
      addLogContext({ orderId: orderId.toLowerCase() });
      const payment = await payments.pay({ userId: user.id, orderId: orderId.toLowerCase(), token });
      // Past the deadline the client has its 503; resending the same token gets this payment.
      if (res.headersSent) return;
      res.status(201).json(present(payment));
    },
  );
  return router;
}

function present(payment: Payment) {
  return {
    id: String(payment._id),
    orderId: payment.orderId,
    stripeId: payment.stripeId,
    amount: payment.amount,
    currency: payment.currency,
    status: payment.state,
    createdAt: payment.chargedAt ?? payment.createdAt,
  };
}
