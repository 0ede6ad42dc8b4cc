import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http, { IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import Ajv2020, { ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import jwt from 'jsonwebtoken';
import mongoose, { Connection } from 'mongoose';
import { parse } from 'yaml';
import { Subjects } from '../src/events/contracts';
import { orderModel, OrderModel } from '../src/orders/order-model';
import { paymentModel, PaymentModel } from '../src/payments/payment-model';
import { eventually, sleep } from '../test/support/eventually';
import { DECLINED_TOKEN, FakeStripe, INVALID_TOKEN } from '../test/support/fake-stripe';
import { connectBroker } from '../test/support/broker-client';
import { databaseUri, JWT_KEY, natsServer, NatsTarget, OrdersPublisher, unique } from '../test/support/harness';
import { ServiceProcess } from '../test/support/service-process';

/**
 * Hostile input against the compiled service running as its own process, as in
 * production: over 10,000 generated HTTP requests, then over 1,000 malformed
 * order events. Everything is generated from one seeded PRNG, so a failure
 * reproduces with the seed printed in the summary: HOSTILE_SEED=<seed>.
 *
 * `npm run build` first (the test:resilience script does).
 */

const SEED = Number(process.env.HOSTILE_SEED ?? 0x5eed_2024);
const HTTP_REQUESTS = Number(process.env.HOSTILE_REQUESTS ?? 10_500);
const CONCURRENCY = 16;
const MALFORMED_EVENTS = 1_050;
const VALID_EVENTS = 100;
const ACK_WAIT_MS = 2_000; // what ServiceProcess gives the service
const BODY_LIMIT = 10 * 1024; // express.json({ limit: '10kb' })

// ---------------------------------------------------------------------------
// Seeded randomness

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Random {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  hex(length: number): string {
    let out = '';
    for (let i = 0; i < length; i += 1) out += '0123456789abcdef'[this.int(0, 15)];
    return out;
  }
  id(): string {
    return this.hex(24);
  }
  string(length: number, alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'): string {
    let out = '';
    for (let i = 0; i < length; i += 1) out += alphabet[this.int(0, alphabet.length - 1)];
    return out;
  }
  bytes(length: number): Buffer {
    return Buffer.from(Array.from({ length }, () => this.int(0, 255)));
  }
  /** Weighted choice among [weight, value] pairs. */
  weighted<T>(choices: ReadonlyArray<readonly [number, T]>): T {
    const total = choices.reduce((sum, [weight]) => sum + weight, 0);
    let roll = this.next() * total;
    for (const [weight, value] of choices) {
      roll -= weight;
      if (roll < 0) return value;
    }
    return choices[choices.length - 1][1];
  }
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i -= 1) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}

// ---------------------------------------------------------------------------
// The spec: every response is checked against openapi.yaml

type Json = Record<string, any>;
const spec = parse(readFileSync(path.join(__dirname, '..', 'openapi.yaml'), 'utf8')) as Json;
const COMPONENTS_ID = 'https://payments.ticketing.dev/openapi/components';
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
const toAjv = (node: unknown): any => {
  if (Array.isArray(node)) return node.map(toAjv);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) =>
      key === '$ref' && typeof value === 'string' && value.startsWith('#/components/schemas/')
        ? [key, `${COMPONENTS_ID}#/$defs/${value.slice('#/components/schemas/'.length)}`]
        : [key, toAjv(value)],
    ),
  );
};
ajv.addSchema({ $id: COMPONENTS_ID, $defs: toAjv(spec.components.schemas) });
const errorSchema = ajv.compile({ $ref: `${COMPONENTS_ID}#/$defs/Error` });

function documentedSchema(route: string, method: string, status: number): ValidateFunction | 'text' | undefined {
  let response = spec.paths?.[route]?.[method]?.responses?.[String(status)] as Json | undefined;
  if (response?.$ref) {
    response = (response.$ref as string).slice(2).split('/').reduce<Json>((node, part) => node?.[part], spec);
  }
  if (!response) return undefined;
  if (response.content?.['application/json']) return ajv.compile(toAjv(response.content['application/json'].schema));
  return response.content?.['text/plain'] ? 'text' : undefined;
}
const schemaCache = new Map<string, ValidateFunction | 'text' | undefined>();
function schemaFor(route: string, method: string, status: number) {
  const key = `${method} ${route} ${status}`;
  if (!schemaCache.has(key)) schemaCache.set(key, documentedSchema(route, method, status));
  return schemaCache.get(key);
}

// ---------------------------------------------------------------------------
// Sessions: the attacker's real ones, and every way of faking or breaking one

const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const hmac = (alg: 'sha256' | 'sha512', input: string, key = JWT_KEY) => createHmac(alg, key).update(input).digest('base64url');
const cookieOf = (sessionJson: string) => `session=${Buffer.from(sessionJson).toString('base64')}`;
const cookieWith = (token: unknown) => cookieOf(JSON.stringify({ jwt: token }));
const signed = (payload: object, options: jwt.SignOptions = {}, key = JWT_KEY) => jwt.sign(payload, key, options);

/** Sessions for `userId` that must all be refused: the attacker does not hold JWT_KEY. */
function forgedSessionsFor(userId: string): Array<[string, string]> {
  const claims = { id: userId, email: `${userId}@victim.dev` };
  const now = Math.floor(Date.now() / 1000);
  const genuineOther = signed({ id: 'someone', email: 's@x.dev' });
  const [, , otherSignature] = genuineOther.split('.');
  const hs256Header = b64url({ alg: 'HS256', typ: 'JWT' });
  return [
    ['wrong key', cookieWith(signed(claims, {}, 'not-the-shared-jwt-key'))],
    ['alg none', cookieWith(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`)],
    ['alg None', cookieWith(`${b64url({ alg: 'None', typ: 'JWT' })}.${b64url(claims)}.`)],
    ['alg NONE', cookieWith(`${b64url({ alg: 'NONE' })}.${b64url(claims)}.`)],
    ['HS512 with the right key', cookieWith(signed(claims, { algorithm: 'HS512' }))],
    ['HS384 with the right key', cookieWith(signed(claims, { algorithm: 'HS384' }))],
    ['RS256 header, HMAC signature (key confusion)', cookieWith(`${b64url({ alg: 'RS256' })}.${b64url(claims)}.${hmac('sha256', `${b64url({ alg: 'RS256' })}.${b64url(claims)}`)}`)],
    ['HS512 header, HS512 signature by hand', cookieWith(`${b64url({ alg: 'HS512' })}.${b64url(claims)}.${hmac('sha512', `${b64url({ alg: 'HS512' })}.${b64url(claims)}`)}`)],
    ['expired, right key', cookieWith(signed({ ...claims, exp: now - 60 }))],
    ['expired long ago, right key', cookieWith(signed({ ...claims, exp: 1 }))],
    ['not before next hour, right key', cookieWith(signed({ ...claims, nbf: now + 3600 }))],
    ['signature stripped', cookieWith(`${hs256Header}.${b64url(claims)}.`)],
    ['another token\'s signature', cookieWith(`${hs256Header}.${b64url(claims)}.${otherSignature}`)],
    ['payload swapped into a genuine token', cookieWith(`${genuineOther.split('.')[0]}.${b64url(claims)}.${otherSignature}`)],
    ['signed with an empty key', cookieWith(`${hs256Header}.${b64url(claims)}.${hmac('sha256', `${hs256Header}.${b64url(claims)}`, '')}`)],
  ];
}

/** Sessions that must be refused whoever they claim to be. */
function brokenSessions(rng: Random): Array<[string, string | undefined]> {
  return [
    ['no cookie', undefined],
    ['empty session cookie', 'session='],
    ['cookie not base64', 'session=%%%not-base64{'],
    ['base64 of text', cookieOf('this is not json')],
    ['base64 of null', cookieOf('null')],
    ['base64 of an array', cookieOf('[{"jwt":"x"}]')],
    ['base64 of a string', cookieOf('"eyJhbGciOiJIUzI1NiJ9"')],
    ['base64 of a number', cookieOf('12345')],
    ['truncated base64', cookieWith(signed({ id: 'x', email: 'x@x' })).slice(0, 40)],
    ['jwt is a number', cookieWith(42)],
    ['jwt is null', cookieWith(null)],
    ['jwt is an array', cookieWith([signed({ id: 'x', email: 'x@x' })])],
    ['jwt is an object', cookieWith({ id: 'x', email: 'x@x' })],
    ['jwt is empty', cookieWith('')],
    ['jwt is garbage', cookieWith(rng.string(40))],
    ['jwt is a.b.c', cookieWith('a.b.c')],
    ['jwt is dots', cookieWith('...')],
    ['jwt is unicode', cookieWith('🙂.🙂.🙂')],
    ['jwt header not json', cookieWith(`${b64url('{{{')}.${b64url({ id: 'x' })}.${rng.string(20)}`)],
    ['jwt is 8 kB of base64url', cookieWith(`${rng.string(2700)}.${rng.string(2700)}.${rng.string(2700)}`)],
    ['session json of 9 kB', cookieOf(JSON.stringify({ jwt: 'x', pad: rng.string(6500) }))],
    ['genuine session under another cookie name', `sess=${cookieWith(signed({ id: 'x', email: 'x@x' })).slice('session='.length)}`],
    ['cookie name upper case', `SESSION=${cookieWith(signed({ id: 'x', email: 'x@x' })).slice('session='.length)}`],
    ['right key, no id', cookieWith(signed({ email: 'x@x' }))],
    ['right key, empty id', cookieWith(signed({ id: '', email: 'x@x' }))],
    ['right key, numeric id', cookieWith(signed({ id: 12345, email: 'x@x' }))],
    ['right key, object id', cookieWith(signed({ id: { $ne: null }, email: 'x@x' }))],
    ['right key, array id', cookieWith(signed({ id: ['a'], email: 'x@x' }))],
    ['right key, no email', cookieWith(signed({ id: 'x' }))],
    ['right key, a string payload', cookieWith(jwt.sign('just-a-string', JWT_KEY))],
    ['alg none for a random user', cookieWith(`${b64url({ alg: 'none' })}.${b64url({ id: rng.id(), email: 'a@b' })}.`)],
  ];
}

// ---------------------------------------------------------------------------
// Generated requests

interface Case {
  kind: string;
  variant: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  chunked?: boolean;
  /** Statuses the contract allows for this request. */
  expect: number[];
  /** For a 400: the field the error must name (null: no field); undefined: not checked. */
  field?: string | null;
  /** The connection may be cut after the answer (huge body or headers). */
  mayReset?: boolean;
  /** Sent with a safe X-Request-Id, which must come back. */
  requestId?: string;
}

interface World {
  victims: Array<{ id: string; userId: string }>;
  own: Array<{ id: string }>;
  /** The attacker's orders kept out of the campaign, for the retry scenario. */
  retry: Array<{ id: string }>;
  attacker: string;
  attackerCookie: string;
  forged: Map<string, Array<[string, string]>>;
  broken: Array<[string, string | undefined]>;
}

const JSON_TYPE = 'application/json';
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const post = (kind: string, variant: string, cookie: string | undefined, body: Buffer | undefined, expect: number[], extra: Partial<Case> = {}): Case => ({
  kind,
  variant,
  method: 'POST',
  path: '/api/payments',
  headers: { 'content-type': JSON_TYPE, ...(cookie ? { cookie } : {}) },
  body,
  expect,
  ...extra,
});

const FULLWIDTH = '０１２３４５６７８９ａｂｃｄｅｆ';
const SPACES = ' \t\n\r\u00a0\u2003\u3000\ufeff';

function generator(rng: Random, world: World): () => Case {
  const compressedBodies = new Map<string, Record<'valid' | 'gzip' | 'deflate' | 'br' | 'bomb', Buffer>>();
  // A body that was read and parsed answers 400 naming orderId (one not read would name token).
  const parsedProbe = (orderId: string) => ({ token: 'tok_visa', orderId: `${orderId}z` });
  const compressed = (orderId: string) => {
    if (!compressedBodies.has(orderId)) {
      const valid = json(parsedProbe(orderId));
      compressedBodies.set(orderId, {
        valid,
        gzip: gzipSync(valid),
        deflate: deflateSync(valid),
        br: brotliCompressSync(valid),
        bomb: gzipSync(JSON.stringify({ token: 'tok_visa', orderId, pad: 'a'.repeat(200_000) })),
      });
    }
    return compressedBodies.get(orderId)!;
  };
  const victim = () => rng.pick(world.victims);
  const unknownId = () => rng.id();
  const goodToken = () => rng.pick(['tok_visa', 'tok_mastercard', `tok_${rng.string(14)}`, 'tok_amex']);
  const session = () => world.attackerCookie;

  const victimIdVariants = (id: string): Array<[string, string]> => [
    ['as is', id],
    ['upper case', id.toUpperCase()],
    ['mixed case', [...id].map((c) => (rng.bool() ? c.toUpperCase() : c)).join('')],
    ['padded with spaces', `  ${id}\t`],
    ['padded with unicode spaces', `\u00a0${id}\u3000`],
  ];

  const tokenFaults = (): Array<[string, unknown]> => [
    ['missing', undefined],
    ['null', null],
    ['number', rng.int(-1e6, 1e6)],
    ['boolean', rng.bool()],
    ['empty array', []],
    ['array of a token', ['tok_visa']],
    ['empty object', {}],
    ['operator $gt', { $gt: '' }],
    ['operator $ne', { $ne: null }],
    ['empty', ''],
    ['blank', rng.string(rng.int(1, 12), SPACES)],
    ['256 characters', 't'.repeat(256)],
    ['256 emoji', '🙂'.repeat(256)],
    ['5,000 characters', rng.string(5000)],
    ['9,000 characters', 'x'.repeat(9000)],
  ];

  const orderIdFaults = (): Array<[string, unknown]> => {
    const v = victim().id;
    return [
      ['missing', undefined],
      ['null', null],
      ['number', rng.int(0, 1e9)],
      ['array of the id', [v]],
      ['operator $ne', { $ne: null }],
      ['operator $gt', { $gt: '' }],
      ['operator $regex', { $regex: '.*' }],
      ['empty', ''],
      ['blank', rng.string(3, SPACES)],
      ['23 hex digits', v.slice(1)],
      ['25 hex digits', `${v}0`],
      ['48 hex digits', `${v}${v}`],
      ['24 non-hex characters', rng.string(24, 'ghijklmnopqrstuvwxyz')],
      ['24 full-width hex digits', [...v].map((c) => FULLWIDTH['0123456789abcdef'.indexOf(c)]).join('')],
      ['id with a NUL byte', `${v}\u0000`],
      ['id with a Cyrillic letter', `${v.slice(0, 23)}а`],
      ['9,000 characters', 'a'.repeat(9000)],
      ['unicode text', 'ordér-🙂-订单-‮txet'],
    ];
  };

  const kinds: ReadonlyArray<readonly [number, () => Case]> = [
    // Real orders of other users, with the attacker's own valid session.
    [3, () => {
      const v = victim();
      const [variant, orderId] = rng.pick(victimIdVariants(v.id));
      const token = rng.pick([goodToken(), DECLINED_TOKEN, INVALID_TOKEN]);
      return post('other user\'s order, attacker session', variant, session(), json({ token, orderId }), [401]);
    }],
    // Real orders of other users, with sessions forged to be those users.
    [8, () => {
      const v = victim();
      const [variant, cookie] = rng.pick(world.forged.get(v.userId)!);
      return post('other user\'s order, forged session', variant, cookie, json({ token: goodToken(), orderId: v.id }), [401]);
    }],
    // Sessions that are missing, broken or tampered with, for unknown orders (a pass would be a 404).
    [10, () => {
      const [variant, cookie] = rng.pick(world.broken);
      return post('broken session', variant, cookie, json({ token: goodToken(), orderId: rng.bool() ? unknownId() : victim().id }), [401]);
    }],
    // Cookies that might decode to the attacker's own session: aimed at others' orders (401 either way),
    // except a jwt hidden under prototype keys, which must not be found: aimed at unknown orders (found would be 404).
    [3, () => {
      const valid = world.attackerCookie.slice('session='.length);
      const genuine = signed({ id: world.attacker, email: 'attacker@evil.dev' });
      const variants: Array<[string, string]> = [
        ['one base64 character changed', `session=${valid.slice(0, 20)}${valid[20] === 'A' ? 'B' : 'A'}${valid.slice(21)}`],
        ['two session cookies, garbage first', `session=%%%; session=${valid}`],
        ['two session cookies, valid first', `session=${valid}; session=${Buffer.from('null').toString('base64')}`],
        ['jwt hidden under __proto__', cookieOf(`{"__proto__":{"jwt":"${genuine}"}}`)],
        ['jwt hidden under constructor.prototype', cookieOf(`{"constructor":{"prototype":{"jwt":"${genuine}"}}}`)],
        ['session with extra keys', cookieOf(JSON.stringify({ jwt: genuine, userId: victim().userId, isAdmin: true }))],
        ['kid and jku headers', cookieWith(signed({ id: world.attacker, email: 'a@e.dev' }, { keyid: '../../../../dev/null', header: { alg: 'HS256', jku: 'http://evil.example/jwks' } as jwt.JwtHeader }))],
      ];
      const [variant, cookie] = rng.pick(variants);
      const orderId = variant.startsWith('jwt hidden') ? unknownId() : victim().id;
      return post('tampered cookie', variant, cookie, json({ token: goodToken(), orderId }), [401]);
    }],
    // The attacker's own orders: they may really pay them.
    [2, () => {
      const order = rng.pick(world.own);
      const [variant, token] = rng.pick<[string, string]>([
        ['visa', 'tok_visa'],
        ['another card', `tok_${rng.string(10)}`],
        ['declined card', DECLINED_TOKEN],
        ['token Stripe does not know', INVALID_TOKEN],
        ['token with spaces around', `  tok_visa \n`],
        ['unicode token', `tok_${rng.pick(['ünïcödé', '支付', 'مرحبا', '🙂🙃', 'ʇɐɯ'])}`],
        ['token with a NUL byte', 'tok_\u0000visa'],
        ['255-character token', `tok_${rng.string(251)}`],
      ]);
      return post('own order', variant, session(), json({ token, orderId: order.id }), [201, 400, 402, 409]);
    }],
    // Tokens that cannot even be sent to Stripe as they are.
    [0.5, () => {
      const order = rng.pick(world.own);
      const [variant, token] = rng.pick<[string, string]>([
        ['lone high surrogate', 'tok_\ud800visa'],
        ['lone low surrogate', 'tok_\udc00'],
        ['reversed surrogate pair', 'tok_\udc00\ud800'],
      ]);
      return post('own order, unencodable token', variant, session(), json({ token, orderId: order.id }), [201, 400, 402, 409]);
    }],
    // Unknown orders: 404.
    [1, () => post('unknown order', 'valid body', session(), json({ token: goodToken(), orderId: unknownId() }), [404])],
    // token is wrong: 400 naming token, whatever orderId is.
    [8, () => {
      const [variant, token] = rng.pick(tokenFaults());
      const orderId = rng.pick([victim().id, unknownId(), rng.pick(world.own).id]);
      return post('token is invalid', variant, session(), json({ token, orderId }), [400], { field: 'token' });
    }],
    // orderId is wrong (and token right): 400 naming orderId.
    [8, () => {
      const [variant, orderId] = rng.pick(orderIdFaults());
      return post('orderId is invalid', variant, session(), json({ token: goodToken(), orderId }), [400], { field: 'orderId' });
    }],
    // What isMongoId lets through: not 24 hex digits either, so the contract's 400.
    [1, () => {
      const prefix = rng.pick(['0x', '0X', '0h', '0H']);
      return post('orderId is invalid', `${prefix} and 22 hex digits`, session(), json({ token: goodToken(), orderId: `${prefix}${rng.hex(22)}` }), [400], { field: 'orderId' });
    }],
    // Prototype keys, top level and nested.
    [5, () => {
      const v = victim().id;
      const u = unknownId();
      const variants: Array<[string, string, number, string | null]> = [
        ['everything under __proto__', `{"__proto__":{"token":"tok_visa","orderId":"${v}"}}`, 400, 'token'],
        ['token under constructor.prototype', `{"constructor":{"prototype":{"token":"tok_visa"}},"orderId":"${u}"}`, 400, 'token'],
        ['token under prototype', `{"prototype":{"token":"tok_visa"},"orderId":"${u}"}`, 400, 'token'],
        ['orderId under __proto__', `{"token":"tok_visa","__proto__":{"orderId":"${v}"}}`, 400, 'orderId'],
        ['extra __proto__ with admin flags', `{"token":"tok_visa","orderId":"${v}","__proto__":{"isAdmin":true,"userId":"${world.attacker}","id":"${world.attacker}"}}`, 401, null],
        ['token is an object with __proto__', `{"token":{"__proto__":{"toString":"tok_visa"}},"orderId":"${u}"}`, 400, 'token'],
        ['orderId is an object with constructor', `{"token":"tok_visa","orderId":{"constructor":{"prototype":{"toString":"${v}"}}}}`, 400, 'orderId'],
        ['nested __proto__ three deep', `{"a":{"b":{"__proto__":{"token":"tok_visa","polluted":true}}},"orderId":"${u}"}`, 400, 'token'],
        ['__proto__ as an array', `{"__proto__":["tok_visa"],"token":"tok_visa","orderId":"${u}"}`, 404, null],
        ['constructor as a string', `{"constructor":"Object","token":"tok_visa","orderId":"${u}"}`, 404, null],
      ];
      const [variant, body, status, field] = rng.pick(variants);
      return post('prototype keys', variant, session(), Buffer.from(body), [status], status === 400 ? { field } : {});
    }],
    // Canaries: a polluted Object.prototype would make these pass validation.
    [2, () => {
      const [variant, body, field] = rng.pick<[string, unknown, string]>([
        ['empty object', {}, 'token'],
        ['token only', { token: 'tok_visa' }, 'orderId'],
        ['orderId only', { orderId: unknownId() }, 'token'],
      ]);
      return post('canary', variant, session(), json(body), [400], { field });
    }],
    // Duplicate keys: JSON.parse keeps the last.
    [1, () => {
      const v = victim().id;
      const own = rng.pick(world.own).id;
      const u = unknownId();
      const variants: Array<[string, string, number, string | null | undefined]> = [
        ['own orderId then other user\'s', `{"token":"tok_visa","orderId":"${own}","orderId":"${v}"}`, 401, undefined],
        ['other user\'s orderId then unknown', `{"token":"tok_visa","orderId":"${v}","orderId":"${u}"}`, 404, undefined],
        ['valid token then a number', `{"token":"tok_visa","token":42,"orderId":"${u}"}`, 400, 'token'],
        ['a number then a valid token', `{"token":42,"token":"tok_visa","orderId":"${u}"}`, 404, undefined],
        ['orderId then an operator', `{"token":"tok_visa","orderId":"${u}","orderId":{"$ne":null}}`, 400, 'orderId'],
      ];
      const [variant, body, status, field] = rng.pick(variants);
      return post('duplicate keys', variant, session(), Buffer.from(body), [status], field !== undefined ? { field } : {});
    }],
    // Not JSON (or JSON that is not an object or array): 400, before the session is even looked at.
    [6, () => {
      const u = unknownId();
      const variants: Array<[string, Buffer]> = [
        ['truncated', Buffer.from(`{"token":"tok_visa","orderId":"${u}"`)],
        ['trailing comma', Buffer.from(`{"token":"tok_visa","orderId":"${u}",}`)],
        ['single quotes', Buffer.from(`{'token':'tok_visa','orderId':'${u}'}`)],
        ['NaN value', Buffer.from(`{"token":NaN,"orderId":"${u}"}`)],
        ['comment', Buffer.from(`{"token":"tok_visa", /* hi */ "orderId":"${u}"}`)],
        ['missing value', Buffer.from('{"token":}')],
        ['null', Buffer.from('null')],
        ['a string', Buffer.from('"tok_visa"')],
        ['a number', Buffer.from('42')],
        ['true', Buffer.from('true')],
        ['unquoted keys', Buffer.from(`{token:"tok_visa",orderId:"${u}"}`)],
        ['an unterminated string of random bytes', Buffer.concat([Buffer.from('{"'), rng.bytes(rng.int(1, 300)).filter((b) => b !== 0x22 && b !== 0x5c)])],
        ['unterminated deep nesting', Buffer.from('['.repeat(3000))],
        ['xml', Buffer.from('<payment><token>tok_visa</token></payment>')],
        ['bad escape', Buffer.from('{"token":"\\x41","orderId":"a"}')],
      ];
      const [variant, body] = rng.pick(variants);
      const cookie = rng.pick([session(), undefined, world.broken[2][1]]);
      return post('invalid JSON', variant, cookie, body, [400], { field: null });
    }],
    // JSON that parses but is no payment request.
    [3, () => {
      const variants: Array<[string, Buffer]> = [
        ['empty body', Buffer.alloc(0)],
        ['empty array', Buffer.from('[]')],
        ['array of a valid body', json([{ token: 'tok_visa', orderId: victim().id }])],
        ['deeply nested arrays', Buffer.from(`${'['.repeat(4000)}${']'.repeat(4000)}`)],
        ['deeply nested objects', Buffer.from(`${'{"a":'.repeat(1500)}1${'}'.repeat(1500)}`)],
        ['800 keys', Buffer.from(`{${Array.from({ length: 800 }, (_, i) => `"k${i}":${i}`).join(',')}}`)],
        ['a 9,000-character key', Buffer.from(`{"${'k'.repeat(9000)}":"tok_visa"}`)],
      ];
      const [variant, body] = rng.pick(variants);
      return post('JSON of the wrong shape', variant, session(), body, [400], { field: 'token' });
    }],
    // Invalid UTF-8 inside strings decodes to U+FFFD, which no card token holds: refused before the order is looked at.
    [0.5, () => {
      const v = victim().id;
      const body = Buffer.concat([Buffer.from('{"token":"tok_'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(`","orderId":"${v}"}`)]);
      return post('invalid UTF-8', 'in the token', session(), body, [400], { field: 'token' });
    }],
    // Content types that are not JSON: the body is not read, so token is missing.
    [4, () => {
      const v = victim().id;
      const [variant, contentType, body] = rng.pick<[string, string | undefined, Buffer]>([
        ['text/plain', 'text/plain', json({ token: 'tok_visa', orderId: v })],
        ['form', 'application/x-www-form-urlencoded', Buffer.from(`token=tok_visa&orderId=${v}`)],
        ['multipart', 'multipart/form-data; boundary=x', Buffer.from(`--x\r\nContent-Disposition: form-data; name="token"\r\n\r\ntok_visa\r\n--x--`)],
        ['xml', 'application/xml', Buffer.from('<token>tok_visa</token>')],
        ['no content type', undefined, json({ token: 'tok_visa', orderId: v })],
        ['vendor +json', 'application/vnd.api+json', json({ token: 'tok_visa', orderId: v })],
        ['octet-stream', 'application/octet-stream', rng.bytes(200)],
        ['garbage type', ';;;', json({ token: 'tok_visa', orderId: v })],
      ]);
      const headers: Record<string, string> = { cookie: session() };
      if (contentType) headers['content-type'] = contentType;
      return { kind: 'content type not JSON', variant, method: 'POST', path: '/api/payments', headers, body, expect: [400], field: 'token' };
    }],
    // JSON content types with unusual parameters.
    [3, () => {
      const v = victim().id;
      const [variant, contentType, statuses, field] = rng.pick<[string, string, number[], string | null]>([
        ['charset=latin1', 'application/json; charset=latin1', [415], null],
        ['charset=iso-8859-1', 'application/json; charset=iso-8859-1', [415], null],
        ['charset=ascii', 'application/json; charset=ascii', [415], null],
        ['charset=utf-8', 'application/json; charset=utf-8', [400], 'orderId'],
        ['charset=UTF-8', 'application/json; charset=UTF-8', [400], 'orderId'],
        ['upper-case type', 'APPLICATION/JSON', [400], 'orderId'],
        ['charset=utf-16 (body is utf-8)', 'application/json; charset=utf-16', [400], null],
      ]);
      return { ...post('JSON content type parameters', variant, session(), json(parsedProbe(v)), statuses, { field }), headers: { 'content-type': contentType, cookie: session() } };
    }],
    // Content encodings, valid and broken.
    [4, () => {
      const v = victim().id;
      const { valid, gzip, deflate, br, bomb } = compressed(v);
      const variants: Array<[string, string, Buffer, number[]]> = [
        ['gzip', 'gzip', gzip, [400]],
        ['deflate', 'deflate', deflate, [400]],
        ['br', 'br', br, [400]],
        ['identity', 'identity', valid, [400]],
        ['gzip that inflates past 10 kB', 'gzip', bomb, [413]],
        ['unsupported: compress', 'compress', valid, [415]],
        ['unsupported: zstd', 'zstd', valid, [415]],
        ['gzip header, body not gzip', 'gzip', valid, [400]],
        ['deflate header, body not deflate', 'deflate', valid, [400]],
        ['br header, body not brotli', 'br', Buffer.from('this is not a brotli stream, it is plain text'), [400]],
        ['truncated gzip', 'gzip', gzip.subarray(0, 20), [400]],
      ];
      const [variant, encoding, body, statuses] = rng.pick(variants);
      const c = post('content encoding', variant, session(), body, statuses, { field: ['gzip', 'deflate', 'br', 'identity'].includes(variant) ? 'orderId' : null });
      c.headers['content-encoding'] = encoding;
      return c;
    }],
    // Sizes around the 10 kB limit, and far past it.
    [4, () => {
      const v = victim().id;
      // Past the limit the server may answer 413 and close before it has read everything.
      const [variant, size, statuses, mayReset] = rng.pick<[string, number, number[], boolean]>([
        ['10,239 bytes', BODY_LIMIT - 1, [400], false],
        ['10,240 bytes (the limit)', BODY_LIMIT, [400], false],
        ['10,241 bytes', BODY_LIMIT + 1, [413], true],
        ['10,300 bytes', BODY_LIMIT + 60, [413], true],
        ['100 kB', 100_000, [413], true],
        ['1 MB', 1_000_000, [413], true],
      ]);
      const head = `{"token":"tok_visa","orderId":"${parsedProbe(v).orderId}","pad":"`;
      const body = Buffer.from(`${head}${'p'.repeat(size - head.length - 2)}"}`);
      if (body.length !== size) throw new Error(`generator: body of ${body.length} bytes, meant ${size}`);
      return post('body size', variant, session(), body, statuses, { mayReset, chunked: rng.bool(0.3), field: statuses[0] === 400 ? 'orderId' : null });
    }],
    // Weird but valid sessions (the right key, odd ids): still not the other user's order.
    [0.5, () => {
      const [variant, id] = rng.pick<[string, string]>([
        ['id __proto__', '__proto__'],
        ['id constructor', 'constructor'],
        ['id 3 kB', rng.string(3000)],
        ['id unicode', '用户🙂'],
        ['id with a NUL byte', 'user\u0000admin'],
        ['id $ne operator text', '{"$ne":null}'],
      ]);
      const cookie = cookieWith(signed({ id, email: 'odd@x.dev' }));
      const target = rng.bool() ? { orderId: victim().id, expect: [401] } : { orderId: unknownId(), expect: [404] };
      return post('odd but genuine session', variant, cookie, json({ token: 'tok_visa', orderId: target.orderId }), target.expect);
    }],
    // The query string is not the body.
    [1, () => {
      const own = rng.pick(world.own).id;
      const c = post('query string', 'token and orderId in the query', session(), json({}), [400], { field: 'token' });
      c.path = `/api/payments?token=tok_visa&orderId=${own}&__proto__[token]=tok_visa`;
      return c;
    }],
    // Headers over node's 16 kB limit: node answers 431 itself.
    [0.3, () => post('huge headers', 'cookie of 20 kB', `session=${'A'.repeat(20_000)}`, json({ token: 'tok_visa', orderId: victim().id }), [431], { mayReset: true })],
    // Other paths and methods.
    [6, () => {
      const [variant, method, route, statuses] = rng.pick<[string, string, string, number[]]>([
        ['GET /api/payments', 'GET', '/api/payments', [400, 401]],
        ['PUT /api/payments', 'PUT', '/api/payments', [404]],
        ['DELETE /api/payments', 'DELETE', '/api/payments', [404]],
        ['PATCH /api/payments', 'PATCH', '/api/payments', [404]],
        ['GET /api/payments/<id>', 'GET', `/api/payments/${victim().id}`, [401, 404]],
        ['DELETE /api/payments/<id>', 'DELETE', `/api/payments/${victim().id}`, [404]],
        ['POST /api/payments/<id>/refund', 'POST', `/api/payments/${victim().id}/refund`, [404]],
        ['traversal', 'GET', '/api/payments/..%2f..%2f..%2fetc%2fpasswd', [400, 401, 404]],
        ['dot segments', 'GET', '/api/payments/%2e%2e/%2e%2e/healthz/x', [404]],
        ['random path', 'GET', `/${rng.string(rng.int(1, 40))}`, [404]],
        ['long path', 'GET', `/${'a'.repeat(7000)}`, [404]],
        ['malformed escape %ff', 'GET', `/api/payments/%ff${rng.string(4)}`, [400, 404]],
        ['malformed escape %E0%A4%A', 'GET', '/%E0%A4%A', [400, 404]],
        ['malformed escape %', 'GET', `/${rng.string(3)}%`, [400, 404]],
        ['proto in query', 'GET', '/api/payments?__proto__[polluted]=1&constructor[prototype][x]=1', [400, 401]],
        ['GET /healthz', 'GET', '/healthz', [200]],
        ['GET /healthz with a query', 'GET', `/healthz?${rng.string(10)}=${rng.string(10)}`, [200]],
        ['GET /readyz', 'GET', '/readyz', [200]],
        ['GET /metrics', 'GET', '/metrics', [200]],
        ['POST /healthz', 'POST', '/healthz', [404]],
        ['POST /metrics', 'POST', '/metrics', [404]],
      ]);
      const headers: Record<string, string> = rng.bool() ? { cookie: session() } : {};
      return { kind: 'other paths', variant, method, path: route, headers, expect: statuses };
    }],
    // Other paths, with bodies the JSON parser refuses before the 404.
    [2, () => {
      const route = `/${rng.pick(['api/payments/x', 'api/orders', 'admin', rng.string(12)])}`;
      const [variant, body, contentType, statuses] = rng.pick<[string, Buffer, string, number[]]>([
        ['invalid JSON', Buffer.from('{"a":'), JSON_TYPE, [400, 404]],
        ['body over 10 kB', Buffer.from(JSON.stringify({ pad: 'p'.repeat(BODY_LIMIT) })), JSON_TYPE, [413, 404]],
        ['charset=latin1', Buffer.from('{}'), 'application/json; charset=latin1', [415, 404]],
        ['valid JSON', json({ token: 'tok_visa', orderId: victim().id }), JSON_TYPE, [404]],
      ]);
      return { kind: 'other paths with a body', variant, method: rng.pick(['POST', 'PUT', 'PATCH']), path: route, headers: { 'content-type': contentType, cookie: session() }, body, expect: statuses };
    }],
  ];

  return () => {
    const c = rng.weighted(kinds)();
    // Now and then an X-Request-Id: a safe one must come back, any other be replaced.
    if (rng.bool(0.1)) {
      const safe = rng.bool();
      const value = safe ? rng.string(rng.int(1, 64), 'abcXYZ019._-') : rng.string(rng.int(1, 200), '!"#$%&\'()*+,/:;<=>?@[\\]^`{|}~abc');
      c.headers['x-request-id'] = value;
      if (safe) c.requestId = value;
    }
    return c;
  };
}

// ---------------------------------------------------------------------------
// Sending

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  error?: string;
}

function send(port: number, agent: http.Agent, c: Case): Promise<Reply> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { ...c.headers };
    if (c.body && !c.chunked) headers['content-length'] = String(c.body.length);
    if (c.chunked) headers['transfer-encoding'] = 'chunked';
    const req = http.request({ host: '127.0.0.1', port, method: c.method, path: c.path, headers, agent, timeout: 20_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => resolve({ status: -1, headers: {}, body: '', error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 20 s')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: -1, headers: {}, body: '', error: err.code ?? err.message }));
    if (c.body) {
      if (c.chunked) {
        for (let i = 0; i < c.body.length; i += 4096) req.write(c.body.subarray(i, i + 4096));
        req.end();
      } else {
        req.end(c.body);
      }
    } else {
      req.end();
    }
  });
}

/** What is wrong with a reply, if anything. */
function judge(c: Case, reply: Reply): string[] {
  const problems: string[] = [];
  if (reply.status === -1) {
    if (!c.mayReset) problems.push(`network error: ${reply.error}`);
    return problems;
  }
  if (reply.status >= 500) problems.push(`5xx: ${reply.status}`);
  if (!c.expect.includes(reply.status)) problems.push(`status ${reply.status}, expected ${c.expect.join(' or ')}`);
  if (reply.status === 431) return problems; // node's own answer, before the app

  const contentType = String(reply.headers['content-type'] ?? '');
  let body: unknown = reply.body;
  if (contentType.startsWith('application/json')) {
    try {
      body = JSON.parse(reply.body);
    } catch {
      problems.push('body is not JSON although its content type says so');
      return problems;
    }
  }
  const route = c.path.split('?')[0];
  const method = c.method.toLowerCase();
  const documented = spec.paths?.[route]?.[method] !== undefined;
  if (documented) {
    const schema = schemaFor(route, method, reply.status);
    if (schema === undefined) problems.push(`status ${reply.status} is not documented for ${c.method} ${route}`);
    else if (schema === 'text') {
      if (!contentType.startsWith('text/plain')) problems.push(`content type ${contentType}, documented text/plain`);
    } else if (!contentType.startsWith('application/json')) problems.push(`content type ${contentType}, documented application/json`);
    else if (!schema(body)) problems.push(`body does not match the spec for ${reply.status}: ${ajv.errorsText(schema.errors)}`);
  } else if (!contentType.startsWith('application/json') || !errorSchema(body)) {
    problems.push(`undocumented route answered without the error shape: ${reply.body.slice(0, 200)}`);
  }

  if (reply.status === 400 && c.field !== undefined && typeof body === 'object' && body !== null) {
    const field = (body as { errors?: Array<{ field?: string }> }).errors?.[0]?.field ?? null;
    if (field !== c.field) problems.push(`400 names field ${String(field)}, expected ${String(c.field)}`);
  }
  const requestId = String(reply.headers['x-request-id'] ?? '');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(requestId)) problems.push(`unsafe X-Request-Id echoed: ${requestId.slice(0, 80)}`);
  if (c.requestId && requestId !== c.requestId) problems.push('a safe X-Request-Id was not kept');
  return problems;
}

async function runAll(cases: () => Case, total: number, sendOne: (c: Case) => Promise<Reply>) {
  const results: Array<{ index: number; c: Case; reply: Reply; problems: string[]; ms: number }> = [];
  let issued = 0;
  const worker = async () => {
    while (issued < total) {
      const index = issued;
      issued += 1;
      const c = cases(); // generated in index order: the same seed gives the same requests
      const sent = performance.now();
      const reply = await sendOne(c);
      const ms = performance.now() - sent;
      const problems = judge(c, reply);
      if (c.body && c.body.length > 20_000) c.body = Buffer.from(`<${c.body.length} bytes>`);
      results.push({ index, c, reply: { ...reply, body: reply.body.slice(0, 300) }, problems, ms });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return results.sort((a, b) => a.index - b.index);
}

// ---------------------------------------------------------------------------
// Events

interface PublishedEvent {
  subject: string;
  sequence: number;
  data: string;
  category: string;
  valid?: { id: string; userId: string; price: number; version: number; status: string };
}

function malformedEvent(rng: Random): { subject: string; category: string; data: string } {
  const base = () => ({
    id: rng.id(),
    version: rng.int(0, 5),
    status: 'created',
    userId: `user-${rng.string(8)}`,
    expiresAt: new Date().toISOString(),
    ticket: { id: rng.id(), price: rng.int(1, 500) },
  });
  const without = (key: string) => {
    const event: Record<string, unknown> = base();
    delete event[key];
    return JSON.stringify(event);
  };
  const withField = (key: string, value: unknown) => JSON.stringify({ ...base(), [key]: value });
  const withRaw = (key: string, rawValue: string) => {
    const event = base();
    return JSON.stringify({ ...event, [key]: '__RAW__' }).replace('"__RAW__"', rawValue);
  };
  const withPrice = (rawValue: string) => {
    const event = base();
    return JSON.stringify({ ...event, ticket: { id: event.ticket.id, price: '__RAW__' } }).replace('"__RAW__"', rawValue);
  };
  const inner = (event: object) => JSON.stringify(event).slice(1, -1);
  const big = 500_000;
  const created: ReadonlyArray<readonly [number, () => [string, string]]> = [
    [8, () => ['not JSON', rng.pick(['{', '{"id":', 'undefined', 'NaN', '', ' ', "{'id':1}", '{"id":1,}', '<order/>', '\u0000', rng.bytes(40).toString('latin1')])]],
    [6, () => ['JSON but not an object', rng.pick(['null', '42', '"order"', '[]', 'true', JSON.stringify([base()])])]],
    [10, () => ['a field missing', rng.pick([without('id'), without('version'), without('status'), without('userId'), without('ticket'), JSON.stringify({ ...base(), ticket: { id: rng.id() } })])]],
    [12, () => ['a field of the wrong type', rng.pick([
      withField('id', rng.int(0, 1e9)), withField('id', null), withField('id', { $oid: rng.id() }),
      withField('version', String(rng.int(0, 9))), withField('version', null), withField('version', true), withField('version', []),
      withField('status', 42), withField('status', null), withField('status', ''), withField('userId', { id: 'x' }), withField('userId', ''),
      withField('ticket', 'ticket'), withField('ticket', []), withField('ticket', null),
      withPrice('"19.99"'), withPrice('null'), withPrice('true'), withPrice('[]'), withPrice('-1'), withPrice('1e309'), withPrice('-1e309'),
    ])]],
    [10, () => ['an id of the wrong length or alphabet', withField('id', rng.pick([
      rng.hex(23), rng.hex(25), rng.hex(12), '', rng.hex(48), rng.string(24, 'ghijkxyz'), `0x${rng.hex(22)}`, `${rng.hex(23)} `, `${rng.hex(23)}\u0000`,
      [...rng.hex(24)].map((c) => FULLWIDTH['0123456789abcdef'.indexOf(c)]).join(''),
    ]))]],
    [12, () => ['a bad version', rng.pick([
      withField('version', -1), withField('version', -rng.int(2, 1e9)), withField('version', 1.5), withField('version', Number.MAX_SAFE_INTEGER + 1),
      withField('version', 1e20), withField('version', 'NaN'), withField('version', 'Infinity'), withRaw('version', '1e309'), withRaw('version', '-1e309'),
      withRaw('version', '-0.5'), withRaw('version', '18446744073709551616'),
    ])]],
    [6, () => ['prototype keys', rng.pick([
      `{"__proto__":${JSON.stringify(base())}}`,
      `{"constructor":{"prototype":${JSON.stringify(base())}}}`,
      `{"prototype":${JSON.stringify(base())}}`,
      (() => { const e = base(); return `{${inner({ ...e, ticket: undefined })},"ticket":{"__proto__":{"price":${e.ticket.price}},"id":"${e.ticket.id}"}}`; })(),
      (() => { const e = base(); const { id, ...rest } = e; return `{${inner(rest)},"__proto__":{"id":"${id}"}}`; })(),
      (() => { const e = base(); const { version, ...rest } = e; return `{${inner(rest)},"constructor":{"prototype":{"version":${version}}}}`; })(),
    ])]],
    [3, () => ['huge payload (~500 kB)', rng.pick([
      withField('status', 's'.repeat(big)),
      withField('userId', 'u'.repeat(big)),
      rng.string(1000).repeat(big / 1000),
      JSON.stringify(Array.from({ length: big / 10 }, () => 12345678)),
      withField('id', 'f'.repeat(big)),
    ])]],
    [3, () => ['strings too long', rng.pick([withField('status', 's'.repeat(201)), withField('userId', 'u'.repeat(201))])]],
  ];
  const cancelled: ReadonlyArray<readonly [number, () => [string, string]]> = [
    [5, () => ['not JSON', rng.pick(['{', '', 'undefined', '{"id":"x",', rng.bytes(30).toString('latin1')])]],
    [4, () => ['JSON but not an object', rng.pick(['null', '0', '"cancel"', '[]', 'false'])]],
    [6, () => ['a field missing', rng.pick([JSON.stringify({ version: 1 }), JSON.stringify({ id: rng.id() }), '{}'])]],
    [6, () => ['a field of the wrong type', rng.pick([
      JSON.stringify({ id: 123, version: 1 }), JSON.stringify({ id: rng.id(), version: '1' }), JSON.stringify({ id: [rng.id()], version: 1 }),
      JSON.stringify({ id: rng.id(), version: null }), JSON.stringify({ id: { $ne: null }, version: 1 }),
    ])]],
    [6, () => ['an id of the wrong length or alphabet', JSON.stringify({ id: rng.pick([rng.hex(23), rng.hex(25), '', rng.string(24, 'xyz')]), version: 1 })]],
    [8, () => ['a bad version', rng.pick([
      JSON.stringify({ id: rng.id(), version: 0 }), JSON.stringify({ id: rng.id(), version: -1 }), JSON.stringify({ id: rng.id(), version: 2.5 }),
      JSON.stringify({ id: rng.id(), version: 2 ** 60 }), `{"id":"${rng.id()}","version":1e309}`, JSON.stringify({ id: rng.id(), version: 'NaN' }),
    ])]],
    [3, () => ['prototype keys', rng.pick([
      `{"__proto__":{"id":"${rng.id()}","version":1}}`,
      `{"constructor":{"prototype":{"id":"${rng.id()}","version":1}}}`,
      `{"id":"${rng.id()}","__proto__":{"version":1}}`,
    ])]],
    [1, () => ['huge payload (~500 kB)', rng.pick([JSON.stringify({ id: 'a'.repeat(big), version: 1 }), JSON.stringify({ id: rng.id(), version: 0, pad: 'p'.repeat(big) })])]],
  ];
  const subject = rng.bool(0.7) ? Subjects.OrderCreated : Subjects.OrderCancelled;
  const [category, data] = rng.weighted(subject === Subjects.OrderCreated ? created : cancelled)();
  return { subject, category, data };
}

function validEvent(rng: Random): { data: string; category: string; valid: NonNullable<PublishedEvent['valid']> } {
  const valid = {
    id: rng.bool(0.2) ? rng.id().toUpperCase() : rng.id(),
    userId: `user-${rng.string(10)}`,
    price: rng.pick([19.99, 0.5, 100, 1234.56, rng.int(1, 900)]),
    version: rng.int(0, 3),
    status: rng.pick(['created', 'awaiting:payment']),
  };
  const event = { id: valid.id, version: valid.version, status: valid.status, userId: valid.userId, expiresAt: new Date().toISOString(), ticket: { id: rng.id(), price: valid.price } };
  const [category, data] = rng.weighted<[string, string]>([
    [85, ['valid', JSON.stringify(event)]],
    [5, ['valid, with ~500 kB of extra fields', JSON.stringify({ ...event, notes: 'n'.repeat(500_000) })]],
    [5, ['valid, with an extra __proto__ key', `{${JSON.stringify(event).slice(1, -1)},"__proto__":{"status":"complete","userId":"attacker","price":0}}`]],
    [5, ['valid, with an extra constructor key', `{${JSON.stringify(event).slice(1, -1)},"constructor":{"prototype":{"status":"complete"}}}`]],
  ]);
  return { data, category, valid: { ...valid, id: valid.id.toLowerCase() } };
}

/** Every message the server holds on the subjects, by sequence: to tie our publishes to sequences. */
async function readChannels(nats: { url: string; clusterId: string }, subjects: string[], counts: Record<string, number>) {
  const broker = await connectBroker(nats, unique('hostile-spy'));
  const seen: Record<string, Map<number, string>> = Object.fromEntries(subjects.map((s) => [s, new Map()]));
  for (const subject of subjects) await broker.listen(subject, (data, sequence) => seen[subject].set(sequence, data));
  await eventually(() => {
    for (const subject of subjects) expect(seen[subject].size).toBeGreaterThanOrEqual(counts[subject]);
  }, 60_000, 200);
  await broker.close();
  return seen;
}

// ---------------------------------------------------------------------------
// Summaries

function table(title: string, rows: Array<[string, string | number]>): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  const line = '-'.repeat(width + 14);
  return [`\n${title}`, line, ...rows.map(([label, value]) => `${label.padEnd(width)}  ${String(value).padStart(10)}`), line].join('\n');
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

function metricValue(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

// ---------------------------------------------------------------------------

describe('hostile input against the service process', () => {
  let nats: NatsTarget;
  let stripe: FakeStripe;
  let proc: ServiceProcess;
  let publisher: OrdersPublisher | undefined;
  let connection: Connection;
  let orders: OrderModel;
  let payments: PaymentModel;
  let pid: number;
  const database = unique('hostile');
  const rng = new Random(SEED);
  const published: Record<string, number> = { [Subjects.OrderCreated]: 0, [Subjects.OrderCancelled]: 0 };
  const publish = async (subject: string, data: string) => {
    const sequence = await publisher!.raw(subject, data);
    published[subject] += 1;
    // NATS Streaming numbers each channel from 1 (and does not say at once); JetStream numbers the stream.
    return sequence ?? published[subject];
  };
  const world: World = {
    victims: [],
    own: [],
    retry: [],
    attacker: `attacker-${rng.hex(8)}`,
    attackerCookie: '',
    forged: new Map(),
    broken: [],
  };

  beforeAll(async () => {
    const entry = path.join(__dirname, '..', 'dist', 'index.js');
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first (npm run test:resilience does)`);
    nats = await natsServer();
    stripe = await FakeStripe.start();
    // The fake Stripe shares this busy process: a generous timeout keeps a slow answer from passing for a Stripe failure.
    proc = await ServiceProcess.start({ database, nats, stripeUrl: stripe.url, env: { STRIPE_TIMEOUT_MS: '15000' } });
    pid = proc.pid;
    publisher = await OrdersPublisher.connect(nats);
    connection = await mongoose.createConnection(databaseUri(database)).asPromise();
    orders = orderModel(connection);
    payments = paymentModel(connection);

    world.attackerCookie = cookieWith(signed({ id: world.attacker, email: 'attacker@evil.dev' }));
    world.broken = brokenSessions(rng);
    const victimUsers = Array.from({ length: 5 }, () => `victim-${rng.hex(8)}`);
    for (const userId of victimUsers) world.forged.set(userId, forgedSessionsFor(userId));
    world.victims = Array.from({ length: 20 }, (_, i) => ({ id: rng.id(), userId: victimUsers[i % victimUsers.length] }));
    world.own = Array.from({ length: 25 }, () => ({ id: rng.id() }));
    world.retry = Array.from({ length: 2 }, () => ({ id: rng.id() }));
    const created = (id: string, userId: string) =>
      JSON.stringify({ id, version: 0, status: 'created', userId, expiresAt: new Date().toISOString(), ticket: { id: rng.id(), price: rng.int(5, 200) } });
    for (const v of world.victims) await publish(Subjects.OrderCreated, created(v.id, v.userId));
    for (const o of [...world.own, ...world.retry]) await publish(Subjects.OrderCreated, created(o.id, world.attacker));
    const total = world.victims.length + world.own.length + world.retry.length;
    await eventually(async () => expect(await orders.countDocuments({})).toBe(total), 30_000, 100);
    // Closed during the HTTP campaign and reopened for the events: an idle client that misses the server's heartbeats
    // (every 1 s, dropped after 2) while this process is busy would be dropped by the server.
    await publisher.close();
    publisher = undefined;
  }, 120_000);

  afterAll(async () => {
    // HOSTILE_SERVICE_LOG=<file> keeps the service's log for a closer look.
    if (process.env.HOSTILE_SERVICE_LOG && proc) writeFileSync(process.env.HOSTILE_SERVICE_LOG, `${proc.lines.join('\n')}\n`);
    await connection?.close();
    await Promise.race([publisher?.close().catch(() => undefined), sleep(3000)]);
    await proc?.stop();
    await stripe?.stop();
    await nats?.stop();
  }, 60_000);

  describe(`a) ${HTTP_REQUESTS} generated HTTP requests, ${CONCURRENCY} in flight`, () => {
    let results: Awaited<ReturnType<typeof runAll>>;
    let canaries: Awaited<ReturnType<typeof runAll>>;
    const victimIds = () => new Set(world.victims.map((v) => v.id));

    beforeAll(async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
      const loop = monitorEventLoopDelay({ resolution: 20 });
      loop.enable();
      const started = Date.now();
      results = await runAll(generator(rng, world), HTTP_REQUESTS, (c) => send(proc.port, agent, c));
      // After everything: would a polluted prototype let an empty body through?
      let n = 0;
      const canary = (): Case => {
        n += 1;
        const bodies: Array<[unknown, string]> = [[{}, 'token'], [{ token: 'tok_visa' }, 'orderId'], [{ orderId: rng.id() }, 'token']];
        const [body, field] = bodies[n % bodies.length];
        return post('final canary', String(n % bodies.length), world.attackerCookie, json(body), [400], { field });
      };
      canaries = await runAll(canary, 60, (c) => send(proc.port, agent, c));
      agent.destroy();
      loop.disable();
      const seconds = (Date.now() - started) / 1000;
      const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
      const percentile = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))].toFixed(0);

      const all = [...results, ...canaries];
      const byStatus = [...countBy(all, (r) => String(r.reply.status))].sort();
      const victimIdList = world.victims.map((v) => v.id);
      const touched = {
        stripe: world.victims.filter((v) => stripe.requestsFor(v.id).length > 0).length,
        payments: (await payments.distinct('orderId', { orderId: { $in: victimIdList } })).length,
        changed: await orders.countDocuments({ _id: { $in: victimIdList }, $or: [{ status: { $ne: 'created' } }, { version: { $ne: 0 } }] }),
      };
      const problems = all.filter((r) => r.problems.length > 0);
      console.log(
        table(`hostile HTTP campaign (seed ${SEED}, ${seconds.toFixed(1)} s, ${(all.length / seconds).toFixed(0)} req/s)`, [
          ['requests', all.length],
          ...byStatus.map(([status, count]): [string, number] => [`  status ${status === '-1' ? 'network error' : status}`, count]),
          ['5xx', all.filter((r) => r.reply.status >= 500).length],
          ['requests with a problem', problems.length],
          ['crashes (process exited)', proc.exit ? 1 : 0],
          [`others' orders (${world.victims.length}) called at Stripe / paid / changed`, `${touched.stripe} / ${touched.payments} / ${touched.changed}`],
          ['requests aimed at others\' orders', all.filter((r) => r.c.body && victimIdList.some((id) => r.c.body!.toString('latin1').toLowerCase().includes(id))).length],
          ['latency p50 / p99 / max (ms)', `${percentile(0.5)} / ${percentile(0.99)} / ${latencies[latencies.length - 1].toFixed(0)}`],
          ['test process event-loop delay max (ms)', (loop.max / 1e6).toFixed(0)],
        ]),
      );
      const byKind = [...countBy(all, (r) => r.c.kind)].map(([kind, count]): [string, string] => {
        const bad = all.filter((r) => r.c.kind === kind && r.problems.length > 0).length;
        const statuses = [...countBy(all.filter((r) => r.c.kind === kind), (r) => String(r.reply.status))].map(([s, c]) => `${s}:${c}`).join(' ');
        const ms = all.filter((r) => r.c.kind === kind).map((r) => r.ms).sort((x, y) => x - y);
        return [`${kind} [${statuses}] p50 ${ms[Math.floor(ms.length / 2)].toFixed(0)} ms`, bad === 0 ? `${count} ok` : `${bad}/${count} BAD`];
      });
      console.log(table('by kind of request [status:count]', byKind));
      if (problems.length > 0) {
        const grouped = [...countBy(problems, (r) => `${r.c.kind} / ${r.c.variant}: ${r.problems.join('; ').replace(/[0-9a-f]{24}/g, '<id>').slice(0, 160)}`)];
        console.log(table('problems (kind / variant: what)', grouped.map(([what, count]) => [what, count])));
        const examples = new Map<string, (typeof problems)[number]>();
        for (const r of problems) if (!examples.has(`${r.c.kind}/${r.c.variant}`)) examples.set(`${r.c.kind}/${r.c.variant}`, r);
        console.log(
          `first example of each problem (seed ${SEED}):\n${[...examples.values()].slice(0, 15).map((r) =>
            `#${r.index} ${r.c.method} ${r.c.path.slice(0, 80)} headers=${JSON.stringify({ ...r.c.headers, cookie: r.c.headers.cookie?.slice(0, 60) })} body=${JSON.stringify(r.c.body?.toString('utf8').slice(0, 120))}\n    -> ${r.reply.status} ${r.reply.body.slice(0, 160)} :: ${r.problems.join('; ')}`,
          ).join('\n')}`,
        );
      }
    }, 200_000);

    test('when they have been answered, then the process never exited and /healthz answers 200', async () => {
      expect(results.length).toBeGreaterThanOrEqual(10_000);
      expect(proc.exit).toBeUndefined();
      expect(proc.pid).toBe(pid);
      const health = await fetch(`${proc.url}/healthz`);
      expect(health.status).toBe(200);
    });

    test('when they have been answered, then no order of another user was charged, recorded as paid or changed', async () => {
      const ids = [...victimIds()];
      const aimedAtVictims = results.filter((r) => r.c.body && ids.some((id) => r.c.body!.toString('latin1').toLowerCase().includes(id))).length;
      expect(aimedAtVictims).toBeGreaterThan(HTTP_REQUESTS / 5);
      expect(stripe.requests.filter((r) => victimIds().has(r.params['metadata[orderId]']))).toEqual([]);
      expect(stripe.charges.filter((c) => victimIds().has(c.metadata.orderId))).toEqual([]);
      expect(await payments.find({ orderId: { $in: ids } }).lean()).toEqual([]);
      const stored = await orders.find({ _id: { $in: ids } }).lean();
      expect(stored).toHaveLength(ids.length);
      for (const order of stored) {
        const victim = world.victims.find((v) => v.id === order._id)!;
        expect({ id: order._id, userId: order.userId, status: order.status, version: order.version }).toEqual({
          id: victim.id, userId: victim.userId, status: 'created', version: 0,
        });
      }
    });

    test('when they have been answered, then the attacker\'s own orders were each charged at most once, and only ever to them', async () => {
      const own = new Set(world.own.map((o) => o.id));
      expect(results.filter((r) => r.reply.status === 201).length).toBeGreaterThan(0);
      for (const { id } of world.own) {
        expect({ id, charges: stripe.chargesFor(id).length <= 1 }).toEqual({ id, charges: true });
        expect({ id, payments: (await payments.countDocuments({ orderId: id })) <= 1 }).toEqual({ id, payments: true });
      }
      expect(stripe.charges.filter((c) => !own.has(c.metadata.orderId) && !world.retry.some((o) => o.id === c.metadata.orderId))).toEqual([]);
      expect(await payments.countDocuments({ userId: { $ne: world.attacker } })).toBe(0);
    });

    test('when they have been answered, then Stripe was only ever asked to charge a card token the client sent (trimmed), for that order', () => {
      const sent = new Map<string, Set<string>>();
      for (const r of results.filter((x) => x.c.kind.startsWith('own order'))) {
        const { token, orderId } = JSON.parse(r.c.body!.toString('utf8')) as { token: string; orderId: string };
        sent.set(orderId, (sent.get(orderId) ?? new Set()).add(token.trim()));
      }
      const own = new Set(world.own.map((o) => o.id));
      // A PaymentIntent names a PaymentMethod; the fake knows the token each one was made from.
      const card = (params: Record<string, string>) => params.source ?? (params.payment_method ? stripe.tokenOf(params.payment_method) : undefined);
      const foreign = stripe.requests
        .filter((r) => own.has(r.params['metadata[orderId]']))
        .filter((r) => !sent.get(r.params['metadata[orderId]'])?.has(card(r.params)!))
        .map((r) => `${r.params['metadata[orderId]']}: source ${JSON.stringify(card(r.params))} was never sent`);
      expect([...new Set(foreign)]).toEqual([]);
    });

    test('when they have been answered and recovery has had its turn, then no payment is left "charging" (every order is paid or payable)', async () => {
      // With Stripe answering normally, every claim an attempt left unresolved must be resolved by recovery.
      const stuck = async () => {
        const charging = await payments.find({ state: 'charging' }).lean();
        return charging.map((p) => {
          const reasons = proc.entries().filter((e) => e.orderId === p.orderId && typeof e.reason === 'string').map((e) => String(e.reason));
          return `${p.orderId} attempts=${p.chargeAttempts}: ${(reasons[reasons.length - 1] ?? '').slice(0, 140)}`;
        });
      };
      try {
        await eventually(async () => expect(await stuck()).toEqual([]), 20_000, 1000);
      } catch {
        expect(await stuck()).toEqual([]);
      }
    }, 60_000);

    test('when they have been answered, then none was a 5xx', () => {
      const failures = [...results, ...canaries].filter((r) => r.reply.status >= 500);
      expect(failures.map((r) => `${r.c.kind} / ${r.c.variant}: ${r.c.method} ${r.c.path.slice(0, 60)} -> ${r.reply.status}`)).toEqual([]);
    });

    test('when they have been answered, then every answer was documented, in the spec\'s shape, and the status the contract gives', () => {
      const failures = [...results, ...canaries].filter((r) => r.problems.length > 0);
      const summary = [...countBy(failures, (r) => `${r.c.kind} / ${r.c.variant}: ${r.problems.join('; ').replace(/[0-9a-f]{24}/g, '<id>').slice(0, 200)}`)];
      expect(summary).toEqual([]);
    });

    test('when a polluted prototype would make an empty body valid, then the canaries still get 400 naming the field', () => {
      expect(canaries).toHaveLength(60);
      expect(canaries.filter((r) => r.reply.status !== 400 || r.problems.length > 0).map((r) => r.reply)).toEqual([]);
    });

    test('when unknown paths are requested, then the HTTP metrics do not grow a series per path', async () => {
      const text = await (await fetch(`${proc.url}/metrics`)).text();
      const routes = new Set(
        text
          .split('\n')
          .filter((line) => line.startsWith('payments_http_request_duration_seconds_count{route="'))
          .map((line) => line.slice('payments_http_request_duration_seconds_count{route="'.length, line.lastIndexOf('",status="'))),
      );
      // The documented routes and the catch-all's pattern (or 'unknown'): a fixed set, whatever the paths asked for.
      const bounded = ['/api/payments', '/api/payments/:id', '/api/payments/webhooks/stripe', '/healthz', '/readyz', '/metrics', '/{*splat}', 'unmatched'];
      expect(routes.size).toBeGreaterThan(1);
      expect([...routes].filter((route) => !bounded.includes(route)).map((r) => r.slice(0, 60))).toEqual([]);
    });
  });

  describe('a2) a client sending a failed card again (found by the campaign, replayed here deterministically)', () => {
    test('when a declined card, or one Stripe does not know, is sent again for the same order, then the same answer again, and another card still pays the order', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const pay = async (orderId: string, token: string) => {
        const reply = await send(proc.port, agent, post('retry', token, world.attackerCookie, json({ token, orderId }), []));
        return `${token} -> ${reply.status}${reply.status >= 400 ? ` ${reply.body.slice(0, 90)}` : ''}`;
      };
      const [declined, unknown] = world.retry;
      const answers = [
        await pay(declined.id, DECLINED_TOKEN),
        await pay(declined.id, DECLINED_TOKEN),
        await pay(declined.id, 'tok_visa'),
        await pay(unknown.id, INVALID_TOKEN),
        await pay(unknown.id, INVALID_TOKEN),
        await pay(unknown.id, 'tok_visa'),
      ];
      agent.destroy();
      const answered = (token: string, status: number) => expect.stringMatching(new RegExp(`^${token} -> ${status}\\b`));
      expect(answers).toEqual([
        answered(DECLINED_TOKEN, 402),
        answered(DECLINED_TOKEN, 402),
        answered('tok_visa', 201),
        answered(INVALID_TOKEN, 400),
        answered(INVALID_TOKEN, 400),
        answered('tok_visa', 201),
      ]);
    });
  });

  describe(`b) ${MALFORMED_EVENTS} malformed events among ${VALID_EVENTS} valid ones`, () => {
    const events: PublishedEvent[] = [];
    const malformedLog = () => {
      const counts = new Map<string, Array<Record<string, unknown>>>();
      for (const entry of proc.entries()) {
        if (entry.msg !== 'malformed event acked and dropped') continue;
        const key = `${String(entry.subject)}#${String(entry.sequence)}`;
        counts.set(key, [...(counts.get(key) ?? []), entry]);
      }
      return counts;
    };
    const malformed = () => events.filter((e) => !e.valid);
    const valid = () => events.filter((e) => e.valid);
    let logged: Map<string, Array<Record<string, unknown>>>;
    let metricsBefore: string;

    beforeAll(async () => {
      // Generated before connecting: a client that is busy too long misses the server's heartbeats and is dropped.
      const plan: Array<Omit<PublishedEvent, 'sequence'>> = rng.shuffle([
        ...Array.from({ length: MALFORMED_EVENTS }, () => malformedEvent(rng)),
        ...Array.from({ length: VALID_EVENTS }, () => ({ subject: Subjects.OrderCreated, ...validEvent(rng) })),
      ]);
      publisher = await OrdersPublisher.connect(nats);
      metricsBefore = await (await fetch(`${proc.url}/metrics`)).text();
      const started = Date.now();
      for (const event of plan) {
        const sequence = await publish(event.subject, event.data);
        events.push({ ...event, sequence });
      }

      // Tie each publish to the server's sequence: the channel must hold exactly what we sent, in order.
      const channels = await readChannels(nats, [Subjects.OrderCreated, Subjects.OrderCancelled], published);
      for (const event of events) {
        if (channels[event.subject].get(event.sequence) !== event.data) {
          throw new Error(`${event.subject} #${event.sequence} on the server is not what this test published (a shared NATS_URL?)`);
        }
      }

      const malformedKeys = malformed().map((e) => `${e.subject}#${e.sequence}`);
      await eventually(async () => {
        const seen = malformedLog();
        expect(malformedKeys.filter((key) => !seen.has(key))).toEqual([]);
        expect(await orders.countDocuments({ _id: { $in: valid().map((e) => e.valid!.id) } })).toBe(VALID_EVENTS);
      }, 90_000, 250);
      const handledIn = (Date.now() - started) / 1000;
      // Past the ack wait, twice: anything left unacked would have come back by now.
      await sleep(ACK_WAIT_MS * 2 + 1500);
      logged = malformedLog();

      const rows: Array<[string, string | number]> = [
        ['published', events.length],
        ['  valid order:created', valid().length],
        ['  malformed order:created', malformed().filter((e) => e.subject === Subjects.OrderCreated).length],
        ['  malformed order:cancelled', malformed().filter((e) => e.subject === Subjects.OrderCancelled).length],
        ['  over 400 kB', events.filter((e) => e.data.length > 400_000).length],
        ['malformed logged exactly once', malformedKeys.filter((k) => logged.get(k)?.length === 1).length],
        ['malformed logged more than once', malformedKeys.filter((k) => (logged.get(k)?.length ?? 0) > 1).length],
        ['malformed never logged', malformedKeys.filter((k) => !logged.has(k)).length],
        ['valid logged as malformed', valid().filter((e) => logged.has(`${e.subject}#${e.sequence}`)).length],
        ['valid replicated', await orders.countDocuments({ _id: { $in: valid().map((e) => e.valid!.id) } })],
        ['crashes (process exited)', proc.exit ? 1 : 0],
        ['seconds to handle all', handledIn.toFixed(1)],
      ];
      console.log(table(`malformed-event campaign (seed ${SEED})`, rows));
      const byCategory = [...countBy(events, (e) => `${e.subject} ${e.category}`)].sort().map(([category, count]): [string, string] => {
        const once = events.filter((e) => `${e.subject} ${e.category}` === category && (e.valid ? !logged.has(`${e.subject}#${e.sequence}`) : logged.get(`${e.subject}#${e.sequence}`)?.length === 1)).length;
        return [category, `${once}/${count} ok`];
      });
      console.log(table('by category (ok = malformed logged once / valid not logged)', byCategory));
    }, 200_000);

    test('when they have been handled, then every valid order is replicated with its user, price, version and status', async () => {
      const stored = await orders.find({ _id: { $in: valid().map((e) => e.valid!.id) } }).lean();
      const byId = new Map(stored.map((o) => [o._id, o]));
      for (const event of valid()) {
        const order = byId.get(event.valid!.id);
        expect({ id: event.valid!.id, category: event.category, order: order && { userId: order.userId, price: order.price, version: order.version, status: order.status } }).toEqual({
          id: event.valid!.id,
          category: event.category,
          order: { userId: event.valid!.userId, price: event.valid!.price, version: event.valid!.version, status: event.valid!.status },
        });
      }
    });

    test('when they have been handled, then each malformed one was logged as dropped exactly once, first time, past the ack wait', () => {
      const wrong = malformed()
        .map((e) => ({ key: `${e.subject}#${e.sequence}`, category: e.category, entries: logged.get(`${e.subject}#${e.sequence}`) ?? [] }))
        .filter(({ entries }) => entries.length !== 1 || entries[0].redelivered !== false)
        .map(({ key, category, entries }) => `${key} (${category}): logged ${entries.length} times`);
      expect(wrong).toEqual([]);
      expect(malformed().length).toBeGreaterThanOrEqual(1_000);
      expect(valid().filter((e) => logged.has(`${e.subject}#${e.sequence}`)).map((e) => e.category)).toEqual([]);
    });

    test('when they have been handled, then none was left for redelivery or failed, and the event metrics count each exactly once', async () => {
      const sequences = new Set(events.map((e) => `${e.subject}#${e.sequence}`));
      const retried = proc.entries().filter(
        (entry) => (entry.msg === 'event left for redelivery' || entry.msg === 'event handler failed; left for redelivery') && sequences.has(`${String(entry.subject)}#${String(entry.sequence)}`),
      );
      expect(retried).toEqual([]);
      const after = await (await fetch(`${proc.url}/metrics`)).text();
      const delta = (subject: string, outcome: string) =>
        metricValue(after, 'payments_events_handled_total', `subject="${subject}",outcome="${outcome}"`) -
        metricValue(metricsBefore, 'payments_events_handled_total', `subject="${subject}",outcome="${outcome}"`);
      expect({
        createdMalformed: delta(Subjects.OrderCreated, 'malformed'),
        cancelledMalformed: delta(Subjects.OrderCancelled, 'malformed'),
        createdAcked: delta(Subjects.OrderCreated, 'acked'),
      }).toEqual({
        createdMalformed: malformed().filter((e) => e.subject === Subjects.OrderCreated).length,
        cancelledMalformed: malformed().filter((e) => e.subject === Subjects.OrderCancelled).length,
        createdAcked: VALID_EVENTS,
      });
    });
  });

  describe('c) afterwards', () => {
  test('when both campaigns are over, then it is still the process that was started, and it answers /healthz and /readyz', async () => {
    expect(proc.exit).toBeUndefined();
    expect(proc.pid).toBe(pid);
    expect((await fetch(`${proc.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${proc.url}/readyz`);
    expect({ status: ready.status, body: await ready.json() }).toEqual({ status: 200, body: { status: 'ready', checks: { mongo: true, nats: true }, down: [] } });
    const crashes = proc.entries().filter((entry) => /uncaught|unhandled rejection|fatal/i.test(String(entry.msg)));
    expect(crashes).toEqual([]);
  });
  });
});
