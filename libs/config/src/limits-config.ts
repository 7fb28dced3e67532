import { z } from 'zod';
import type { PromptLimits, UserCodeLimits } from '@ciba/domain';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/**
 * The limits that protect users and the provider from clients: prompt limits (notifier) and failed
 * client authentication throttling (authorize, token). `0` turns a limit off.
 */
export const LIMIT_SETTINGS = {
  CIBA_CLIENT_USER_NOTIFICATION_LIMIT: int(0, 100000).default(5),
  CIBA_CLIENT_USER_NOTIFICATION_WINDOW_SECONDS: int(1, 86400).default(600),
  CIBA_CLIENT_NOTIFICATION_LIMIT: int(0, 10_000_000).default(1000),
  CIBA_CLIENT_NOTIFICATION_WINDOW_SECONDS: int(1, 86400).default(60),
  CIBA_DENIAL_BACKOFF_THRESHOLD: int(0, 1000).default(3),
  CIBA_DENIAL_BACKOFF_WINDOW_SECONDS: int(1, 604800).default(3600),
  CIBA_DENIAL_BACKOFF_SECONDS: int(1, 604800).default(300),
  CIBA_DENIAL_BACKOFF_MAX_SECONDS: int(1, 604800).default(3600),
  CIBA_CLIENT_AUTH_FAILURE_LIMIT: int(0, 1_000_000).default(10),
  CIBA_CLIENT_AUTH_ADDRESS_FAILURE_LIMIT: int(0, 1_000_000).default(50),
  CIBA_CLIENT_AUTH_FAILURE_WINDOW_SECONDS: int(1, 86400).default(300),
  CIBA_SECRET_HASH_CONCURRENCY: int(1, 64).default(2),
  CIBA_SECRET_HASH_QUEUE_LIMIT: int(0, 10000).default(32),
  CIBA_CLIENT_ASSERTION_MAX_LIFETIME_SECONDS: int(10, 3600).default(300),
  CIBA_CLIENT_ASSERTION_CLOCK_SKEW_SECONDS: int(0, 300).default(30),
  CIBA_CLIENT_JWKS_REFETCH_INTERVAL_SECONDS: int(1, 3600).default(60),
  CIBA_CLIENT_JWKS_CACHE_SECONDS: int(10, 86400).default(600),
  CIBA_USER_CODE_ATTEMPT_LIMIT: int(1, 1000).default(5),
  CIBA_USER_CODE_WINDOW_SECONDS: int(1, 86400).default(900),
  CIBA_USER_CODE_LOCK_SECONDS: int(1, 604800).default(900),
};

type LimitEnv = { [K in keyof typeof LIMIT_SETTINGS]: z.output<(typeof LIMIT_SETTINGS)[K]> };

/** Failed client authentication throttling and the bound on concurrent secret hashing. */
export interface ClientAuthLimits {
  /** Failed authentications per client id per window before further attempts answer 429; 0 = off. */
  readonly failureLimitPerClient: number;
  /** Failed authentications per source address (IPv6: per /64) per window; 0 = off. */
  readonly failureLimitPerAddress: number;
  readonly failureWindowMs: number;
  /** scrypt runs at once per process. */
  readonly hashConcurrency: number;
  /** Verifications that may wait for a slot; beyond that the answer is 503. */
  readonly hashQueueLimit: number;
  /** RFC 7523 §3: how far ahead a client assertion's exp may be (beyond the skew); a longer-lived one is refused. */
  readonly assertionMaxLifetimeMs: number;
  /** Clock difference tolerated on exp, nbf and iat. */
  readonly assertionClockSkewMs: number;
  /** A jwks_uri is fetched again for an unknown kid at most this often. */
  readonly jwksRefetchIntervalMs: number;
  /** How long a fetched jwks_uri is used before it is fetched again. */
  readonly jwksCacheMs: number;
}

/**
 * The per-user limit across all clients is gone: one client could use it up and silence the user
 * for every other. Setting its variables is an error, so an operator notices the change.
 */
const REMOVED_SETTINGS = ['CIBA_USER_NOTIFICATION_LIMIT', 'CIBA_USER_NOTIFICATION_WINDOW_SECONDS'] as const;

export function limitProblems(present: Readonly<Record<string, unknown>>, e: LimitEnv): string[] {
  const problems = REMOVED_SETTINGS.filter((name) => name in present).map(
    (name) =>
      `${name}: removed (a per-user limit shared by all clients let one client silence a user for every other); ` +
      'use CIBA_CLIENT_USER_NOTIFICATION_LIMIT, CIBA_CLIENT_NOTIFICATION_LIMIT and CIBA_DENIAL_BACKOFF_THRESHOLD (with their *_WINDOW_SECONDS)',
  );
  if (e.CIBA_DENIAL_BACKOFF_SECONDS > e.CIBA_DENIAL_BACKOFF_MAX_SECONDS) {
    problems.push('CIBA_DENIAL_BACKOFF_SECONDS <= CIBA_DENIAL_BACKOFF_MAX_SECONDS must hold');
  }
  return problems;
}

export function promptLimits(e: LimitEnv): PromptLimits {
  return {
    clientUser: { limit: e.CIBA_CLIENT_USER_NOTIFICATION_LIMIT, windowMs: e.CIBA_CLIENT_USER_NOTIFICATION_WINDOW_SECONDS * 1000 },
    client: { limit: e.CIBA_CLIENT_NOTIFICATION_LIMIT, windowMs: e.CIBA_CLIENT_NOTIFICATION_WINDOW_SECONDS * 1000 },
    denialBackoff: {
      threshold: e.CIBA_DENIAL_BACKOFF_THRESHOLD,
      windowMs: e.CIBA_DENIAL_BACKOFF_WINDOW_SECONDS * 1000,
      baseMs: e.CIBA_DENIAL_BACKOFF_SECONDS * 1000,
      maxMs: e.CIBA_DENIAL_BACKOFF_MAX_SECONDS * 1000,
    },
  };
}

export function clientAuthLimits(e: LimitEnv): ClientAuthLimits {
  return {
    failureLimitPerClient: e.CIBA_CLIENT_AUTH_FAILURE_LIMIT,
    failureLimitPerAddress: e.CIBA_CLIENT_AUTH_ADDRESS_FAILURE_LIMIT,
    failureWindowMs: e.CIBA_CLIENT_AUTH_FAILURE_WINDOW_SECONDS * 1000,
    hashConcurrency: e.CIBA_SECRET_HASH_CONCURRENCY,
    hashQueueLimit: e.CIBA_SECRET_HASH_QUEUE_LIMIT,
    assertionMaxLifetimeMs: e.CIBA_CLIENT_ASSERTION_MAX_LIFETIME_SECONDS * 1000,
    assertionClockSkewMs: e.CIBA_CLIENT_ASSERTION_CLOCK_SKEW_SECONDS * 1000,
    jwksRefetchIntervalMs: e.CIBA_CLIENT_JWKS_REFETCH_INTERVAL_SECONDS * 1000,
    jwksCacheMs: e.CIBA_CLIENT_JWKS_CACHE_SECONDS * 1000,
  };
}

/** CIBA §7.1 user codes: verifications per user per window, then a lock. Never off: a code is short. */
export function userCodeLimits(e: LimitEnv): UserCodeLimits {
  return {
    attemptLimit: e.CIBA_USER_CODE_ATTEMPT_LIMIT,
    windowMs: e.CIBA_USER_CODE_WINDOW_SECONDS * 1000,
    lockMs: e.CIBA_USER_CODE_LOCK_SECONDS * 1000,
  };
}
