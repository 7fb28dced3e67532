import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ProviderConfig } from '@ciba/config';
import { type Clock, type UserCodeAttempts, type UserCodeStore, type UserHint, normalisePhoneNumber } from '@ciba/domain';
import { OAuthError } from '@ciba/protocol';
import { SecretHasher, SecretHasherBusy } from '@ciba/tokens';
import { CLOCK, PROVIDER_CONFIG, USER_CODE_ATTEMPTS, USER_CODE_STORE } from '@ciba/platform';

/** Longer than any code a person types; a longer value is refused before any work. */
export const MAX_USER_CODE_LENGTH = 256;
/**
 * Control characters are never part of a code (none can be set). NUL matters most: scrypt's HMAC
 * pads short keys with zero bytes, so `code` and `code\0` would otherwise both match.
 */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/**
 * CIBA §7.1 / §13: the user_code of a client registered with backchannel_user_code_parameter,
 * checked against the hinted user's code (a scrypt hash) before the request reaches the user.
 *
 * Every refusal is the same `400 invalid_user_code`: a wrong code, a user with no code set, a hint
 * naming nobody and a locked code are told apart by nobody, and each runs the same work (one
 * attempt claimed, one scrypt run against the user's hash or a dummy one; a lock against the dummy
 * one, for a known and an unknown user alike). Verifications are counted per user (per hint
 * when it names nobody) in PostgreSQL: past CIBA_USER_CODE_ATTEMPT_LIMIT in a window the key is
 * locked for CIBA_USER_CODE_LOCK_SECONDS.
 */
@Injectable()
export class UserCodeVerifier {
  private readonly logger = new Logger(UserCodeVerifier.name);
  /** A real hash of a random code, verified against when there is no user or no code. */
  private readonly dummyHash: Promise<string>;

  constructor(
    @Inject(USER_CODE_STORE) private readonly store: UserCodeStore,
    @Inject(USER_CODE_ATTEMPTS) private readonly attempts: UserCodeAttempts,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
    private readonly hasher: SecretHasher,
  ) {
    this.dummyHash = hasher.hash(randomBytes(32).toString('base64url'));
  }

  /** The user the request is for, by `sub`, once their code matched; otherwise `invalid_user_code`. */
  async verify(hint: UserHint, userCode: string): Promise<{ readonly sub: string }> {
    if (userCode.length === 0 || userCode.length > MAX_USER_CODE_LENGTH || CONTROL_CHARACTER.test(userCode)) throw invalidUserCode();
    const holder = await this.store.findHolder(hint);
    const key = attemptKey(holder?.sub ?? null, hint);
    if (!(await this.attempts.claim(key, this.clock.now(), this.config.userCode))) {
      this.logger.warn({ ...(holder ? { sub: holder.sub } : { unknownUser: true }) }, 'user_code refused without a check: too many attempts');
      // The same work as a check, never against the user's hash: had a lock answered sooner, someone
      // who locked a user through one identifier could time whether another names the same user.
      await this.hasher.verify(userCode, await this.dummyHash).catch(() => false);
      throw invalidUserCode();
    }
    let matched: boolean;
    try {
      matched = await this.hasher.verify(userCode, holder?.userCodeHash ?? (await this.dummyHash));
    } catch (err) {
      await this.attempts.release(key);
      if (!(err instanceof SecretHasherBusy)) throw err;
      throw new OAuthError('temporarily_unavailable', 'too many verifications in progress; retry shortly', { headers: { 'Retry-After': '1' } });
    }
    if (!matched || holder === null || holder.userCodeHash === null) throw invalidUserCode();
    await this.attempts.release(key);
    return { sub: holder.sub };
  }
}

function invalidUserCode(): OAuthError {
  return new OAuthError('invalid_user_code', 'the user_code is not valid for this user');
}

/**
 * The key attempts are counted under, stored hashed: the user's sub, or for a hint naming nobody
 * the hint itself as the lookup reads it (case-folded, phone separators dropped), so guesses at an
 * unknown user lock just as guesses at a known one do and the lock reveals nothing.
 */
export function attemptKey(sub: string | null, hint: UserHint): string {
  const name = sub !== null ? `sub:${sub}` : 'sub' in hint ? `sub:${hint.sub}` : `hint:${normalisePhoneNumber(hint.loginHint.trim().toLowerCase())}`;
  return createHash('sha256').update(name).digest('base64url');
}
