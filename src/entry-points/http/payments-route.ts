import { Router } from 'express';
import { body, matchedData } from 'express-validator';
import { isObjectId } from '../../events/contracts';
import { addLogContext } from '../../logger';
import { OrderPayments } from '../../payments/pay-order';
import { Payment } from '../../payments/payment';
import { CurrentUser, requireUser } from './current-user';
import { rejectInvalid } from './validate';

export function paymentsRouter(payments: OrderPayments, jwtKey: string): Router {
  const router = Router();
  router.post(
    '/api/payments',
    requireUser(jwtKey),
    // Exactly one of token (the course client's card token) and paymentMethodId (Stripe.js Elements, `pm_…`).
    body('token')
      .if((_value, { req }) => req.body?.paymentMethodId === undefined || req.body?.token !== undefined)
      .isString().withMessage('token must be a string').bail()
      .trim().notEmpty().withMessage('token is required').bail()
      .isLength({ max: 255 }).withMessage('token is too long').bail()
      .matches(/^[A-Za-z0-9_-]+$/).withMessage('token is not a card token'),
    body('paymentMethodId')
      .optional()
      .custom((_value, { req }) => req.body?.token === undefined).withMessage('send either token or paymentMethodId, not both').bail()
      .isString().withMessage('paymentMethodId must be a string').bail()
      .isLength({ max: 255 }).withMessage('paymentMethodId is too long').bail()
      .matches(/^pm_[A-Za-z0-9_]+$/).withMessage('paymentMethodId is not a PaymentMethod id'),
    body('orderId')
      .isString().withMessage('orderId must be a string').bail()
      .trim().custom(isObjectId).withMessage('orderId must be a valid order id'),
    rejectInvalid,
    async (req, res) => {
      const { token, paymentMethodId, orderId } = matchedData(req) as { token?: string; paymentMethodId?: string; orderId: string };
      const user = res.locals.user as CurrentUser;
      addLogContext({ orderId: orderId.toLowerCase() });
      const result = await payments.pay({ userId: user.id, orderId: orderId.toLowerCase(), token, paymentMethodId });
      // Past the deadline the client has its 503; resending the same token gets this payment.
      if (res.headersSent) return;
      if (result.kind === 'requires_action') {
        // Contract 2026-11-29: the client completes 3-D Secure with Stripe.js; the webhook or a later read tells the end.
        res.status(202).json({ id: String(result.payment._id), orderId: result.payment.orderId, status: 'requires_action', clientSecret: result.clientSecret });
        return;
      }
      res.status(201).json(present(result.payment));
    },
  );
  return router;
}

function present(payment: Payment) {
  return {
    id: String(payment._id),
    orderId: payment.orderId,
    stripeId: payment.stripeId,
    paymentIntentId: payment.paymentIntentId,
    amount: payment.amount,
    currency: payment.currency,
    status: payment.state,
    createdAt: payment.chargedAt ?? payment.createdAt,
  };
}
