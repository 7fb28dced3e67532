/**
 * The evidence record of one authentication request: what an auditor needs to know about it (who
 * asked, how, for what, what the user was shown and answered, what the client got), assembled by the
 * audit service from the request's lifecycle events. One per request, keyed by its internal id.
 *
 * It never holds a token, a user code, a client secret or assertion, a decision or approval-link
 * token, the raw hint (an email address, a phone number…: `userHintHash` instead), nor ID-token
 * contents beyond the local `sub`.
 */
export type EvidenceDecisionOutcome = 'approved' | 'denied' | 'expired';

/** A notification channel the notifier tried and what came of it (`sent`, or why it did not deliver). */
export interface EvidenceChannel {
  readonly channel: string;
  readonly outcome: string;
  /** When the request was delivered on it; null for a channel that did not deliver. */
  readonly at: string | null;
}

/** The settled ping or push callback of one outcome (CIBA §10.2, §10.3). */
export interface EvidenceCallback {
  readonly mode: 'ping' | 'push';
  readonly trigger: 'approved' | 'denied' | 'expired';
  readonly outcome: 'delivered' | 'failed';
  /** Attempts made in all, the last one included. */
  readonly attempts: number;
  /** HTTP status of the last attempt; null when none came back (or the event predates it). */
  readonly status: number | null;
  /** Why it was given up (`attempts_exhausted:…`, `unauthorized/401`); null when delivered. */
  readonly reason: string | null;
  readonly at: string;
}

/** One attempt of a ping or push callback. */
export interface EvidenceCallbackAttempt {
  readonly mode: 'ping' | 'push';
  readonly trigger: 'approved' | 'denied' | 'expired';
  readonly attempt: number;
  /** `delivered`, `retry` (another attempt followed) or `failed` (given up). */
  readonly outcome: 'delivered' | 'retry' | 'failed';
  readonly status: number | null;
  readonly reason: string | null;
  readonly at: string;
}

/** The end-user's answer, or the request's expiry. */
export interface EvidenceDecision {
  readonly outcome: EvidenceDecisionOutcome;
  readonly at: string;
  /** With `denied`: the user's or provider's reason (`UNAUTHORIZED`, `CANCELLED`, `RATE_LIMITED`, `UNREACHABLE`). */
  readonly reason: string | null;
  /** With `RATE_LIMITED`: which prompt limit refused it. */
  readonly limit: string | null;
  /** With a passkey step-up: the ID token's `acr` and `amr`. */
  readonly acr: string | null;
  readonly amr: readonly string[] | null;
}

/** Tokens issued for the request (their kinds, never their values). */
export interface EvidenceRedemption {
  readonly tokens: readonly string[];
  readonly at: string;
}

/**
 * What a resource server (or gateway) reported doing with an access token of the request: it
 * `allowed` or `blocked` `action` (e.g. `POST /payments`) on `resource`, at `at`. `jti` names the
 * token (never the token itself); `reporterClientId` is the client that reported.
 */
export interface EvidenceDownstreamReport {
  readonly jti: string;
  readonly outcome: 'allowed' | 'blocked';
  readonly action: string;
  readonly resource: string | null;
  readonly reason: string | null;
  readonly reporterClientId: string;
  readonly at: string;
}

/**
 * The most downstream reports a record lists: the earliest ones (by time, then content), so the
 * list is the same whatever order the reports arrive in. Every report, beyond it too, stays in the
 * hash-chained event trail.
 */
export const MAX_DOWNSTREAM_REPORTS = 100;

/**
 * What the token endpoint (or push callback) finally gave the client: `issued` (see `redemption`),
 * `access_denied` (denied), `expired_token` (expired before an answer), or null while the request is
 * pending or approved and not redeemed yet (for good, if the request expired since).
 */
export type EvidenceTokenOutcome = 'issued' | 'access_denied' | 'expired_token';

export interface EvidenceRecord {
  readonly requestId: string;
  readonly clientId: string;
  /** The local `sub` of the user (not a global identifier; pairwise clients know the user by another). */
  readonly subject: string;
  readonly issuer: string | null;
  /** The backchannel_authentication_endpoint the provider advertised when the request was made. */
  readonly backchannelEndpoint: string | null;
  readonly deliveryMode: 'poll' | 'ping' | 'push' | null;
  readonly scope: readonly string[] | null;
  readonly acrValues: readonly string[] | null;
  readonly hintType: string | null;
  /** HMAC-SHA256 of the hint (type and value) under the audit key: correlates requests, reveals no identifier. */
  readonly userHintHash: string | null;
  readonly bindingMessage: string | null;
  /** RFC 9396 authorization details types, never their values. */
  readonly authorizationDetailsTypes: readonly string[] | null;
  readonly requestedAt: string | null;
  readonly expiresAt: string | null;
  /** The granted auth_req_id lifetime (expires_in, seconds). */
  readonly expiresIn: number | null;
  /** The polling interval given to the client (poll, ping); null for push. */
  readonly interval: number | null;
  readonly correlationId: string | null;
  readonly channels: readonly EvidenceChannel[];
  readonly callbacks: readonly EvidenceCallback[];
  /** Every attempt of those callbacks, with its time, outcome and HTTP status. */
  readonly callbackAttempts: readonly EvidenceCallbackAttempt[];
  readonly decision: EvidenceDecision | null;
  readonly redemption: EvidenceRedemption | null;
  readonly tokenOutcome: EvidenceTokenOutcome | null;
  /**
   * The `jti` of every access token issued for the request (at redemption and by each refresh):
   * identifiers, not credentials. Empty before redemption, and for push mode.
   */
  readonly accessTokenJtis: readonly string[];
  /**
   * What resource servers reported doing with the request's access tokens, earliest first, at most
   * `MAX_DOWNSTREAM_REPORTS`; null until the first report.
   */
  readonly downstream: readonly EvidenceDownstreamReport[] | null;
  /** The lifecycle events merged into the record. */
  readonly eventIds: readonly string[];
}

/** Where evidence records are kept; each write merges (a join: order and repetition do not matter). */
export interface EvidenceRecordRepository {
  /**
   * Merges each of `records` into the stored record of its request (creating it), by optimistic
   * concurrency (no fact another writer stored is lost); returns how many stored records changed.
   */
  mergeMany(records: readonly EvidenceRecord[], join: (stored: EvidenceRecord, incoming: EvidenceRecord) => EvidenceRecord): Promise<number>;
  find(requestId: string): Promise<EvidenceRecord | null>;
}
