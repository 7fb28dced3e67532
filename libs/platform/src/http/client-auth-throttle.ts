import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ProviderConfig } from '@ciba/config';
import { type ClientAuthFailureCounter, type Clock, fixedWindowStart } from '@ciba/domain';
import { OAuthError } from '@ciba/protocol';
import { SecretHasherBusy } from '@ciba/tokens';
import { CLIENT_AUTH_FAILURE_COUNTER, CLOCK, PROVIDER_CONFIG } from '../di/tokens.js';

/** Who is trying: the client id it claims and where it connects from. */
export interface ClientAuthAttempt {
  readonly clientId: string;
  /** `req.ip`: the socket's peer, or the forwarded client address only when CIBA_TRUST_PROXY is on. */
  readonly address: string | undefined;
  /** Whether the client id is registered: an unregistered one is whatever the caller typed, never logged. */
  readonly registered: boolean;
}

/**
 * Throttles failed client authentication per client id and per source address, in fixed windows
 * counted in PostgreSQL (so across replicas). It is consulted only before a real (scrypt)
 * verification, never for a secret the hasher already verified: a running client keeps working, at
 * no extra cost, while its id is being guessed at. Over a limit the attempt is refused without
 * running scrypt: 429 invalid_client with Retry-After.
 */
@Injectable()
export class ClientAuthThrottle {
  private readonly logger = new Logger(ClientAuthThrottle.name);

  constructor(
    @Inject(CLIENT_AUTH_FAILURE_COUNTER) private readonly failures: ClientAuthFailureCounter,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
  ) {}

  /** Throws 429 when the client id or the address used up its failures in this window. */
  async check(attempt: ClientAuthAttempt): Promise<void> {
    const keys = this.keys(attempt);
    if (keys.length === 0) return;
    const { windowStart, retryAfter } = this.window();
    const counted = await this.failures.count(keys.map((k) => k.key), windowStart);
    const exceeded = keys.filter((k) => (counted.get(k.key) ?? 0) >= k.limit).map((k) => k.kind);
    if (exceeded.length === 0) return;
    // Audit-worthy: an attack on a client's secret, or from an address. Never the secret itself.
    const client = attempt.registered ? { clientId: attempt.clientId } : { unregisteredClientId: true };
    this.logger.warn({ ...client, address: attempt.address, exceeded }, 'client authentication throttled after repeated failures');
    throw new OAuthError('invalid_client', 'too many failed client authentication attempts; retry later', { status: 429, headers: { 'Retry-After': String(retryAfter) } });
  }

  async recordFailure(attempt: ClientAuthAttempt): Promise<void> {
    const keys = this.keys(attempt);
    if (keys.length === 0) return;
    const { windowStart, windowEnd } = this.window();
    await this.failures.record(keys.map((k) => k.key), windowStart, windowEnd);
  }

  /** Client id keys first, then address keys: the counter takes its row locks in this order. */
  private keys(attempt: ClientAuthAttempt): { kind: 'client_id' | 'address'; key: string; limit: number }[] {
    const { failureLimitPerClient, failureLimitPerAddress } = this.config.clientAuth;
    const keys: { kind: 'client_id' | 'address'; key: string; limit: number }[] = [];
    if (failureLimitPerClient > 0) keys.push({ kind: 'client_id', key: digest(`client_id:${attempt.clientId}`), limit: failureLimitPerClient });
    if (failureLimitPerAddress > 0) keys.push({ kind: 'address', key: digest(`address:${addressKey(attempt.address)}`), limit: failureLimitPerAddress });
    return keys;
  }

  private window(): { windowStart: Date; windowEnd: Date; retryAfter: number } {
    const windowMs = this.config.clientAuth.failureWindowMs;
    const now = this.clock.now();
    const windowStart = fixedWindowStart(now, windowMs);
    const windowEnd = new Date(windowStart.getTime() + windowMs);
    return { windowStart, windowEnd, retryAfter: Math.max(1, Math.ceil((windowEnd.getTime() - now.getTime()) / 1000)) };
  }
}

/**
 * Runs a secret verification; a saturated hasher answers 503 with Retry-After (the client may retry
 * shortly) instead of queueing without bound.
 */
export async function verifyOrUnavailable(verification: () => Promise<boolean>): Promise<boolean> {
  try {
    return await verification();
  } catch (err) {
    if (!(err instanceof SecretHasherBusy)) throw err;
    throw new OAuthError('temporarily_unavailable', 'too many client authentications in progress; retry shortly', { headers: { 'Retry-After': '1' } });
  }
}

/**
 * The address a failure is counted against: IPv4 as is (also when IPv4-mapped), IPv6 by its /64
 * prefix, since one host typically holds a whole /64.
 */
export function addressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return address;
  const [head, tail = ''] = address.split('%')[0].split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

/** Keys are stored hashed: fixed size, whatever client id an attacker sends. */
function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}
