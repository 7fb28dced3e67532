import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { ProviderConfig } from '@ciba/config';
import type { Client, ClientRegistration, ClientRegistrations, ClientRepository, Clock } from '@ciba/domain';
import {
  CLIENT_REGISTRATIONS,
  CLIENT_REPOSITORY,
  CLOCK,
  CachedClientRepository,
  ClientAuthThrottle,
  PROVIDER_CONFIG,
  addressKey,
  buildClient,
  notificationEndpointPolicy,
  verifyOrUnavailable,
} from '@ciba/platform';
import { OAuthError, invalidRequest } from '@ciba/protocol';
import { KeyEncryptor, SecretHasher } from '@ciba/tokens';
import { type RegistrationPolicy, checkRegistrationMetadata, registeredMetadata, registrationPolicy } from './registration-metadata.js';
import {
  SECRET_AUTH_METHODS,
  bearerTokenOf,
  digestMatchesAny,
  invalidClientMetadata,
  newClientId,
  newSecret,
  registrationTokenError,
  tokenDigest,
} from './registration.rules.js';

/** Where a request comes from: its Authorization header and its address (for the failure throttle). */
export interface RegistrationCaller {
  readonly authorization: string | undefined;
  readonly address: string | undefined;
}

/** The client information response (RFC 7591 §3.2.1, RFC 7592 §3). */
export type ClientInformation = Record<string, unknown>;

/** Never matches: compared against when a client id has no registration, so that case takes the same work. */
const NO_REGISTRATION = tokenDigest('\u0000no registration');
/**
 * What a client id this endpoint issued looks like (`newClientId`: base64url). Anything else — a
 * bootstrap client's id, a NUL or other text PostgreSQL would refuse — has no registration and is
 * never looked up.
 */
const ISSUED_CLIENT_ID = /^[A-Za-z0-9_-]{1,255}$/;

/**
 * Dynamic client registration (RFC 7591 §3) with an initial access token, and the client
 * configuration endpoint (RFC 7592 §2) with the registration access token issued at registration.
 *
 * Secrets are shown once: the client secret is stored as a scrypt hash (sealed as well for
 * client_secret_jwt), the registration access token as a SHA-256 digest (a random 256-bit value),
 * and neither is logged. A registration access token that does not match — a wrong one, another
 * client's, one for a bootstrap or unknown client — is the same `401 invalid_token`, and failures
 * are throttled per client id and address like client authentication (`ClientAuthThrottle`).
 */
@Injectable()
export class ClientRegistrationService {
  private readonly logger = new Logger(ClientRegistrationService.name);
  private readonly policy: RegistrationPolicy;

  constructor(
    @Inject(CLIENT_REGISTRATIONS) private readonly registrations: ClientRegistrations,
    @Inject(CLIENT_REPOSITORY) private readonly clients: ClientRepository,
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly hasher: SecretHasher,
    private readonly throttle: ClientAuthThrottle,
    @Optional() @Inject(KeyEncryptor) private readonly encryptor: KeyEncryptor | null,
  ) {
    this.policy = registrationPolicy(config, { signingAlgs: config.keys.signingAlgs, endpoints: notificationEndpointPolicy(config), encryptor: encryptor ?? null }, () =>
      this.clients.authorizationDetailsTypes(),
    );
  }

  get enabled(): boolean {
    return this.config.registration.enabled;
  }

  /** RFC 7591 §3.1: registers a client; the response (§3.2.1) is the only time its secrets are shown. */
  async register(caller: RegistrationCaller, request: Record<string, unknown>): Promise<ClientInformation> {
    await this.checkInitialAccessToken(caller);
    const clientId = newClientId();
    const clientSecret = newSecret();
    const metadata = await checkRegistrationMetadata(request, { clientId, clientSecret }, this.policy);
    const client = await buildClient(metadata, null, { hasher: this.hasher, encryptor: this.encryptor });
    const registrationAccessToken = newSecret();
    const registration: ClientRegistration = {
      clientId,
      registrationAccessTokenHash: tokenDigest(registrationAccessToken),
      clientIdIssuedAt: this.clock.now(),
      metadata: registeredMetadata(metadata),
    };
    await this.registrations.create(client, registration);
    this.logger.log({ clientId, tokenEndpointAuthMethod: client.tokenEndpointAuthMethod, deliveryMode: client.backchannelTokenDeliveryMode }, 'client registered');
    return this.information(client, registration, registrationAccessToken, metadata.client_secret ?? null);
  }

  /** RFC 7592 §2.1: the client's current registration. */
  async read(clientId: string, caller: RegistrationCaller): Promise<ClientInformation> {
    const { client, registration, token } = await this.authorize(clientId, caller);
    return this.information(client, registration, token, null);
  }

  /**
   * RFC 7592 §2.2: replaces the client's metadata with the request's (omitted fields return to their
   * defaults), under the same checks as a registration. The request names the client's client_id;
   * a client_secret it sends must be the issued one (a client never chooses its secret). The secret
   * and the registration access token stay as they are; the token endpoint authentication method
   * cannot change (the credentials it needs are issued at registration: register a new client).
   */
  async update(clientId: string, caller: RegistrationCaller, request: Record<string, unknown>): Promise<ClientInformation> {
    const { client: existing, registration, token } = await this.authorize(clientId, caller);
    if (request['client_id'] !== clientId) throw invalidRequest('client_id: an update must name the client it updates (RFC 7592 §2.2)');
    const sentSecret = request['client_secret'];
    if (sentSecret !== undefined && !(typeof sentSecret === 'string' && (await verifyOrUnavailable(() => this.hasher.verify(sentSecret, existing.clientSecretHash))))) {
      throw invalidClientMetadata('client_secret: does not match the issued secret (a client cannot choose its secret)');
    }
    const method = request['token_endpoint_auth_method'] ?? 'client_secret_basic';
    if (method !== existing.tokenEndpointAuthMethod) {
      throw invalidClientMetadata(`token_endpoint_auth_method: cannot change from ${existing.tokenEndpointAuthMethod} (register a new client instead)`);
    }
    // The stored secret stays; the schema only needs to see that the method has one.
    const metadata = await checkRegistrationMetadata(request, { clientId, clientSecret: newSecret() }, this.policy);
    const built = await buildClient(metadata, existing, { hasher: this.hasher, encryptor: this.encryptor }, { keepStoredSecret: true });
    const updatedMetadata = registeredMetadata(metadata);
    if (!(await this.registrations.update(built, updatedMetadata))) throw this.refused();
    this.forgetCachedClient(clientId);
    this.logger.log({ clientId }, 'client registration updated');
    return this.information(built, { ...registration, metadata: updatedMetadata }, token, null);
  }

  /** RFC 7592 §2.3: deletes the client; it can no longer authenticate, and its pending requests are gone with it. */
  async remove(clientId: string, caller: RegistrationCaller): Promise<void> {
    await this.authorize(clientId, caller);
    if (!(await this.registrations.delete(clientId))) throw this.refused();
    this.forgetCachedClient(clientId);
    this.logger.log({ clientId }, 'client registration deleted');
  }

  /**
   * RFC 7591 §3: `Authorization: Bearer <initial access token>` unless registration is open; 401
   * invalid_token for a wrong one. Failures are throttled per address.
   */
  private async checkInitialAccessToken(caller: RegistrationCaller): Promise<void> {
    const accepted = this.config.registration.initialAccessTokens;
    if (accepted === 'open') return;
    const token = bearerTokenOf(caller.authorization, 'initial access token');
    const attempt = { clientId: `registration-initial-access-token:${addressKey(caller.address)}`, address: caller.address, registered: false };
    await this.throttle.check(attempt);
    if (digestMatchesAny(tokenDigest(token), accepted)) return;
    await this.throttle.recordFailure(attempt);
    throw registrationTokenError('invalid_token', 'the initial access token is invalid');
  }

  /** RFC 7592 §2: the registration the token was issued for, read from the database; 401 for any other token. */
  private async authorize(clientId: string, caller: RegistrationCaller): Promise<{ client: Client; registration: ClientRegistration; token: string }> {
    const token = bearerTokenOf(caller.authorization, 'registration access token');
    const attempt = { clientId: `registration:${clientId}`, address: caller.address, registered: false };
    await this.throttle.check(attempt);
    const found = ISSUED_CLIENT_ID.test(clientId) ? await this.registrations.find(clientId) : null;
    if (digestMatchesAny(tokenDigest(token), [found?.registration.registrationAccessTokenHash ?? NO_REGISTRATION]) && found !== null) {
      return { ...found, token };
    }
    await this.throttle.recordFailure(attempt);
    throw this.refused();
  }

  private refused(): OAuthError {
    return registrationTokenError('invalid_token', 'the registration access token is invalid');
  }

  /**
   * This replica forgets the client before it answers (its next request may come back here before
   * the change feed's notification does); every other process when the change commits (the feed).
   */
  private forgetCachedClient(clientId: string): void {
    if (this.clients instanceof CachedClientRepository) this.clients.forget(clientId);
  }

  /** RFC 7591 §3.2.1 with RFC 7592 §3: the issued credentials, then the registered metadata. */
  private information(client: Client, registration: ClientRegistration, registrationAccessToken: string, clientSecret: string | null): ClientInformation {
    const hasSecret = SECRET_AUTH_METHODS.includes(client.tokenEndpointAuthMethod);
    return {
      client_id: client.clientId,
      ...(clientSecret !== null && hasSecret ? { client_secret: clientSecret } : {}),
      client_id_issued_at: Math.floor(registration.clientIdIssuedAt.getTime() / 1000),
      ...(hasSecret ? { client_secret_expires_at: 0 } : {}),
      registration_access_token: registrationAccessToken,
      registration_client_uri: `${this.config.publicUrls.authorize}/register/${encodeURIComponent(client.clientId)}`,
      ...registration.metadata,
    };
  }
}
