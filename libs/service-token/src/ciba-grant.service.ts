import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  type AuthRequest,
  type AuthRequestRepository,
  type AuthenticatedClient,
  type Clock,
  type EventPublisher,
  type PendingPollCache,
  type PollRecord,
  type User,
  denialDescription,
  pollOutcome,
  requestRedeemed,
} from '@ciba/domain';
import { SLOW_DOWN_INCREMENT_SECONDS, tokenEndpointError } from '@ciba/protocol';
import { AUTH_REQUEST_REPOSITORY, CLOCK, EVENT_PUBLISHER, FlowTracing, PENDING_POLL_CACHE, TokenIssuer, type TokenResponse } from '@ciba/platform';
import { type AccessTokenSeed, AuthReqIds, type Confirmation, type RefreshTokenSeed } from '@ciba/tokens';


/**
 * CIBA §10.1 / §11: the token request with the CIBA grant. The auth_req_id's MAC is checked first
 * (a forged, malformed or another client's handle is invalid_grant without any lookup), then the
 * poll is recorded atomically (so concurrent polls see one winner for slow_down), then the request's
 * state decides the answer.
 */
@Injectable()
export class CibaGrantService {
  private readonly logger = new Logger(CibaGrantService.name);

  constructor(
    @Inject(AUTH_REQUEST_REPOSITORY) private readonly requests: AuthRequestRepository,
    @Inject(EVENT_PUBLISHER) private readonly events: EventPublisher,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PENDING_POLL_CACHE) private readonly pollCache: PendingPollCache,
    private readonly issuer: TokenIssuer,
    private readonly authReqIds: AuthReqIds,
    private readonly tracing: FlowTracing,
  ) {}

  /** `confirmation`: the key the access token is bound to (RFC 9449 DPoP, RFC 8705 mTLS); undefined for a bearer token. */
  async exchange(client: AuthenticatedClient, authReqId: string, confirmation?: Confirmation): Promise<TokenResponse> {
    if (client.backchannelTokenDeliveryMode === 'push') {
      throw tokenEndpointError('unauthorized_client', 'push mode clients receive tokens at their notification endpoint, not from the token endpoint');
    }
    const requestId = this.authReqIds.verify(authReqId, client.clientId);
    if (requestId === null) throw unknownAuthReqId();
    const now = this.clock.now();
    // Most polls find the request still pending: answer those from the cache, without the database.
    const cached = await this.pollCache.recordPoll(client.clientId, requestId, now, SLOW_DOWN_INCREMENT_SECONDS);
    if (cached) throw cached.tooSoon ? slowDown(cached.interval) : authorizationPending();

    const requests = this.requests.forClient(client);
    // Made before the poll so that a redemption stores them in the same statement: the refresh token,
    // and the access token's jti, by which a resource server reports on the token once it has it.
    const refreshToken = this.issuer.newRefreshToken(client);
    const accessToken = this.issuer.newAccessToken();
    const polled = await requests.recordPoll(requestId, now, SLOW_DOWN_INCREMENT_SECONDS, refreshToken, accessToken);
    if (!polled) throw unknownAuthReqId();
    // A poll that reached the request's state is a step of its flow, in the flow's trace (polls the
    // cache answers stay in their own request's trace: the cache holds no trace context).
    const attributes = { 'ciba.request_id': polled.request.id, 'ciba.client_id': client.clientId, 'ciba.delivery_mode': polled.request.deliveryMode };
    return this.tracing.inFlow('ciba.token_request', polled.request.traceContext, attributes, () => this.answer(client, polled, now, refreshToken, accessToken, confirmation));
  }

  /** The answer to a poll recorded in the database: an error per the request's state, or the tokens of a redemption. */
  private async answer(
    client: AuthenticatedClient,
    polled: PollRecord,
    now: Date,
    refreshToken: RefreshTokenSeed | null,
    accessToken: AccessTokenSeed,
    confirmation: Confirmation | undefined,
  ): Promise<TokenResponse> {
    const outcome = pollOutcome(polled.request, now, polled.tooSoon);
    if (outcome.kind === 'pending' || outcome.kind === 'slow_down') await this.pollCache.rememberPending(polled.request);
    switch (outcome.kind) {
      case 'pending':
        throw authorizationPending();
      case 'slow_down':
        throw slowDown(outcome.interval);
      case 'denied':
        // A request refused by a prompt limit never reached the user: the description says so (§11 access_denied either way).
        throw tokenEndpointError('access_denied', denialDescription(polled.request.denialReason));
      case 'expired':
        throw tokenEndpointError('expired_token', 'the auth_req_id has expired; start a new authentication request');
      case 'redeemed':
        if (polled.redeemed) return this.issue(client, polled.request, polled.user, refreshToken, accessToken, confirmation);
        throw tokenEndpointError('invalid_grant', 'the auth_req_id was already exchanged for tokens');
      case 'approved':
        // Not redeemed by the poll that found it approved: cannot happen (the statement redeems it).
        throw tokenEndpointError('invalid_grant', 'the auth_req_id was already exchanged for tokens');
    }
  }

  /**
   * This poll redeemed the request (for this caller alone, atomically): mint the tokens (CPU only).
   * Should minting fail, the redemption is undone so that the client may poll again.
   */
  private async issue(
    client: AuthenticatedClient,
    redeemed: AuthRequest,
    user: User | null,
    refreshToken: RefreshTokenSeed | null,
    accessToken: AccessTokenSeed,
    confirmation: Confirmation | undefined,
  ): Promise<TokenResponse> {
    let prepared;
    try {
      prepared = await this.issuer.prepare(client, redeemed, {
        user,
        refreshToken: refreshToken?.value ?? null,
        accessTokenJti: accessToken.jti,
        ...(confirmation !== undefined ? { confirmation } : {}),
      });
    } catch (err) {
      await this.requests
        .forClient(client)
        .undoRedemption(redeemed.id, redeemed.redeemedAt ?? this.clock.now(), refreshToken?.tokenHash ?? null)
        .catch((undoErr: unknown) => this.logger.error({ err: undoErr, requestId: redeemed.id }, 'could not undo a redemption whose tokens were not minted'));
      throw err;
    }
    const issued = prepared.response.refresh_token ? ['access_token', 'id_token', 'refresh_token'] : ['access_token', 'id_token'];
    // The tokens are already the client's; a lost audit event must not turn this into an error.
    await this.events
      .publish(requestRedeemed(redeemed, issued, redeemed.redeemedAt ?? this.clock.now(), prepared.accessTokenJti))
      .catch((err: unknown) => this.logger.warn({ err, requestId: redeemed.id }, 'could not publish auth_request.redeemed'));
    return prepared.response;
  }
}

const unknownAuthReqId = () => tokenEndpointError('invalid_grant', 'auth_req_id is unknown or was not issued to this client');
const authorizationPending = () => tokenEndpointError('authorization_pending', 'the end-user has not yet been authenticated');
const slowDown = (interval: number) => tokenEndpointError('slow_down', `polling too fast; wait at least ${interval} seconds between requests`);
