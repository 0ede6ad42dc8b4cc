import { RequestHandler } from 'express';
import { validationResult } from 'express-validator';
import { AppError } from '../../errors';

/** Turns express-validator's findings into the contract's 400, naming the first bad field. */
export const rejectInvalid: RequestHandler = (req, _res, next) => {
  const result = validationResult(req);
  if (result.isEmpty()) return next();
  const first = result.array({ onlyFirstError: true })[0];
  const field = first.type === 'field' ? first.path : undefined;
  next(new AppError(400, String(first.msg), field));
};
