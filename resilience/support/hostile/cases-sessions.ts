import jwt from 'jsonwebtoken';
import { DECLINED_TOKEN, INVALID_TOKEN } from '../../../test/support/fake-stripe';
import { Case, Gen, json, post } from './cases';
import { cookieOf, cookieWith, signed } from './sessions';

/**
 * Whose order, whose session: others' orders with the attacker's session or a
 * forged one, sessions broken or tampered with, odd but genuine sessions, and
 * the attacker's own orders (which they may really pay) and unknown ones.
 */
export function sessionCases({ rng, world, victim, unknownId, goodToken, session }: Gen) {
  const victimIdVariants = (id: string): Array<[string, string]> => [
    ['as is', id],
    ['upper case', id.toUpperCase()],
    ['mixed case', [...id].map((c) => (rng.bool() ? c.toUpperCase() : c)).join('')],
    ['padded with spaces', `  ${id}\t`],
    ['padded with unicode spaces', `\u00a0${id}\u3000`],
  ];
  return {
    // Real orders of other users, with the attacker's own valid session.
    othersOrderAttackerSession: (): Case => {
      const v = victim();
      const [variant, orderId] = rng.pick(victimIdVariants(v.id));
      const token = rng.pick([goodToken(), DECLINED_TOKEN, INVALID_TOKEN]);
      return post('other user\'s order, attacker session', variant, session(), json({ token, orderId }), [401]);
    },
    // Real orders of other users, with sessions forged to be those users.
    othersOrderForgedSession: (): Case => {
      const v = victim();
      const [variant, cookie] = rng.pick(world.forged.get(v.userId)!);
      return post('other user\'s order, forged session', variant, cookie, json({ token: goodToken(), orderId: v.id }), [401]);
    },
    // Sessions that are missing, broken or tampered with, for unknown orders (a pass would be a 404).
    brokenSession: (): Case => {
      const [variant, cookie] = rng.pick(world.broken);
      return post('broken session', variant, cookie, json({ token: goodToken(), orderId: rng.bool() ? unknownId() : victim().id }), [401]);
    },
    // Cookies that might decode to the attacker's own session: aimed at others' orders (401 either way),
    // except a jwt hidden under prototype keys, which must not be found: aimed at unknown orders (found would be 404).
    tamperedCookie: (): Case => {
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
    },
    // The attacker's own orders: they may really pay them.
    ownOrder: (): Case => {
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
    },
    // Tokens that cannot even be sent to Stripe as they are.
    ownOrderUnencodableToken: (): Case => {
      const order = rng.pick(world.own);
      const [variant, token] = rng.pick<[string, string]>([
        ['lone high surrogate', 'tok_\ud800visa'],
        ['lone low surrogate', 'tok_\udc00'],
        ['reversed surrogate pair', 'tok_\udc00\ud800'],
      ]);
      return post('own order, unencodable token', variant, session(), json({ token, orderId: order.id }), [201, 400, 402, 409]);
    },
    // Unknown orders: 404.
    unknownOrder: (): Case => post('unknown order', 'valid body', session(), json({ token: goodToken(), orderId: unknownId() }), [404]),
    // Weird but valid sessions (the right key, odd ids): still not the other user's order.
    oddGenuineSession: (): Case => {
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
    },
  };
}
