import { createHmac } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { JWT_KEY } from '../../../test/support/harness';
import { Random } from './random';

/** Sessions: the attacker's real ones, and every way of faking or breaking one. */

export const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
export const hmac = (alg: 'sha256' | 'sha512', input: string, key = JWT_KEY) => createHmac(alg, key).update(input).digest('base64url');
export const cookieOf = (sessionJson: string) => `session=${Buffer.from(sessionJson).toString('base64')}`;
export const cookieWith = (token: unknown) => cookieOf(JSON.stringify({ jwt: token }));
export const signed = (payload: object, options: jwt.SignOptions = {}, key = JWT_KEY) => jwt.sign(payload, key, options);

/** Sessions for `userId` that must all be refused: the attacker does not hold JWT_KEY. */
export function forgedSessionsFor(userId: string): Array<[string, string]> {
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
export function brokenSessions(rng: Random): Array<[string, string | undefined]> {
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
