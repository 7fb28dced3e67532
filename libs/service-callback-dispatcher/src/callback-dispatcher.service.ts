import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  type AttemptClaim,
  type AuthRequest,
  type CallbackDelivery,
  type CallbackDeliveryRepository,
  type CallbackMessage,
  type CallbackTrigger,
  type Client,
  type ClientRepository,
  type Clock,
  type AuthRequestRepository,
  type EventPublisher,
  type NewCallbackDelivery,
  callbackDeliveryId,
  clientNotificationAttempted,
  clientNotificationFailed,
  denialDescription,
  clientNotified,
  requestRedeemed,
} from '@ciba/domain';
import type { ProviderConfig } from '@ciba/config';
import { PermanentError, RetryableError } from '@ciba/messaging';
import { CallbackSender, nextDeliveryStep } from '@ciba/outbound';
import {
  AUTH_REQUEST_REPOSITORY,
  CALLBACK_DELIVERY_REPOSITORY,
  CLIENT_REPOSITORY,
  CLOCK,
  ClientNotificationTokenSealer,
  EVENT_PUBLISHER,
  PROVIDER_CONFIG,
  TokenIssuer,
} from '@ciba/platform';
import { pingCallbackBody, pushErrorBody } from '@ciba/protocol';
import { AuthReqIds, KeyEncryptor } from '@ciba/tokens';
import { afterRefusedClaim, attemptLeaseMs } from './attempt-lease.js';
import { CallbackMetrics } from './callback-metrics.js';

/**
 * Delivers the result of a ping or push request to the client's notification endpoint:
 * - the callback is built once and stored (encrypted) before the first attempt, so a crash or a
 *   retry sends the very same message, and a push request's tokens are minted exactly once;
 * - at least once across crashes (the bus redelivers until the message is settled), successfully at
 *   most once: every attempt first claims the delivery in PostgreSQL for as long as an attempt can
 *   last, so a message the bus redelivers while an attempt is in flight is not sent again (see
 *   `attempt-lease.ts`), and a delivered callback is never sent again;
 * - retried only when a retry can help (network errors, timeouts, 429, 5xx), never after
 *   400/401/403/404 or a redirect; given up after the configured attempts, into the dead-letter
 *   stream with an audit event saying why.
 */
@Injectable()
export class CallbackDispatcher {
  private readonly logger = new Logger(CallbackDispatcher.name);
  private readonly leaseMs: number;

  constructor(
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
    @Inject(AUTH_REQUEST_REPOSITORY) private readonly requests: AuthRequestRepository,
    @Inject(CLIENT_REPOSITORY) private readonly clients: ClientRepository,
    @Inject(CALLBACK_DELIVERY_REPOSITORY) private readonly deliveries: CallbackDeliveryRepository,
    @Inject(EVENT_PUBLISHER) private readonly events: EventPublisher,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly issuer: TokenIssuer,
    private readonly encryptor: KeyEncryptor,
    private readonly authReqIds: AuthReqIds,
    private readonly notificationTokens: ClientNotificationTokenSealer,
    private readonly sender: CallbackSender,
    private readonly metrics: CallbackMetrics,
  ) {
    this.leaseMs = attemptLeaseMs(config.callbacks);
  }

  /**
   * Handles one lifecycle outcome of `clientId`'s request; `deliveryCount` is the bus's count for this
   * message (1 first). A first delivery of a ping outcome reads the request and stores its callback,
   * claimed, in one statement; then the attempt's outcome is recorded: two round trips.
   */
  async dispatch(requestId: string, clientId: string, trigger: CallbackTrigger, deliveryCount: number): Promise<void> {
    const pingWanted = trigger !== 'expired' || this.config.callbacks.pingOnExpiry;
    let request: AuthRequest | null;
    let claim: { delivery: CallbackDelivery; leaseUntil: Date } | null = null;
    if (deliveryCount === 1) {
      const client = await this.clients.findById(clientId);
      const now = this.clock.now();
      const leaseUntil = new Date(now.getTime() + this.leaseMs);
      const id = callbackDeliveryId(requestId, trigger);
      const endpoint = client?.backchannelClientNotificationEndpoint ?? null;
      const opened = await this.deliveries.openFirstAttempt({ requestId, id, trigger, endpoint, pingWanted, now, leaseUntil });
      request = opened.request;
      if (opened.created) claim = { delivery: opened.created.delivery, leaseUntil };
    } else {
      request = await this.requests.findById(requestId);
    }
    if (!request || request.deliveryMode === 'poll') return;
    if (request.deliveryMode === 'ping' && !pingWanted) return;

    // A ping's first delivery already tried to store it above: the claim starts from the stored row.
    claim ??= await this.claim(request, trigger, deliveryCount, deliveryCount === 1 && request.deliveryMode === 'push');
    if (!claim) return;
    const { delivery, leaseUntil } = claim;

    const message = this.messageOf(delivery);
    const outcome = await this.sender.post(delivery.endpoint, message.body, message.bearerToken);
    const mode = delivery.kind === 'ping' ? 'ping' : 'push';
    const attempts = delivery.attempts + 1;
    this.metrics.attempt(mode, outcome.kind, outcome.latencyMs);
    // Reason codes with the HTTP status when there was one, e.g. `unauthorized/401`: safe to log and audit.
    const reason = outcome.kind === 'delivered' ? null : outcome.status === null ? outcome.reason : `${outcome.reason}/${outcome.status}`;
    this.logger.log(
      { requestId: request.id, clientId: request.clientId, mode, trigger, attempt: attempts, outcome: outcome.kind, status: outcome.status, reason, latencyMs: outcome.latencyMs },
      'callback attempt',
    );

    // Each branch records the outcome and releases the lease in one statement.
    const step = nextDeliveryStep(outcome, deliveryCount, this.config.callbacks.maxAttempts);
    // Every attempt for the audit evidence record; best effort: it never holds up or fails a delivery.
    const attempted = step.action === 'done' ? 'delivered' : step.action === 'retry' ? 'retry' : 'failed';
    void this.events
      .publish(clientNotificationAttempted(request, delivery, attempts, attempted, outcome.status, reason, this.clock.now()))
      .catch((err: unknown) => this.logger.warn({ err, requestId: request.id }, 'could not publish auth_request.client_notification_attempted'));
    switch (step.action) {
      case 'done':
        if (await this.deliveries.finishAttempt(delivery.id, leaseUntil, { status: 'delivered', at: this.clock.now() })) {
          this.metrics.settled(mode, 'delivered');
          await this.events.publish(clientNotified(request, delivery, attempts, this.clock.now(), outcome.status));
        }
        return;
      case 'retry':
        await this.deliveries.finishAttempt(delivery.id, leaseUntil, { status: 'pending', error: reason ?? outcome.kind });
        throw new RetryableError(reason ?? outcome.kind, step.delayMs);
      case 'give_up': {
        const why = step.attemptsExhausted ? `attempts_exhausted:${reason}` : (reason ?? step.reason);
        if (await this.deliveries.finishAttempt(delivery.id, leaseUntil, { status: 'failed', error: why })) {
          this.metrics.settled(mode, 'failed');
          await this.events.publish(clientNotificationFailed(request, delivery, attempts, why, this.clock.now(), outcome.status));
        }
        throw new PermanentError(why);
      }
    }
  }

  /**
   * Claims the next attempt of this outcome's callback, building and storing the callback first when
   * there is none yet. Null when there is nothing to send: the callback was delivered or given up.
   * While another attempt holds it, this delivery of the bus message sends nothing: it is handed back
   * until that attempt's lease ends or, being the last delivery the bus allows, waits here for it.
   * With `createFirst` (a push outcome's first delivery) the callback is built straight away: storing
   * it claims its first attempt in the same statement (one round trip where claim, store, claim took
   * three).
   */
  private async claim(
    request: AuthRequest,
    trigger: CallbackTrigger,
    deliveryCount: number,
    createFirst: boolean,
  ): Promise<{ delivery: CallbackDelivery; leaseUntil: Date } | null> {
    const id = callbackDeliveryId(request.id, trigger);
    let create = createFirst;
    for (;;) {
      const now = this.clock.now();
      const leaseUntil = new Date(now.getTime() + this.leaseMs);
      if (create) {
        create = false;
        const created = await this.create(request, trigger, leaseUntil);
        if (!created) return null;
        if (created.claimed) return { delivery: created.delivery, leaseUntil };
        continue; // it existed: claim it like any other
      }
      const claim = await this.deliveries.claimAttempt(id, now, leaseUntil);
      if (!claim) {
        create = true;
        continue;
      }
      if (claim.claimed) return { delivery: claim.delivery, leaseUntil };
      if (claim.delivery.status !== 'pending') return null;

      const step = afterRefusedClaim(claim.delivery.attemptLeaseUntil, now, deliveryCount, this.config.callbacks.maxAttempts);
      this.logger.log(
        { requestId: request.id, clientId: request.clientId, trigger, delivery: deliveryCount, next: step.action, delayMs: step.delayMs },
        'callback attempt in flight elsewhere',
      );
      if (step.action === 'retry_later') throw new RetryableError('callback_attempt_in_flight', step.delayMs);
      await sleep(step.delayMs);
    }
  }

  /**
   * Builds the callback for this outcome and stores it, claimed until `leaseUntil` when this call
   * created it; null when there is nothing to send.
   */
  private async create(request: AuthRequest, trigger: CallbackTrigger, leaseUntil: Date): Promise<AttemptClaim | null> {
    const client = await this.clients.findById(request.clientId);
    const endpoint = client?.backchannelClientNotificationEndpoint;
    const bearerToken = this.openNotificationToken(request);
    if (!client || !endpoint || !bearerToken) {
      this.logger.error({ requestId: request.id, clientId: request.clientId }, 'no notification endpoint or client notification token for a ping/push request');
      throw new PermanentError('no_notification_endpoint');
    }
    // The handle the client holds, re-derived from the request (it is never stored).
    const authReqId = this.authReqIds.issue(request.id, request.clientId);
    const base = { requestId: request.id, clientId: request.clientId, trigger, endpoint, createdAt: this.clock.now() };
    const seal = (id: string, body: Record<string, unknown>) =>
      this.encryptor.encrypt(JSON.stringify({ body, bearerToken } satisfies CallbackMessage), id);
    const id = callbackDeliveryId(request.id, trigger);

    if (request.deliveryMode === 'ping') {
      // CIBA §10.2: only the auth_req_id; the client fetches the result from the token endpoint.
      // The request's sealed token as it is: the body is derived when sent (see `messageOf`).
      return this.deliveries.ensure({ ...base, id, kind: 'ping', encryptedMessage: request.sealedClientNotificationToken! }, leaseUntil);
    }
    if (trigger === 'approved') return this.createPushTokens(request, authReqId, client, { ...base, id, kind: 'push_tokens' }, seal, leaseUntil);
    // CIBA §12: the error payload with the auth_req_id.
    const body =
      trigger === 'denied'
        ? pushErrorBody(authReqId, 'access_denied', denialDescription(request.denialReason))
        : pushErrorBody(authReqId, 'expired_token', 'the authentication request expired before the end-user decided');
    return this.deliveries.ensure({ ...base, id, kind: 'push_error', encryptedMessage: seal(id, body) }, leaseUntil);
  }

  /**
   * CIBA §10.3.1: the token response plus auth_req_id; the ID token carries the auth_req_id claim,
   * at_hash and, with a refresh token, rt_hash. Minted here (CPU only), then the request is redeemed
   * and the sealed callback stored in one transaction — so tokens are issued exactly once.
   */
  private async createPushTokens(
    request: AuthRequest,
    authReqId: string,
    client: Client,
    delivery: Omit<NewCallbackDelivery, 'encryptedMessage'>,
    seal: (id: string, body: Record<string, unknown>) => string,
    leaseUntil: Date,
  ): Promise<AttemptClaim | null> {
    let prepared;
    try {
      prepared = await this.issuer.prepare(client, request, { includeRtHash: true });
    } catch (err) {
      this.logger.error({ err, requestId: request.id }, 'could not mint push tokens');
      const body = pushErrorBody(authReqId, 'transaction_failed', 'the provider could not issue tokens for this request');
      return this.deliveries.ensure({ ...delivery, kind: 'push_error', encryptedMessage: seal(delivery.id, body) }, leaseUntil);
    }
    const body = { ...prepared.response, auth_req_id: authReqId };
    const now = this.clock.now();
    // The access token's jti is recorded by the redemption itself, so a resource server can report on it at once.
    const accessToken = { jti: prepared.accessTokenJti, expiresAt: new Date(now.getTime() + prepared.response.expires_in * 1000) };
    const stored = await this.deliveries.ensureRedeemed({ ...delivery, encryptedMessage: seal(delivery.id, body) }, now, prepared.refreshTokenRecord, leaseUntil, accessToken);
    // Republishing after a crash is harmless: the event id is deterministic.
    if (stored) {
      const issued = prepared.response.refresh_token ? ['access_token', 'id_token', 'refresh_token'] : ['access_token', 'id_token'];
      await this.events.publish(requestRedeemed(request, issued, now, prepared.accessTokenJti)).catch((err: unknown) => this.logger.warn({ err, requestId: request.id }, 'could not publish auth_request.redeemed'));
    }
    return stored;
  }

  /**
   * What to POST: a ping's body is derived from the request, its bearer opened from the request's
   * sealed token stored with it; a push callback (and a ping stored by an earlier version) is the
   * whole message, sealed.
   */
  private messageOf(delivery: CallbackDelivery): CallbackMessage {
    if (delivery.kind === 'ping') {
      try {
        const bearerToken = this.notificationTokens.open(delivery.encryptedMessage, delivery.requestId);
        return { body: pingCallbackBody(this.authReqIds.issue(delivery.requestId, delivery.clientId)), bearerToken };
      } catch {
        // Sealed for another purpose: the whole message, as pings were stored before.
      }
    }
    return JSON.parse(this.encryptor.decrypt(delivery.encryptedMessage, delivery.id)) as CallbackMessage;
  }

  /**
   * The bearer for this request's callbacks, opened from its sealed form only to be sealed again
   * into the stored callback. Null when there is none or it cannot be opened (a request accepted
   * before tokens were sealed, or another key-encryption key).
   */
  private openNotificationToken(request: AuthRequest): string | null {
    if (request.sealedClientNotificationToken === null) return null;
    try {
      return this.notificationTokens.open(request.sealedClientNotificationToken, request.id);
    } catch {
      this.logger.error({ requestId: request.id }, 'cannot open the sealed client notification token: another key-encryption key, or the stored value was altered');
      return null;
    }
  }
}
