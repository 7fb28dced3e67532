import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { z } from 'zod';
import type { LoginHintDirectoryConfig } from '@ciba/config';
import { JsonPostFailed, type JsonPostResponse } from '@ciba/outbound';
import { OAuthError } from '@ciba/protocol';

/** The directory's answer for a known user. Other members are ignored. */
const answerSchema = z.object({ sub: z.string().min(1).max(255) });

/** Positive answers kept at once; the least recently used goes first. */
export const DIRECTORY_CACHE_MAX_ENTRIES = 10_000;

export interface LoginHintDirectoryOptions {
  readonly config: LoginHintDirectoryConfig;
  /** POSTs JSON under the outbound policy (`JsonPoster`). */
  readonly post: (url: string, body: unknown, headers: Readonly<Record<string, string>>) => Promise<JsonPostResponse>;
  readonly now: () => number;
}

/**
 * An enterprise user directory resolving login_hints (CIBA §7.1): the provider POSTs
 * `{"login_hint", "client_id"}` and the directory answers `200 {"sub"}` for a user it knows or
 * `404` for one it does not. Only a 404 is a definite "unknown user"; anything else (unreachable,
 * a timeout, 5xx, another status, a body that is not `{"sub": …}`) is the directory failing, and
 * the client gets `503 temporarily_unavailable`, to retry. Positive answers are kept for
 * `cacheSeconds` per client and hint (under a digest: the hint is personal data, so it is neither
 * kept as given nor logged).
 */
export class LoginHintDirectory {
  private readonly logger = new Logger(LoginHintDirectory.name);
  private readonly cache = new Map<string, { readonly sub: string; readonly until: number }>();

  constructor(private readonly options: LoginHintDirectoryOptions) {}

  /** The user's `sub`, or null when the directory knows no such user. */
  async lookup(loginHint: string, clientId: string): Promise<string | null> {
    const { config, now } = this.options;
    const key = createHash('sha256').update(clientId).update('\0').update(loginHint).digest('base64url');
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      this.cache.delete(key);
      if (cached.until > now()) {
        this.cache.set(key, cached);
        return cached.sub;
      }
    }
    let response: JsonPostResponse;
    try {
      response = await this.options.post(config.url, { login_hint: loginHint, client_id: clientId }, config.token === null ? {} : { authorization: `Bearer ${config.token}` });
    } catch (error) {
      if (!(error instanceof JsonPostFailed)) throw error;
      throw this.unavailable(error.reason);
    }
    if (response.status === 404) return null;
    if (response.status !== 200) throw this.unavailable(`status_${response.status}`);
    const answer = answerSchema.safeParse(response.json);
    if (!answer.success) throw this.unavailable('not_a_directory_answer');
    if (config.cacheSeconds > 0) this.remember(key, answer.data.sub);
    return answer.data.sub;
  }

  private remember(key: string, sub: string): void {
    if (this.cache.size >= DIRECTORY_CACHE_MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, { sub, until: this.options.now() + this.options.config.cacheSeconds * 1000 });
  }

  private unavailable(reason: string): OAuthError {
    this.logger.warn({ reason }, 'user directory lookup failed');
    return new OAuthError('temporarily_unavailable', 'the user directory cannot be reached; retry later', { headers: { 'Retry-After': '5' } });
  }
}
