/** The fake Stripe lives in scripts/fake-stripe.js so the local stack (`npm run dev:stack`) runs the same one the tests do. */
export * from '../../scripts/fake-stripe';
