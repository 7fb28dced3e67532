import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  type AuthRequest,
  type AuthRequestRepository,
  type AuthenticatedClient,
  type Clock,
  type EventPublisher,
  ClientNoLongerRegistered,
  acceptedLifecycle,
  requestCreated,
} from '@ciba/domain';
import type { ProviderConfig } from '@ciba/config';
import {
  type BackchannelPolicy,
  type FormParams,
  OAuthError,
  backchannelResponse,
  defaultBindingMessageRule,
  invalidClient,
  patternBindingMessageRule,
  validateBackchannelRequest,
} from '@ciba/protocol';
import { AuthReqIds, UserHintDigest } from '@ciba/tokens';
import { AUTH_REQUEST_REPOSITORY, CLOCK, ClientNotificationTokenSealer, EVENT_PUBLISHER, FlowTracing, PROVIDER_CONFIG, ProviderMetrics } from '@ciba/platform';
import { UserCodeVerifier } from './user-code.verifier.js';
import { UserHintResolver } from './hints/user-hint.resolver.js';

/**
 * CIBA §7: validate the authentication request, resolve the user, persist the request as pending and
 * announce it on the bus, then answer with auth_req_id / expires_in / interval (§7.3).
 */
@Injectable()
export class BackchannelAuthenticationService {
  private readonly logger = new Logger(BackchannelAuthenticationService.name);
  private readonly policy: BackchannelPolicy;
  /** The evidence record's user: a keyed hash of the hint, never the hint. */
  private readonly hintDigest: UserHintDigest;

  constructor(
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
    @Inject(AUTH_REQUEST_REPOSITORY) private readonly requests: AuthRequestRepository,
    @Inject(EVENT_PUBLISHER) private readonly events: EventPublisher,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly authReqIds: AuthReqIds,
    private readonly notificationTokens: ClientNotificationTokenSealer,
    private readonly metrics: ProviderMetrics,
    private readonly tracing: FlowTracing,
    private readonly userCodes: UserCodeVerifier,
    private readonly hints: UserHintResolver,
  ) {
    this.hintDigest = new UserHintDigest(config.keys.auditHintKey ?? config.keys.encryptionKey);
    const { bindingMessage } = config.ciba;
    this.policy = {
      defaultExpiresIn: config.ciba.defaultExpiresIn,
      minExpiresIn: config.ciba.minExpiresIn,
      maxExpiresIn: config.ciba.maxExpiresIn,
      userCodeSupported: true,
      bindingMessage:
        bindingMessage.pattern === null
          ? defaultBindingMessageRule(bindingMessage.maxLength)
          : patternBindingMessageRule(bindingMessage.pattern, bindingMessage.maxLength),
    };
  }

  async handle(client: AuthenticatedClient, params: FormParams, correlationId: string | null) {
    if (!this.config.ciba.deliveryModes.includes(client.backchannelTokenDeliveryMode)) {
      throw new OAuthError('unauthorized_client', `the ${client.backchannelTokenDeliveryMode} token delivery mode is not enabled on this provider`);
    }
    const validated = validateBackchannelRequest(params, client, this.policy);
    const hinted = await this.hints.resolve(client, validated);
    // §7.1: a client registered for user codes always sends one (else missing_user_code above); a
    // user_code from any other client plays no part and is ignored (never checked, never counted).
    const hint = client.backchannelUserCodeParameter ? await this.userCodes.verify(hinted, validated.userCode ?? '') : hinted;
    const now = this.clock.now();
    const interval = client.backchannelTokenDeliveryMode === 'push' ? null : this.config.ciba.interval;
    const id = randomUUID();
    const { clientNotificationToken } = validated;
    const accepted: Omit<AuthRequest, 'subject'> = {
      id,
      clientId: client.clientId,
      scope: validated.scope,
      acrValues: validated.acrValues,
      bindingMessage: validated.bindingMessage,
      authorizationDetails: validated.authorizationDetails,
      hintType: validated.hint.type,
      deliveryMode: client.backchannelTokenDeliveryMode,
      sealedClientNotificationToken: clientNotificationToken === null ? null : this.notificationTokens.seal(clientNotificationToken, id),
      createdAt: now,
      expiresAt: new Date(now.getTime() + validated.expiresIn * 1000),
      interval: this.config.ciba.interval,
      correlationId,
      // The flow's later steps (device decision, token request) continue this request's trace.
      traceContext: this.tracing.traceParent(),
      ...acceptedLifecycle(),
    };
    // One round trip: the user found by the hint and the request stored for them.
    const subject = await this.requests.createForUser(accepted, hint).catch((err: unknown) => {
      // Deleted (RFC 7592 §2.3) since it authenticated: as if its credentials had failed.
      if (err instanceof ClientNoLongerRegistered) throw invalidClient('client authentication failed');
      throw err;
    });
    if (subject === null) throw new OAuthError('unknown_user_id', `the ${validated.hint.type} does not identify a known user`);
    const request: AuthRequest = { ...accepted, subject };
    this.metrics.flowStarted(request);
    await this.announce(request, interval, this.hintDigest.digest(validated.hint.type, validated.hint.value));
    return backchannelResponse({
      authReqId: this.authReqIds.issue(request.id, request.clientId),
      expiresIn: validated.expiresIn,
      interval,
    });
  }

  /**
   * The request is already durable in PostgreSQL. If the bus is unreachable the notifier's sweeper
   * republishes requests whose device was never notified, so the client still gets its answer.
   */
  private async announce(request: AuthRequest, interval: number | null, userHintHash: string): Promise<void> {
    const backchannelEndpoint = `${this.config.publicUrls.authorize}/bc-authorize`;
    try {
      await this.events.publish(requestCreated(request, interval, { issuer: this.config.issuer, backchannelEndpoint, userHintHash }));
    } catch (err) {
      this.logger.warn({ err, requestId: request.id }, 'could not publish auth_request.created; the sweeper will republish it');
    }
  }
}
