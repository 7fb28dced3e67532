import type { AuthRequest, Decision, TokenDecision } from '../auth-request/auth-request.js';
import type { EvidenceRecord } from '../audit/evidence-record.js';
import type { AttemptClaim, AttemptResult, CallbackDelivery, FirstAttempt, NewCallbackDelivery } from '../callback/callback-delivery.js';
import type { AuthenticatedClient, Client } from '../client/client.js';
import type { LifecycleEvent } from '../events/lifecycle-event.js';
import type { User } from '../user/user.js';
import type { LoginHintForm } from '../user/login-hint.js';

/**
 * Ports: every side effect the domain needs, implemented by adapters in persistence / messaging /
 * tokens. The user's devices and passkeys have their own files beside this one.
 */

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

export interface ClientRepository {
  findById(clientId: string): Promise<Client | null>;
  /** RFC 9396 §10: every authorization_details type some client registered, each once, sorted. */
  authorizationDetailsTypes(): Promise<string[]>;
}

/**
 * Changes to registered clients, as the database commits them (a registration, an update, a
 * deletion, a bootstrap reload, an admin edit), told to every process that keeps clients in memory.
 * The listener gets the changed client's id, or null for "anything may have changed" (the feed
 * (re)connected and may have missed changes).
 */
export interface ClientChangeFeed {
  /** Starts telling `listener`; the returned function stops it. */
  subscribe(listener: (clientId: string | null) => void): () => void;
}

/**
 * RFC 7523 §3 (7): the `jti` of each client assertion accepted, kept until the assertion expires,
 * shared by every replica so an assertion is accepted once in the whole deployment.
 */
export interface ClientAssertionJtis {
  /** Records the jti; false when the client already used it (a replay). Atomic across replicas. */
  claim(clientId: string, jti: string, expiresAt: Date): Promise<boolean>;
}

/**
 * Who a request is for: a login_hint to resolve (CIBA §7.1) in the `forms` the deployment accepts
 * (absent: all of them; none: it names nobody; see `loginHintLookup`), or a `sub` already known (a
 * verified id_token_hint, a directory's answer).
 */
export type UserHint = { readonly loginHint: string; readonly forms?: readonly LoginHintForm[] } | { readonly sub: string };

export interface UserRepository {
  findBySub(sub: string): Promise<User | null>;
  /** login_hint: the user's `sub`, email address, phone number or username (CIBA §7.1, `loginHintLookup`). */
  findByLoginHint(hint: string): Promise<User | null>;
}

export interface PollRecord {
  readonly request: AuthRequest;
  /** The poll came sooner than `interval` seconds after the previous one; `request.interval` is already increased. */
  readonly tooSoon: boolean;
  /** The request's end-user, read in the same statement (the token needs their claims); null when they no longer exist. */
  readonly user: User | null;
  /** This poll found the request approved and redeemed it. */
  readonly redeemed: boolean;
}

/** A refresh token to store with a redemption: its hash and expiry (the token itself is never stored). */
export interface RefreshTokenToStore {
  readonly tokenHash: string;
  readonly expiresAt: Date;
}

/**
 * An access token to record with the statement that issues it: its `jti` (an identifier, never the
 * token) and expiry, so that the token's request is found by its `jti` once the token is sent.
 */
export interface AccessTokenToStore {
  readonly jti: string;
  readonly expiresAt: Date;
}

/**
 * Lookups of the request an auth_req_id refers to (the id its MAC vouches for), always within the
 * authenticated client.
 */
export interface ClientAuthRequests {
  find(requestId: string): Promise<AuthRequest | null>;
  /**
   * A token-endpoint poll with the CIBA grant, in one atomic statement. A pending request records
   * it: when the previous poll was at least `interval` seconds ago (or there was none) store `now`;
   * otherwise increase the interval by `slowDownIncrement` and report `tooSoon` (concurrent polls see
   * a single winner). An approved request is redeemed (approved → redeemed for exactly one caller,
   * `redeemed` true), with `refreshToken` stored in the same statement when the request's scope has
   * offline_access: the tokens are then that caller's to mint. Other states are returned unchanged.
   * `accessToken`, when given, is recorded with a redemption in that statement too.
   */
  recordPoll(
    requestId: string,
    now: Date,
    slowDownIncrement: number,
    refreshToken: RefreshTokenToStore | null,
    accessToken?: AccessTokenToStore | null,
  ): Promise<PollRecord | null>;
  /**
   * Undoes a redemption whose tokens could not be minted: redeemed → approved again (only the one
   * redeemed at `redeemedAt`) and its refresh token removed, so that the client may poll again.
   */
  undoRedemption(requestId: string, redeemedAt: Date, refreshTokenHash: string | null): Promise<void>;
}

export interface AuthRequestRepository {
  forClient(client: AuthenticatedClient): ClientAuthRequests;
  create(request: AuthRequest): Promise<void>;
  /**
   * Stores `request` for the user `hint` identifies, found and stored in one statement; returns
   * that user's `sub`, or null when the hint identifies nobody (nothing is stored then).
   */
  createForUser(request: Omit<AuthRequest, 'subject'>, hint: UserHint): Promise<string | null>;
  findById(id: string): Promise<AuthRequest | null>;
  /** pending (and not past expiry) → approved | denied; null when the request is not pending any more. */
  decide(id: string, decision: Decision, now: Date): Promise<AuthRequest | null>;
  markNotified(id: string, now: Date): Promise<void>;
  /** pending requests past expiry → expired, at most `limit`; returns those it changed. */
  expireDue(now: Date, limit: number): Promise<AuthRequest[]>;
  /**
   * The outbox marker: the outcome event (approved, denied or expired) of these requests is on the
   * bus. Set only after the publish succeeded, so a crash in between leaves the request listed by
   * `findUnpublishedOutcomes`.
   */
  markOutcomePublished(ids: readonly string[], now: Date): Promise<void>;
  /**
   * Requests decided or expired before `settledBefore` whose outcome event was never confirmed
   * published (a crash or a bus failure between the commit and the publish), oldest first.
   */
  findUnpublishedOutcomes(settledBefore: Date, limit: number): Promise<AuthRequest[]>;
  /**
   * Pending requests created before `createdBefore` that no notifier ever took up (no decision token
   * was issued for them): their `created` event was lost. Requests a notifier is still retrying are
   * not listed, so republishing never starts a second delivery.
   */
  findUnnotified(createdBefore: Date, limit: number): Promise<AuthRequest[]>;
  /** The request an access token was issued for, by the token's `jti` (recorded with its issuance); null when none was. */
  findByAccessTokenJti(jti: string): Promise<AuthRequest | null>;
}

/**
 * Markers on a request that only save work later, written behind the caller and coalesced (many
 * requests' markers in one statement): a marker lost to a crash costs a repeat, never an outcome.
 * - `notified`: the user was reached (`notified_at`); without it a redelivered created event may
 *   prompt again, and the sweeper never re-notifies a request whose decision tokens are stored;
 * - `outcomePublished`: the outcome event is on the bus (the outbox marker); without it the sweeper
 *   republishes the event, which the bus's de-duplication and idempotent consumers absorb.
 */
export interface DeferredRequestMarkers {
  notified(id: string, at: Date): void;
  outcomePublished(id: string, at: Date): void;
}

/** Single-use tokens handed to an authentication device; only their hash is stored. */
export interface DecisionTokenRecord {
  readonly tokenHash: string;
  readonly requestId: string;
  readonly channel: string;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
  /** The decision this token recorded on its request, set together with `usedAt`; null while unused. */
  readonly decision: TokenDecision | null;
}

/** A decision token and its request, as they stand. */
export interface DecisionTokenWithRequest {
  readonly token: DecisionTokenRecord;
  readonly request: AuthRequest;
}

/** What `DecisionTokenRepository.decide` did: `applied` when this call used the token and decided the request. */
export interface TokenDecisionResult extends DecisionTokenWithRequest {
  readonly applied: boolean;
}

export interface DecisionTokenRepository {
  /** Idempotent: storing the same hash twice keeps the first record. */
  save(record: Omit<DecisionTokenRecord, 'usedAt' | 'decision'>): Promise<void>;
  find(tokenHash: string): Promise<DecisionTokenRecord | null>;
  /** The token issued for `channel`, with its request; null when unknown or issued for another channel. */
  findWithRequest(tokenHash: string, channel: string): Promise<DecisionTokenWithRequest | null>;
  /**
   * Atomically: when the token is unused and unexpired and its request pending and unexpired, record
   * `decision` on the request and mark the token used with it — both or neither, whatever crashes.
   * Of concurrent callers for one request exactly one applies; the others get the token and the
   * request as the winner left them, and a token whose request is no longer pending stays unused.
   * Null when the token is unknown or issued for another channel.
   */
  decide(tokenHash: string, channel: string, decision: Decision, now: Date): Promise<TokenDecisionResult | null>;
}

export interface RefreshTokenRecord {
  readonly tokenHash: string;
  readonly clientId: string;
  readonly subject: string;
  readonly scope: readonly string[];
  readonly authTime: Date;
  readonly acr: string | null;
  /** RFC 8176 methods of the original authentication, kept for every refreshed ID token. */
  readonly amr: readonly string[];
  readonly expiresAt: Date;
  readonly requestId: string;
  /** RFC 9396: the authorization details granted with the request, carried into every refreshed access token. */
  readonly authorizationDetails: readonly Readonly<Record<string, unknown>>[] | null;
  /** When the token was stored (issued); set by the store on a record it reads, absent on one about to be saved. */
  readonly issuedAt?: Date;
}

/**
 * A presented refresh token: `active` (usable), `used` (already rotated or consumed: presenting it
 * again is a replay, RFC 9700 §4.14.2), or `invalid` (unknown, another client's, expired or revoked).
 */
export type RefreshTokenLookup =
  | { readonly kind: 'active'; readonly record: RefreshTokenRecord }
  | { readonly kind: 'used'; readonly requestId: string }
  | { readonly kind: 'invalid' };

export type RefreshTokenRotation =
  | { readonly kind: 'rotated'; readonly previous: RefreshTokenRecord }
  | { readonly kind: 'used'; readonly requestId: string }
  | { readonly kind: 'invalid' };

/**
 * RFC 7009: access tokens revoked before they expire, by their `jti` (recorded when each token is
 * issued). A token whose jti was never recorded (issued before the record existed) cannot be revoked.
 */
export interface AccessTokenRevocations {
  /** Revokes the client's access token `jti`; false when no access token of the client has that jti. */
  revoke(clientId: string, jti: string, now: Date): Promise<boolean>;
  /** True when the access token `jti` was revoked, alone or with its grant. */
  isRevoked(jti: string): Promise<boolean>;
}

export interface RefreshTokenRepository {
  save(record: RefreshTokenRecord): Promise<void>;
  /** What `tokenHash` is for `clientId`: another client's token is `invalid`, never `used`. */
  find(clientId: string, tokenHash: string, now: Date): Promise<RefreshTokenLookup>;
  /**
   * Marks the token used without a successor; true when this call consumed it. `accessToken`: the
   * access token issued instead, recorded for its grant's request in the same statement when consumed.
   */
  revoke(clientId: string, tokenHash: string, now: Date, accessToken?: AccessTokenToStore | null): Promise<boolean>;
  /**
   * Atomically replace `oldHash` (which must belong to `clientId`, be active and of the grant
   * `next.requestId`) with `next`. A caller that loses a concurrent rotation of the same token sees
   * `used`: to the provider it is a replay like any other. `accessToken`: the access token issued
   * with `next`, recorded for the grant's request only when this call rotated the token.
   */
  rotate(clientId: string, oldHash: string, next: RefreshTokenRecord, now: Date, accessToken?: AccessTokenToStore | null): Promise<RefreshTokenRotation>;
  /**
   * RFC 9700 §4.14.2: revokes every refresh token of the grant `requestId` (the tokens issued with
   * the request and rotated from them), atomically and serialised with rotations of that grant, so a
   * successor stored by a concurrent rotation is revoked too; with them every access token of the
   * grant (RFC 7009 §2.1). Returns how many refresh tokens were still active.
   */
  revokeFamily(clientId: string, requestId: string, now: Date): Promise<number>;
}

export interface PublishOptions {
  /**
   * De-duplication key; defaults to the event id. An operator's redelivery passes a fresh one so the
   * same event is handled again (consumers stay idempotent).
   */
  readonly messageId?: string;
}

export interface EventPublisher {
  /** Resolves once the event is durable (JetStream ack, or committed to the work table). */
  publish(event: LifecycleEvent, options?: PublishOptions): Promise<void>;
}

export interface AuditRecord {
  readonly eventId: string;
  readonly type: string;
  /** The authentication request the event is about; null for device events. */
  readonly requestId: string | null;
  /** The client concerned; null for a device event no client took part in (enrolment or removal link, operator, provider). */
  readonly clientId: string | null;
  /** The device a device event is about. */
  readonly deviceId?: string | null;
  readonly subject: string;
  readonly occurredAt: Date;
  readonly correlationId: string | null;
  readonly payload: Readonly<Record<string, unknown>>;
}

export interface AuditRepository {
  /** Idempotent by `eventId`: appending the same event twice stores one record. Returns true when stored now. */
  append(record: AuditRecord): Promise<boolean>;
  /**
   * `append` for several records in one statement, all or none; returns how many were stored now.
   * With `evidence`, the evidence records the same events make are merged in that statement too (see
   * `EvidenceRecordRepository.mergeMany`): the trail and the records move together.
   */
  appendMany(records: readonly AuditRecord[], evidence?: EvidenceMerge): Promise<number>;
}

/** Evidence records to merge into the stored ones with `join` (order and repetition do not matter). */
export interface EvidenceMerge {
  readonly records: readonly EvidenceRecord[];
  readonly join: (stored: EvidenceRecord, incoming: EvidenceRecord) => EvidenceRecord;
}

/** A signing key; the private JWK is stored encrypted (AES-256-GCM) with a key from config. */
export interface SigningKeyRecord {
  readonly kid: string;
  readonly alg: string;
  readonly publicJwk: Readonly<Record<string, unknown>>;
  readonly encryptedPrivateJwk: string;
  readonly createdAt: Date;
  /** Set when a newer key took over signing; the key stays published until `unpublishAfter`. */
  readonly retiredAt: Date | null;
  readonly unpublishAfter: Date | null;
}

export interface SigningKeyRepository {
  /** Every key still published (unpublishAfter null or in the future), newest first. */
  listPublished(now: Date): Promise<SigningKeyRecord[]>;
  insert(record: SigningKeyRecord): Promise<void>;
  /** Retire every active key (retiredAt null) except `exceptKids`, keeping them published until `unpublishAfter`. */
  retireOthers(exceptKids: readonly string[], retiredAt: Date, unpublishAfter: Date): Promise<number>;
  /**
   * Runs `work` while holding a cluster-wide lock named `name` (a Postgres advisory lock), so that
   * two processes starting together generate one first key.
   */
  withLock<T>(name: string, work: () => Promise<T>): Promise<T>;
}

/**
 * Durable work items for the in-process bus of the all-in-one start: one row per (consumer, message),
 * claimed with SELECT … FOR UPDATE SKIP LOCKED. The distributed services use JetStream instead.
 */
export interface QueuedMessage {
  readonly id: string;
  readonly consumer: string;
  readonly subject: string;
  readonly messageId: string;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly deliveries: number;
}

export interface QueueBacklog {
  readonly consumer: string;
  /** Visible now: waiting for a claim. */
  readonly waiting: number;
  /** Hidden: claimed and not yet settled, or waiting for a delayed retry. */
  readonly inFlight: number;
}

export interface DurableQueueStore {
  /**
   * Idempotent per (consumer, messageId). The rows of the consumers in `leasedUntil` are stored
   * already claimed (one delivery, hidden until the given time) and returned, so that the caller can
   * hand them straight to its own handlers; a repeat is not stored and not returned.
   */
  enqueue(
    consumers: readonly string[],
    subject: string,
    messageId: string,
    payload: Record<string, unknown>,
    headers: Record<string, string>,
    leasedUntil?: ReadonlyMap<string, Date>,
  ): Promise<QueuedMessage[]>;
  /** Claims up to `limit` visible messages for `consumer`, hiding them for `leaseMs` and counting a delivery. */
  claim(consumer: string, limit: number, leaseMs: number, now: Date): Promise<QueuedMessage[]>;
  ack(id: string): Promise<void>;
  /** Acknowledges several messages in one statement. */
  ackMany(ids: readonly string[]): Promise<void>;
  /** Messages not yet acknowledged, per consumer (consumers with none are left out). */
  backlog(now: Date): Promise<QueueBacklog[]>;
  /** Make the message visible again after `delayMs`. */
  nak(id: string, delayMs: number, now: Date): Promise<void>;
  /** Move to the dead letters with a reason. */
  deadLetter(id: string, reason: string): Promise<void>;
}

export interface CallbackDeliveryRepository {
  find(id: string): Promise<CallbackDelivery | null>;
  /**
   * Stores the delivery unless one with its id exists; returns the stored one either way. A delivery
   * this call creates is created claimed (`claimed` true): its first attempt holds the lease until
   * `leaseUntil`, with no separate claim. One that existed is returned unclaimed, as it stands.
   */
  ensure(delivery: NewCallbackDelivery, leaseUntil: Date): Promise<AttemptClaim>;
  /**
   * The first delivery of an outcome, in one statement: reads the request and, when it is a ping
   * request with a notification token, the client has an endpoint and the ping is wanted, stores its
   * ping callback claimed until `leaseUntil` (as `ensure` does). `created` is null when nothing was
   * stored: not a ping request, or a callback that already existed.
   */
  openFirstAttempt(attempt: FirstAttempt): Promise<{ readonly request: AuthRequest | null; readonly created: AttemptClaim | null }>;
  /**
   * Push mode (CIBA §10.3): in one transaction, approved → redeemed for `requestId`, store the refresh
   * token issued with it, and store the delivery carrying the tokens, claimed as `ensure` does. When
   * the request was already redeemed by an earlier attempt, returns the delivery stored then,
   * unclaimed; null when there is none.
   */
  ensureRedeemed(
    delivery: NewCallbackDelivery,
    now: Date,
    refreshToken: RefreshTokenRecord | null,
    leaseUntil: Date,
    accessToken?: AccessTokenToStore | null,
  ): Promise<AttemptClaim | null>;
  /**
   * Claims the next attempt, atomically: only a pending delivery whose lease is absent or ended
   * (at `now`) is claimed, and then holds the lease until `leaseUntil`. Null when there is no
   * such delivery. Of concurrent claimers, one wins.
   */
  claimAttempt(id: string, now: Date, leaseUntil: Date): Promise<AttemptClaim | null>;
  /**
   * Records the outcome of the attempt that claimed the lease `leaseUntil`: one more attempt, the
   * new status (a settled delivery stays as it is), and the lease released unless another attempt
   * has taken it since. True when this call settled the delivery (pending → delivered | failed).
   */
  finishAttempt(id: string, leaseUntil: Date, result: AttemptResult): Promise<boolean>;
  /** failed → pending, for an operator's redelivery; false when it was not failed. */
  reopen(id: string): Promise<boolean>;
  listFailed(limit: number): Promise<CallbackDelivery[]>;
}
