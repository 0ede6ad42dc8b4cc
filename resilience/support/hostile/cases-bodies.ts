import { Case, FULLWIDTH, Gen, json, post, SPACES } from './cases';

/**
 * What the body says: token and orderId of every wrong type and shape,
 * prototype keys, duplicate keys, JSON that does not parse or is no payment
 * request, invalid UTF-8.
 */
export function bodyCases({ rng, world, victim, unknownId, goodToken, session }: Gen) {
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
  return {
    // token is wrong: 400 naming token, whatever orderId is.
    tokenInvalid: (): Case => {
      const [variant, token] = rng.pick(tokenFaults());
      const orderId = rng.pick([victim().id, unknownId(), rng.pick(world.own).id]);
      return post('token is invalid', variant, session(), json({ token, orderId }), [400], { field: 'token' });
    },
    // orderId is wrong (and token right): 400 naming orderId.
    orderIdInvalid: (): Case => {
      const [variant, orderId] = rng.pick(orderIdFaults());
      return post('orderId is invalid', variant, session(), json({ token: goodToken(), orderId }), [400], { field: 'orderId' });
    },
    // What isMongoId lets through: not 24 hex digits either, so the contract's 400.
    orderIdHexPrefix: (): Case => {
      const prefix = rng.pick(['0x', '0X', '0h', '0H']);
      return post('orderId is invalid', `${prefix} and 22 hex digits`, session(), json({ token: goodToken(), orderId: `${prefix}${rng.hex(22)}` }), [400], { field: 'orderId' });
    },
    // Prototype keys, top level and nested.
    prototypeKeys: (): Case => {
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
    },
    // Canaries: a polluted Object.prototype would make these pass validation.
    canary: (): Case => {
      const [variant, body, field] = rng.pick<[string, unknown, string]>([
        ['empty object', {}, 'token'],
        ['token only', { token: 'tok_visa' }, 'orderId'],
        ['orderId only', { orderId: unknownId() }, 'token'],
      ]);
      return post('canary', variant, session(), json(body), [400], { field });
    },
    // Duplicate keys: JSON.parse keeps the last.
    duplicateKeys: (): Case => {
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
    },
    // Not JSON (or JSON that is not an object or array): 400, before the session is even looked at.
    invalidJson: (): Case => {
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
    },
    // JSON that parses but is no payment request.
    wrongShape: (): Case => {
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
    },
    // Invalid UTF-8 inside strings decodes to U+FFFD, which no card token holds: refused before the order is looked at.
    invalidUtf8: (): Case => {
      const v = victim().id;
      const body = Buffer.concat([Buffer.from('{"token":"tok_'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(`","orderId":"${v}"}`)]);
      return post('invalid UTF-8', 'in the token', session(), body, [400], { field: 'token' });
    },
  };
}
