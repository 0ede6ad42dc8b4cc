import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { Random } from './random';

/**
 * One generated HTTP request and what the contract allows for it; the world the
 * requests are aimed at; and the helpers the case builders (cases-*.ts) share.
 */

export const BODY_LIMIT = 10 * 1024; // express.json({ limit: '10kb' })

export interface Case {
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

export interface World {
  victims: Array<{ id: string; userId: string }>;
  own: Array<{ id: string }>;
  /** The attacker's orders kept out of the campaign, for the retry scenario. */
  retry: Array<{ id: string }>;
  attacker: string;
  attackerCookie: string;
  forged: Map<string, Array<[string, string]>>;
  broken: Array<[string, string | undefined]>;
}

export const JSON_TYPE = 'application/json';
export const json = (value: unknown) => Buffer.from(JSON.stringify(value));
export const post = (kind: string, variant: string, cookie: string | undefined, body: Buffer | undefined, expect: number[], extra: Partial<Case> = {}): Case => ({
  kind,
  variant,
  method: 'POST',
  path: '/api/payments',
  headers: { 'content-type': JSON_TYPE, ...(cookie ? { cookie } : {}) },
  body,
  expect,
  ...extra,
});

export const FULLWIDTH = '０１２３４５６７８９ａｂｃｄｅｆ';
export const SPACES = ' \t\n\r\u00a0\u2003\u3000\ufeff';

/** What every case builder draws on: the seeded randomness, the world, and helpers over both. */
export interface Gen {
  rng: Random;
  world: World;
  victim: () => World['victims'][number];
  unknownId: () => string;
  goodToken: () => string;
  session: () => string;
  /** A body that was read and parsed answers 400 naming orderId (one not read would name token). */
  parsedProbe: (orderId: string) => { token: string; orderId: string };
  compressed: (orderId: string) => Record<'valid' | 'gzip' | 'deflate' | 'br' | 'bomb', Buffer>;
}

export function makeGen(rng: Random, world: World): Gen {
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
  return { rng, world, victim, unknownId, goodToken, session, parsedProbe, compressed };
}
