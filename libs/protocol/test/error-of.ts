import { OAuthError } from '../src/errors.js';

/** Runs `fn` and returns the OAuthError it throws; fails when it throws nothing or something else. */
export function errorOf(fn: () => unknown): OAuthError {
  try {
    fn();
  } catch (err) {
    if (err instanceof OAuthError) return err;
    throw err;
  }
  throw new Error('expected an OAuthError');
}
