import { createSecretKey } from 'node:crypto';
import { Request, RequestHandler } from 'express';
import jwt from 'jsonwebtoken';
import { AppError } from '../../errors';
import { addLogContext } from '../../logger';

export interface CurrentUser {
  id: string;
  email: string;
}

/** Why a session is refused, in the 401's message and so in its request's log line; never the cookie or the token. */
export const NOT_AUTHORIZED = {
  noCookie: 'Not authorized: no session cookie (sign in first)',
  unreadableCookie: 'Not authorized: the session cookie cannot be read (it is not base64 JSON)',
  noToken: 'Not authorized: the session cookie holds no token',
  notJwt: 'Not authorized: the session token is not a JWT',
  badSignature:
    "Not authorized: the session token's signature does not match this service's key (signed with another key, or before the key changed, as at each start of the local stack: sign in again)",
  notHs256: 'Not authorized: the session token is not signed with HS256',
  expired: 'Not authorized: the session token has expired (sign in again)',
  notYetValid: 'Not authorized: the session token is not valid yet',
  noUser: 'Not authorized: the session token names no user (id and email)',
} as const;

/** jsonwebtoken's messages (fixed texts, never the token) and what each means for the user. */
const VERIFY_FAILURES: Record<string, string> = {
  'invalid signature': NOT_AUTHORIZED.badSignature,
  'invalid algorithm': NOT_AUTHORIZED.notHs256,
  'jwt signature is required': NOT_AUTHORIZED.notHs256,
  'jwt expired': NOT_AUTHORIZED.expired,
  'jwt not active': NOT_AUTHORIZED.notYetValid,
};

/** cookie-session reads an unreadable cookie as no session: whether one was sent tells the two apart. */
function sentSessionCookie(req: Request): boolean {
  return /(?:^|;)\s*session=[^;\s]/.test(req.headers.cookie ?? '');
}

/**
 * The signed-in user, from the auth service's session cookie. The algorithm is
 * pinned: a token signed any other way (or `alg: none`) is refused. A refusal
 * is a 401 whose message says why (see NOT_AUTHORIZED).
 */
export function requireUser(jwtKey: string): RequestHandler {
  // A KeyObject made once: given a string, jsonwebtoken first tries it as a public key on every request
  // (createPublicKey throws, and the throw is most of the cost of a verify).
  const key = createSecretKey(Buffer.from(jwtKey, 'utf8'));
  const refuse = (reason: string) => new AppError(401, reason);
  return (req, res, next) => {
    const token: unknown = req.session?.jwt;
    if (typeof token !== 'string' || token.length === 0) {
      if (!sentSessionCookie(req)) return next(refuse(NOT_AUTHORIZED.noCookie));
      return next(refuse(req.session?.isNew ? NOT_AUTHORIZED.unreadableCookie : NOT_AUTHORIZED.noToken));
    }
    let payload: unknown;
    try {
      payload = jwt.verify(token, key, { algorithms: ['HS256'] });
    } catch (err) {
      return next(refuse(VERIFY_FAILURES[(err as Error).message] ?? NOT_AUTHORIZED.notJwt));
    }
    const { id, email } = (payload ?? {}) as Record<string, unknown>;
    if (typeof id !== 'string' || id.length === 0 || typeof email !== 'string') {
      return next(refuse(NOT_AUTHORIZED.noUser));
    }
    res.locals.user = { id, email } satisfies CurrentUser;
    addLogContext({ userId: id });
    next();
  };
}
