import { createSecretKey } from 'node:crypto';
import { RequestHandler } from 'express';
import jwt from 'jsonwebtoken';
import { AppError } from '../../errors';
import { addLogContext } from '../../logger';

export interface CurrentUser {
  id: string;
  email: string;
}

/**
 * The signed-in user, from the auth service's session cookie. The algorithm is
 * pinned: a token signed any other way (or `alg: none`) is refused.
 */
export function requireUser(jwtKey: string): RequestHandler {
  // A KeyObject made once: given a string, jsonwebtoken first tries it as a public key on every request
  // (createPublicKey throws, and the throw is most of the cost of a verify).
  const key = createSecretKey(Buffer.from(jwtKey, 'utf8'));
  return (req, res, next) => {
    const token: unknown = req.session?.jwt;
    if (typeof token !== 'string' || token.length === 0) return next(new AppError(401, 'Not authorized'));
    let payload: unknown;
    try {
      payload = jwt.verify(token, key, { algorithms: ['HS256'] });
    } catch {
      return next(new AppError(401, 'Not authorized'));
    }
    const { id, email } = (payload ?? {}) as Record<string, unknown>;
    if (typeof id !== 'string' || id.length === 0 || typeof email !== 'string') {
      return next(new AppError(401, 'Not authorized'));
    }
    res.locals.user = { id, email } satisfies CurrentUser;
    addLogContext({ userId: id });
    next();
  };
}
