#!/usr/bin/env node
'use strict';
/**
 * The operator's view of the payments database (read-only except `replay`):
 *   payments-cli show <orderId|paymentId>           a payment, its order and the history of its steps
 *   payments-cli list [--state S] [--limit N]        payments, newest first (S: charging, succeeded)
 *   payments-cli refunds [--state S]                 refunds, newest first (S: owed, refunded, failed, canceled, refused)
 *   payments-cli refund <orderId> --reason "…" [--amount 15.00] [--by NAME]
 *                                                    refunds the order's charge (what remains without
 *                                                    --amount, in major units as prices are given);
 *                                                    through the service's compiled use case, so it needs
 *                                                    `npm run build`; STRIPE_KEY and STRIPE_API_URL as the service's
 *   payments-cli dead-letters [--state S]            events set aside (S: parked (default), retrying, all)
 *   payments-cli replay <deadLetterId|--all>         hands parked events to the service again: the next
 *                                                    sweep of a running instance retries them
 * MONGO_URI comes from the environment or the local stack's stack.env (in DEV_STACK_DIR, default .servers/data).
 * Dead letters are read and changed only through the service's own dead-letter store
 * (dist/events/dead-letters.js, built by `npm run build`).
 */
const path = require('node:path');
const mongoose = require('mongoose');
const { notReachable, readStackEnv } = require('./stack-env');

const USAGE = 'usage: payments-cli show <orderId|paymentId> | list [--state S] [--limit N] | refunds [--state S] | refund <orderId> --reason "…" [--amount 15.00] [--by NAME] | dead-letters [--state S] | replay <id|--all>';

function parse(argv) {
  const positional = [];
  const options = {};
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--all') options.all = true;
    else if (argv[i].startsWith('--')) options[argv[i].slice(2)] = argv[(i += 1)];
    else positional.push(argv[i]);
  }
  return { positional, options };
}

const time = (date) => (date ? new Date(date).toISOString() : '-');

function printPayment(payment, order, refunds, dispute) {
  const lines = [
    `payment  ${payment._id}`,
    `order    ${payment.orderId}  (${order ? `${order.status}, version ${order.version}` : 'not in the replica'})`,
    `user     ${payment.userId}`,
    `state    ${payment.state}`,
    `amount   ${payment.amount} ${payment.currency} (minor units)`,
    `charge   ${payment.stripeId ?? '-'}  after ${payment.chargeAttempts} attempt(s)`,
  ];
  if (payment.failure) lines.push(`failed   ${payment.failure.kind}: ${payment.failure.message} (nothing charged; the order is free)`);
  lines.push(`events   owed: ${(payment.eventsOwed ?? []).join(', ') || 'none'}`);
  lines.push('history');
  for (const entry of payment.history ?? []) lines.push(`  ${time(entry.at)}  ${entry.step}${entry.detail ? `  ${entry.detail}` : ''}`);
  for (const refund of refunds) {
    lines.push(`refund   ${refund.state}  ${refund.refundId ?? '-'}  ${refund.amount} ${refund.currency} after ${refund.attempts} attempt(s)  ${refund.source ?? 'cancel'}: ${refund.reason}${refund.operator ? ` (by ${refund.operator})` : ''}` +
      (refund.stripeStatus ? `  Stripe: ${refund.stripeStatus}` : '') +
      (refund.failureReason ? `; failed: ${refund.failureReason}` : '') +
      (refund.failure ? `; refused: ${refund.failure.code} (${refund.failure.message})` : ''));
    lines.push(`  events owed: ${(refund.eventsOwed ?? []).join(', ') || 'none'}`);
    for (const entry of refund.history ?? []) lines.push(`  ${time(entry.at)}  refund ${entry.step}${entry.detail ? `  ${entry.detail}` : ''}`);
  }
  if (dispute) {
    lines.push(`dispute  ${dispute.disputeId}  ${dispute.status}  ${dispute.reason}  ${dispute.amount} ${dispute.currency}  withdrawn ${dispute.fundsWithdrawn}, reinstated ${dispute.fundsReinstated}`);
    lines.push(`  events owed: ${(dispute.eventsOwed ?? []).join(', ') || 'none'}`);
    for (const entry of dispute.history ?? []) lines.push(`  ${time(entry.at)}  ${entry.step}${entry.detail ? `  ${entry.detail}` : ''}`);
  }
  console.log(lines.join('\n'));
}

/** A module of the compiled service (dist/), whose code owns what the CLI changes. */
function serviceModule(file) {
  try {
    return require(path.join(__dirname, '..', 'dist', file));
  } catch (err) {
    if (err.code !== 'MODULE_NOT_FOUND') throw err;
    throw new Error(`dist/${file} is missing: run \`npm run build\` first (the CLI changes state only through the service's own code)`);
  }
}

/** The service's dead-letter store, the one owner of those states. */
function deadLetterStore(connection) {
  return serviceModule('events/dead-letters.js').DeadLetters.forOperator(connection);
}

/** The payments database, or an error that says it is not reachable and how to start it. */
async function connect(uri) {
  try {
    return await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5000 }).asPromise();
  } catch (err) {
    if (/ServerSelectionError/.test(err.name)) throw new Error(notReachable('the database', uri, 'MONGO_URI'));
    throw err;
  }
}

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  const { positional, options } = parse(rest);
  const env = { ...readStackEnv(), ...process.env };
  if (!env.MONGO_URI) throw new Error('MONGO_URI is not set, and no running local stack (npm run dev:stack) wrote one to its stack.env');
  const connection = await connect(env.MONGO_URI);
  const db = connection.db;
  const payments = db.collection('payments');
  try {
    switch (command) {
      case 'show': {
        const [id] = positional;
        if (!/^[0-9a-fA-F]{24}$/.test(id ?? '')) throw new Error('show needs an order id or a payment id (24 hex digits)');
        // The attempt holding the order, else the order's latest failed one, else a payment id.
        const payment =
          (await payments.findOne({ orderLock: id.toLowerCase() })) ??
          (await payments.find({ orderId: id.toLowerCase() }).sort({ createdAt: -1 }).limit(1).next()) ??
          (await payments.findOne({ _id: new mongoose.mongo.ObjectId(id) }));
        if (!payment) throw new Error(`no payment for ${id}`);
        const refunds = await db.collection('refunds').find({ paymentId: payment._id }).sort({ createdAt: 1 }).toArray();
        const dispute = await db.collection('disputes').find({ paymentId: payment._id }).sort({ createdAt: -1 }).limit(1).next();
        printPayment(payment, await db.collection('orders').findOne({ _id: payment.orderId }), refunds, dispute);
        break;
      }
      case 'list': {
        const filter = options.state ? { state: options.state } : {};
        const found = await payments.find(filter).sort({ createdAt: -1 }).limit(Number(options.limit ?? '20')).toArray();
        for (const p of found) {
          console.log(`${p._id}  order ${p.orderId}  ${p.state.padEnd(13)} ${String(p.amount).padStart(9)} ${p.currency}  ${p.stripeId ?? '-'}  ${time(p.updatedAt)}${p.failure ? `  ${p.failure.kind}: ${p.failure.message}` : ''}`);
        }
        if (found.length === 0) console.log('no payments');
        break;
      }
      case 'refunds': {
        const found = await db.collection('refunds').find(options.state ? { state: options.state } : {}).sort({ createdAt: -1 }).limit(Number(options.limit ?? '20')).toArray();
        for (const r of found) {
          console.log(`${r._id}  order ${r.orderId}  ${r.state.padEnd(8)} ${String(r.amount).padStart(9)} ${r.currency}  ${r.refundId ?? '-'}  ${r.source ?? 'cancel'}  ${r.attempts} attempt(s)${r.failureReason ? `  failed: ${r.failureReason}` : ''}${r.failure ? `  refused: ${r.failure.code}` : ''}`);
        }
        if (found.length === 0) console.log('no refunds');
        break;
      }
      case 'refund': {
        const [orderId] = positional;
        if (!/^[0-9a-fA-F]{24}$/.test(orderId ?? '')) throw new Error('refund needs an order id (24 hex digits)');
        if (!options.reason || options.reason === true) throw new Error('refund needs --reason "…" (it is kept in the payment\'s history)');
        const { refund, outcome } = await serviceModule('entry-points/operator-refunds.js').refundForOperator(env, {
          orderId: orderId.toLowerCase(),
          amount: options.amount,
          reason: options.reason,
          operator: options.by ?? env.USER ?? 'operator',
        });
        if (outcome.kind === 'refunded') {
          console.log(`refund ${refund.refundId}  ${refund.amount} ${refund.currency} (minor units)  ${refund.stripeStatus ?? outcome.status}  order ${refund.orderId}`);
        } else if (outcome.kind === 'refused') {
          throw new Error(`Stripe refused the refund: ${outcome.code} (${outcome.message})`);
        } else {
          console.log(`refund owed  ${refund.amount} ${refund.currency}: Stripe did not answer (${outcome.message}); the running service retries it under the same key`);
          process.exitCode = 1;
        }
        break;
      }
      case 'dead-letters': {
        const state = options.state ?? 'parked';
        const found = await deadLetterStore(connection).list(state);
        for (const l of found) {
          console.log(`${l._id}  ${l.state.padEnd(8)}  ${l.subject} #${l.sequence}  ${l.attempts} attempt(s)  last ${time(l.lastFailedAt)}\n    reason:  ${l.reason}\n    payload: ${l.payload}`);
        }
        if (found.length === 0) console.log(`no ${state === 'all' ? '' : `${state} `}dead letters`);
        break;
      }
      case 'replay': {
        const [id] = positional;
        if (!options.all && !/^[0-9a-fA-F]{24}$/.test(id ?? '')) throw new Error('replay needs a dead letter id or --all');
        const handedBack = await deadLetterStore(connection).replay(options.all ? 'all' : { id: id.toLowerCase() });
        console.log(`${handedBack} dead letter(s) handed back; a running service retries them on its next sweep`);
        break;
      }
      default:
        throw new Error(USAGE);
    }
  } finally {
    await connection.close();
  }
}

main().catch((err) => {
  console.error(`payments-cli: ${err.message}`);
  process.exit(1);
});
