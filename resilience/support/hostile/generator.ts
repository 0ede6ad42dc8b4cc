import { bodyCases } from './cases-bodies';
import { Case, makeGen, World } from './cases';
import { sessionCases } from './cases-sessions';
import { transportCases } from './cases-transport';
import { Random } from './random';

/**
 * The HTTP campaign's requests, one at a time from the seeded randomness: a kind
 * of request drawn by weight (the builders are in cases-*.ts, by theme), now and
 * then with an X-Request-Id. The same seed gives the same requests in the same order.
 */
export function generator(rng: Random, world: World): () => Case {
  const g = makeGen(rng, world);
  const sessions = sessionCases(g);
  const bodies = bodyCases(g);
  const transport = transportCases(g);

  const kinds: ReadonlyArray<readonly [number, () => Case]> = [
    [3, sessions.othersOrderAttackerSession],
    [8, sessions.othersOrderForgedSession],
    [10, sessions.brokenSession],
    [3, sessions.tamperedCookie],
    [2, sessions.ownOrder],
    [0.5, sessions.ownOrderUnencodableToken],
    [1, sessions.unknownOrder],
    [8, bodies.tokenInvalid],
    [8, bodies.orderIdInvalid],
    [1, bodies.orderIdHexPrefix],
    [5, bodies.prototypeKeys],
    [2, bodies.canary],
    [1, bodies.duplicateKeys],
    [6, bodies.invalidJson],
    [3, bodies.wrongShape],
    [0.5, bodies.invalidUtf8],
    [4, transport.contentTypeNotJson],
    [3, transport.jsonContentTypeParameters],
    [4, transport.contentEncoding],
    [4, transport.bodySize],
    [0.5, sessions.oddGenuineSession],
    [1, transport.queryString],
    [0.3, transport.hugeHeaders],
    [6, transport.otherPaths],
    [2, transport.otherPathsWithBody],
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
