import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { ProviderConfig } from '@ciba/config';
import type { AuthenticatedClient } from '@ciba/domain';
import { DPOP_AUTH_SCHEME, DPOP_HEADER, DPOP_NONCE_HEADER, type FormParams, OAuthError, dpopProofError, resourceChallenge, singleDpopHeader, tokenEndpointError, useDpopNonceError } from '@ciba/protocol';
import { ClientCertificates, PROVIDER_CONFIG } from '@ciba/platform';
import { type AccessTokenClaims, type Confirmation, DpopProofVerifier, nonEmptyConfirmation } from '@ciba/tokens';
import type { PresentedAccessToken } from './token-lifecycle.rules.js';

/**
 * Sender-constrained access tokens (RFC 7800 `cnf`): the one place that decides which key an access
 * token is bound to when it is issued, and checks that whoever presents it holds that key.
 * - DPoP (RFC 9449): `cnf.jkt`, the thumbprint of the key of the request's DPoP proof;
 * - mutual TLS (RFC 8705): `cnf.x5t#S256`, the thumbprint of the client certificate.
 * Push mode tokens are delivered by the provider itself and stay unbound.
 */
@Injectable()
export class SenderConstraint {
  private readonly logger = new Logger(SenderConstraint.name);

  constructor(
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
    private readonly dpop: DpopProofVerifier,
    private readonly certificates: ClientCertificates,
  ) {}

  /**
   * At the token endpoint, after client authentication and before the grant: the confirmation to
   * bind the access token with; undefined for a bearer token. Throws the token endpoint's error
   * (`invalid_dpop_proof`, `use_dpop_nonce`) for a proof that fails. With `res`, a request with a
   * proof also gets the current nonce in `DPoP-Nonce` (RFC 9449 §8.2), so its next proof has it.
   */
  async confirmationFor(req: Request, client: AuthenticatedClient, params: FormParams, res?: Response): Promise<Confirmation | undefined> {
    void params;
    const confirmation: { jkt?: string; 'x5t#S256'?: string } = {};

    // RFC 9449 §5: a valid proof binds the access token to its key; §5.2: a client registered with
    // dpop_bound_access_tokens must always send one.
    const proof = singleDpopHeader(req.headersDistinct[DPOP_HEADER.toLowerCase()]);
    const nonce = this.dpop.currentNonce();
    if (proof !== null && nonce !== null) res?.setHeader(DPOP_NONCE_HEADER, nonce);
    if (proof === null) {
      if (client.dpopBoundAccessTokens === true) {
        throw dpopProofError('this client is registered with dpop_bound_access_tokens: its token requests must carry a DPoP proof', nonceHeader(nonce));
      }
    } else {
      const verdict = await this.dpop.verify(proof, { method: req.method, uri: `${this.config.publicUrls.token}/token` });
      if (!verdict.ok) {
        this.logger.debug({ clientId: client.clientId, error: verdict.error, reason: verdict.reason }, 'DPoP proof refused at the token endpoint');
        throw verdict.error === 'use_dpop_nonce' && nonce !== null ? useDpopNonceError(nonce) : dpopProofError(verdict.reason, nonceHeader(nonce));
      }
      confirmation.jkt = verdict.jkt;
    }

    // RFC 8705 §3: a client registered with tls_client_certificate_bound_access_tokens gets its access
    // token bound to the certificate presented (through a trusted proxy) with this request; none, none issued.
    if (client.tlsClientCertificateBoundAccessTokens === true) {
      const reading = this.certificates.read(req);
      if (reading.kind !== 'present') {
        throw tokenEndpointError('invalid_grant', 'this client is registered with tls_client_certificate_bound_access_tokens: its token requests must present its client certificate');
      }
      confirmation['x5t#S256'] = reading.presented.thumbprint;
    }
    return nonEmptyConfirmation(confirmation);
  }

  /**
   * At a protected resource (UserInfo), once the access token is verified: the presenter proves
   * possession of the key in its `cnf`. Throws the RFC 6750 / RFC 9449 §7 error (with its
   * `WWW-Authenticate` challenge) otherwise. `uri`: the resource's public URL (the proof's `htu`).
   */
  async checkResourceRequest(req: Request, claims: AccessTokenClaims, presented: PresentedAccessToken, uri: string, res?: Response): Promise<void> {
    const jkt = claims.cnf?.jkt;
    const proof = singleDpopResourceHeader(req);
    const nonce = this.dpop.currentNonce();
    if (presented.scheme === 'DPoP' || jkt !== undefined) {
      // RFC 9449 §7.2: a DPoP-bound token presented as a bearer token is refused.
      if (presented.scheme !== DPOP_AUTH_SCHEME) throw resourceChallenge('invalid_token', 'the access token is DPoP-bound: present it with the DPoP scheme and a DPoP proof');
      // A bearer token with the DPoP scheme would prove nothing the token does not already say.
      if (jkt === undefined) throw resourceChallenge('invalid_token', 'the access token is not DPoP-bound: present it with the Bearer scheme', { scheme: 'DPoP' });
      if (proof === null) throw resourceChallenge('invalid_dpop_proof', 'a DPoP proof is required with a DPoP-bound access token', nonceOption(nonce));
      if (nonce !== null) res?.setHeader(DPOP_NONCE_HEADER, nonce);
      const verdict = await this.dpop.verify(proof, { method: req.method, uri, accessToken: presented.token, boundJkt: jkt });
      if (!verdict.ok) {
        this.logger.debug({ clientId: claims.clientId, error: verdict.error, reason: verdict.reason }, 'DPoP proof refused at a protected resource');
        throw resourceChallenge(verdict.error, verdict.error === 'use_dpop_nonce' ? 'the DPoP proof must carry the nonce in the DPoP-Nonce header' : verdict.reason, nonceOption(nonce));
      }
      // RFC 9449 §7.1 / §4.3 (12): the proof's key is the token's (the verifier checked it already; kept as the rule's statement).
      if (verdict.jkt !== jkt) throw resourceChallenge('invalid_dpop_proof', 'the DPoP proof key is not the key the access token is bound to', nonceOption(nonce));
    }
    // RFC 8705 §3: a certificate-bound token only with the very certificate it is bound to (§3.1 x5t#S256).
    const x5t = claims.cnf?.['x5t#S256'];
    if (x5t !== undefined) {
      const reading = this.certificates.read(req);
      if (reading.kind !== 'present' || reading.presented.thumbprint !== x5t) {
        this.logger.debug({ clientId: claims.clientId, certificate: reading.kind }, 'certificate-bound access token without its certificate');
        throw resourceChallenge('invalid_token', 'the access token is bound to a client certificate that was not presented');
      }
    }
  }
}

function nonceHeader(nonce: string | null): Record<string, string> {
  return nonce === null ? {} : { [DPOP_NONCE_HEADER]: nonce };
}

function nonceOption(nonce: string | null): { nonce?: string; scheme: 'DPoP' } {
  return nonce === null ? { scheme: 'DPoP' } : { nonce, scheme: 'DPoP' };
}

/** RFC 9449 §4.1: exactly one DPoP header, or none; several is a resource's `invalid_dpop_proof`. */
function singleDpopResourceHeader(req: Request): string | null {
  try {
    return singleDpopHeader(req.headersDistinct[DPOP_HEADER.toLowerCase()]);
  } catch (err) {
    if (err instanceof OAuthError) throw resourceChallenge('invalid_dpop_proof', err.description, { scheme: 'DPoP' });
    throw err;
  }
}
