import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { type AuthenticatedClient, type Client, type ClientRepository, asAuthenticatedClient } from '@ciba/domain';
import { FormParams, extractClientCredentials, invalidClient } from '@ciba/protocol';
import { SecretHasher } from '@ciba/tokens';
import { CLIENT_REPOSITORY } from '../di/tokens.js';
import { ClientAuthThrottle, verifyOrUnavailable } from './client-auth-throttle.js';

const NO_FORM_PARAMS = new FormParams([]);

/**
 * Client authentication at the backchannel and token endpoints: client_secret_basic and
 * client_secret_post (RFC 6749 §2.3.1). Every failure is `401 invalid_client` and says nothing
 * about which part was wrong. Failures are throttled (`ClientAuthThrottle`: 429) and scrypt runs
 * are bounded (`SecretHasher`: 503 when saturated); a secret already verified skips both.
 */
@Injectable()
export class ClientAuthenticator {
  /** A real hash of a random secret, verified against for unknown clients so timing does not reveal client ids. */
  private readonly dummyHash: Promise<string>;

  constructor(
    @Inject(CLIENT_REPOSITORY) private readonly clients: ClientRepository,
    private readonly hasher: SecretHasher,
    private readonly throttle: ClientAuthThrottle,
  ) {
    this.dummyHash = hasher.hash(randomBytes(32).toString('base64url'));
  }

  async authenticate(req: Request, params: FormParams, options: { readonly basicOnly?: boolean } = {}): Promise<AuthenticatedClient> {
    const usedHeader = typeof req.headers.authorization === 'string';
    if (options.basicOnly && !usedHeader) throw invalidClient('client authentication with HTTP Basic is required', 'Basic');
    const credentials = extractClientCredentials(req.headers.authorization, params);
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
   * JSON APIs with no form body (the device registration API): HTTP Basic with the client's id and
   * secret, whichever method the client registered for the token endpoint. Same checks, same answers.
   */
  authenticateBasic(req: Request): Promise<AuthenticatedClient> {
    return this.authenticate(req, NO_FORM_PARAMS, { basicOnly: true });
  }
}
