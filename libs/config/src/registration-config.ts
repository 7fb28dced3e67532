import { createHash } from 'node:crypto';
import { z } from 'zod';
import { B64TOKEN } from '@ciba/protocol';

/**
 * Dynamic client registration (RFC 7591 / RFC 7592): off unless CIBA_REGISTRATION_INITIAL_ACCESS_TOKEN
 * is set. Its value is one or more initial access tokens (RFC 7591 §3: the bearer token a client
 * presents to register), separated by spaces or commas, or the single word `open` (development
 * only: anyone who reaches the endpoint may register).
 */
export const REGISTRATION_SETTINGS = {
  CIBA_REGISTRATION_INITIAL_ACCESS_TOKEN: z.string().optional(),
};

/** Shorter tokens could be guessed; 32 characters of base64url hold 192 bits. */
export const MIN_INITIAL_ACCESS_TOKEN_LENGTH = 32;

export interface RegistrationSettings {
  /** Whether `/register` is served and `registration_endpoint` advertised. */
  readonly enabled: boolean;
  /**
   * `open`: no initial access token is needed (development). Otherwise the SHA-256 digests
   * (base64url) of the accepted tokens: the tokens themselves are kept nowhere in the process's
   * configuration, and presented tokens are compared digest to digest in constant time.
   */
  readonly initialAccessTokens: 'open' | readonly string[];
}

/** SHA-256, base64url: how initial and registration access tokens (random, high-entropy) are compared and stored. */
export function registrationTokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

/** Problems name the variable, never its value. */
export function registrationSettings(value: string | undefined, problems: string[]): RegistrationSettings {
  if (value === undefined || value.trim() === '') return { enabled: false, initialAccessTokens: [] };
  const tokens = value.split(/[\s,]+/).filter(Boolean);
  if (tokens.length === 1 && tokens[0] === 'open') return { enabled: true, initialAccessTokens: 'open' };
  if (tokens.includes('open')) {
    problems.push('CIBA_REGISTRATION_INITIAL_ACCESS_TOKEN: `open` stands alone (no token needed), or list tokens only');
    return { enabled: false, initialAccessTokens: [] };
  }
  if (tokens.some((t) => t.length < MIN_INITIAL_ACCESS_TOKEN_LENGTH || !B64TOKEN.test(t))) {
    problems.push(
      `CIBA_REGISTRATION_INITIAL_ACCESS_TOKEN: each token must be at least ${MIN_INITIAL_ACCESS_TOKEN_LENGTH} characters of A-Z a-z 0-9 - . _ ~ + / (e.g. openssl rand -base64 32)`,
    );
    return { enabled: false, initialAccessTokens: [] };
  }
  return { enabled: true, initialAccessTokens: tokens.map(registrationTokenDigest) };
}
