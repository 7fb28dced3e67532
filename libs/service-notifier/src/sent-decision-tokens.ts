/** What the notifier knows about a decision token it sent: enough to settle the poll cache before deciding. */
export interface SentToken {
  readonly requestId: string;
  readonly expiresAt: Date;
}

/** Enough for the requests in flight of a busy notifier; an evicted token costs one lookup, nothing else. */
const DEFAULT_CAPACITY = 10_000;

/**
 * The HTTP authentication channel's tokens this process sent, by hash, until their request is
 * decided or expires. The device's answer must settle the poll cache under the request's id before
 * the decision commits, and the token alone does not tell the id (it is a MAC): without this the
 * decision starts with a lookup of what this process has just written. A miss (another replica sent
 * it, a restart, an eviction) falls back to that lookup; nothing here is trusted beyond the id and
 * lifetime of the request the token was derived for — the decision statement still checks the
 * token. Only tokens sent on the HTTP channel are kept, and those are never for a request that needs
 * a passkey step-up (that channel is left out of such a request's plan).
 */
export class SentDecisionTokens {
  private readonly tokens = new Map<string, SentToken>();

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  remember(tokenHash: string, token: SentToken, now: Date): void {
    this.tokens.delete(tokenHash);
    // Oldest first: drop what has expired at the front, and the oldest when full.
    for (const [hash, oldest] of this.tokens) {
      if (this.tokens.size < this.capacity && oldest.expiresAt.getTime() > now.getTime()) break;
      this.tokens.delete(hash);
    }
    this.tokens.set(tokenHash, token);
  }

  /** The token's request while it lasts; an expired entry is dropped. */
  find(tokenHash: string, now: Date): SentToken | null {
    const token = this.tokens.get(tokenHash);
    if (!token) return null;
    if (token.expiresAt.getTime() > now.getTime()) return token;
    this.tokens.delete(tokenHash);
    return null;
  }

  forget(tokenHash: string): void {
    this.tokens.delete(tokenHash);
  }

  get size(): number {
    return this.tokens.size;
  }
}
