import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import type { ProviderConfig } from '@ciba/config';
import { type AuthenticatedClient, type Client, type ClientRepository, asAuthenticatedClient } from '@ciba/domain';
import { type ClientAssertionCredentials, FormParams, type TlsClientCertificateCredentials, extractClientCredentials, invalidClient, publicJwkSetProblem } from '@ciba/protocol';
import { ClientAssertionVerifier, ClientJwksCache, SecretHasher, unverifiedAssertionSubject } from '@ciba/tokens';
import { CLIENT_REPOSITORY, PROVIDER_CONFIG } from '../di/tokens.js';
import { certificateInKeys, certificateNamesClient } from './certificate-match.js';
import { ClientAuthThrottle, verifyOrUnavailable } from './client-auth-throttle.js';
import { ClientCertificates, type PresentedCertificate } from './client-certificate.js';

const NO_FORM_PARAMS = new FormParams([]);

/**
 * Client authentication at the backchannel and token endpoints: client_secret_basic and
 * client_secret_post (RFC 6749 §2.3.1), client_secret_jwt and private_key_jwt (RFC 7523 §2.2,
 * OpenID Connect Core 1.0 §9; see `ClientAssertionVerifier`), tls_client_auth and
 * self_signed_tls_client_auth (RFC 8705 §2, with the certificate the proxy forwards, see
 * `ClientCertificates`). Every failure is `401 invalid_client` and says nothing
 * about which part was wrong. Failures are throttled (`ClientAuthThrottle`: 429) and scrypt runs
 * are bounded (`SecretHasher`: 503 when saturated); a secret already verified skips both.
 */
@Injectable()
export class ClientAuthenticator {
  private readonly logger = new Logger(ClientAuthenticator.name);
  /** A real hash of a random secret, verified against for unknown clients so timing does not reveal client ids. */
  private readonly dummyHash: Promise<string>;

  constructor(
    @Inject(CLIENT_REPOSITORY) private readonly clients: ClientRepository,
    private readonly hasher: SecretHasher,
    private readonly throttle: ClientAuthThrottle,
    private readonly assertions: ClientAssertionVerifier,
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
    private readonly certificates: ClientCertificates,
    private readonly jwksCache: ClientJwksCache,
  ) {
    this.dummyHash = hasher.hash(randomBytes(32).toString('base64url'));
  }

  async authenticate(req: Request, params: FormParams, options: { readonly basicOnly?: boolean } = {}): Promise<AuthenticatedClient> {
    const usedHeader = typeof req.headers.authorization === 'string';
    if (options.basicOnly && !usedHeader) throw invalidClient('client authentication with HTTP Basic is required', 'Basic');
    const credentials = extractClientCredentials(req.headers.authorization, params, { tlsClientAuth: !options.basicOnly && this.certificates.enabled });
    if (credentials.method === 'client_assertion') return this.authenticateAssertion(req, credentials);
    if (credentials.method === 'tls_client_certificate') return this.authenticateCertificate(req, credentials);
    const fail = () => invalidClient('client authentication failed', usedHeader ? 'Basic' : undefined);
    const client: Client | null = await this.clients.findById(credentials.clientId);
    const known = client !== null && this.hasher.recallsVerified(credentials.clientSecret, client.clientSecretHash);
    const attempt = { clientId: credentials.clientId, address: req.ip, registered: client !== null };
    if (!known) await this.throttle.check(attempt);
    // For an unknown client, spend the same work as a real verification so response time does not reveal client ids.
    const secretOk = await verifyOrUnavailable(async () => this.hasher.verify(credentials.clientSecret, client?.clientSecretHash ?? (await this.dummyHash)));
    if (!client || !secretOk) {
      await this.throttle.recordFailure(attempt);
      throw fail();
    }
    if (!options.basicOnly && client.tokenEndpointAuthMethod !== credentials.method) throw fail();
    return asAuthenticatedClient(client);
  }

  /**
   * RFC 7523 §3: the assertion names its client in `sub` (= `iss`); the client_id parameter, when
   * sent, must agree. The assertion's reason for failing goes to a debug log (never the assertion);
   * the client learns only `invalid_client`. Every assertion is verified in full (there is no
   * cached verdict as for secrets), so the throttle is consulted every time.
   */
  private async authenticateAssertion(req: Request, credentials: ClientAssertionCredentials): Promise<AuthenticatedClient> {
    const clientId = unverifiedAssertionSubject(credentials.assertion);
    const client: Client | null = clientId === null ? null : await this.clients.findById(clientId);
    const attempt = { clientId: clientId ?? credentials.clientIdParam ?? '', address: req.ip, registered: client !== null };
    await this.throttle.check(attempt);
    let reason: string | null;
    if (client === null) reason = clientId === null ? 'no_subject' : 'unknown_client';
    else if (credentials.clientIdParam !== undefined && credentials.clientIdParam !== client.clientId) reason = 'client_id_mismatch';
    else {
      const verdict = await this.assertions.verify(client, credentials.assertion, this.endpointUrl(req));
      reason = verdict.ok ? null : verdict.reason;
    }
    if (client === null || reason !== null) {
      this.logger.debug({ ...(client ? { clientId: client.clientId } : {}), reason }, 'client assertion refused');
      await this.throttle.recordFailure(attempt);
      throw invalidClient('client authentication failed');
    }
    return asAuthenticatedClient(client);
  }

  /**
   * RFC 8705 §2: the client named by client_id, registered for tls_client_auth or
   * self_signed_tls_client_auth, presents (through a trusted proxy) a certificate that §2.1 names
   * its registered subject, or §2.2 is one of its registered keys' x5c. Throttled and answered like
   * a bad assertion: the reason goes to a debug log, the client learns only `invalid_client`.
   */
  private async authenticateCertificate(req: Request, credentials: TlsClientCertificateCredentials): Promise<AuthenticatedClient> {
    const client: Client | null = await this.clients.findById(credentials.clientId);
    const attempt = { clientId: credentials.clientId, address: req.ip, registered: client !== null };
    await this.throttle.check(attempt);
    const reading = this.certificates.read(req);
    let reason: string | null;
    if (client === null) reason = 'unknown_client';
    else if (reading.kind !== 'present') reason = `certificate_${reading.kind}`;
    else reason = await this.certificateRefusal(client, reading.presented);
    if (client === null || reason !== null) {
      this.logger.debug({ ...(client ? { clientId: client.clientId } : {}), reason }, 'client certificate refused');
      await this.throttle.recordFailure(attempt);
      throw invalidClient('client authentication failed');
    }
    return asAuthenticatedClient(client);
  }

  private async certificateRefusal(client: Client, presented: PresentedCertificate): Promise<string | null> {
    switch (client.tokenEndpointAuthMethod) {
      case 'tls_client_auth':
        // With a verify header configured, only a chain the proxy verified counts (it may let self-signed ones through).
        if (presented.chainVerified === false) return 'chain_not_verified';
        if (!client.tlsClientAuthSubject) return 'no_registered_subject';
        return certificateNamesClient(presented.certificate, client.tlsClientAuthSubject) ? null : 'subject_mismatch';
      case 'self_signed_tls_client_auth':
        return (await this.registeredCertificate(client, presented)) ? null : 'not_a_registered_certificate';
      case 'client_secret_basic':
      case 'client_secret_post':
      case 'client_secret_jwt':
      case 'private_key_jwt':
        return 'method_not_registered';
    }
  }

  /** RFC 8705 §2.2: the certificate is the x5c[0] of one of the client's keys, inline or at its jwks_uri (shared key set cache). */
  private async registeredCertificate(client: Client, presented: PresentedCertificate): Promise<boolean> {
    if (client.jwks !== null) return publicJwkSetProblem(client.jwks) === null && certificateInKeys(presented.certificate, client.jwks.keys);
    if (client.jwksUri === null) return false;
    try {
      return (await this.jwksCache.findKey(client.jwksUri, (key) => certificateInKeys(presented.certificate, [key]))) !== null;
    } catch {
      return false;
    }
  }

  /**
   * RFC 7523 §3 (3): the URL of the endpoint the assertion was sent to, one of the audiences it may
   * name (the issuer is the other). The backchannel endpoint is served at the authorize service's
   * public URL, every other endpoint that authenticates clients at the token service's.
   */
  private endpointUrl(req: Request): string {
    const base = req.path === '/bc-authorize' ? this.config.publicUrls.authorize : this.config.publicUrls.token;
    return `${base}${req.path}`;
  }

  /**
   * JSON APIs with no form body (the device registration API): HTTP Basic with the client's id and
   * secret, whichever method the client registered for the token endpoint. Same checks, same answers.
   */
  authenticateBasic(req: Request): Promise<AuthenticatedClient> {
    return this.authenticate(req, NO_FORM_PARAMS, { basicOnly: true });
  }
}
