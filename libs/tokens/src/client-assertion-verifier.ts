import { type JWSHeaderParameters, type JWTPayload, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import type { Client, ClientAssertionJtis, Clock } from '@ciba/domain';
import { clientAssertionMethodOf } from '@ciba/protocol';
import type { ClientJwksCache } from './client-jwks-cache.js';
import type { KeyEncryptor } from './key-encryption.js';

export interface ClientAssertionVerifierOptions {
  readonly jtis: ClientAssertionJtis;
  readonly jwksCache: ClientJwksCache;
  /** Unseals client_secret_jwt secrets; absent in a service that holds no key encryption key. */
  readonly encryptor: KeyEncryptor | null;
  readonly clock: Clock;
  /** The provider's issuer identifier, one of the two audiences an assertion may name. */
  readonly issuer: string;
  /** RFC 7523 §3 (4): how far ahead exp may be, beyond the skew. */
  readonly maxLifetimeMs: number;
  readonly clockSkewMs: number;
}

/** The jti is the client's text: bounded, like any other identifier it sends. */
const JTI_MAX_LENGTH = 255;

/** The AES-GCM associated data binding a sealed client secret to its client. */
export function clientSecretSealingContext(clientId: string): string {
  return `client_secret:${clientId}`;
}

/** The claims read before the signature is checked: only to find the client, never trusted. */
export function unverifiedAssertionSubject(assertion: string): string | null {
  try {
    const payload = decodeJwt(assertion);
    return typeof payload.sub === 'string' && payload.sub !== '' && payload.sub.length <= 255 ? payload.sub : null;
  } catch {
    return null;
  }
}

export type AssertionVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Verifies a JWT client assertion (RFC 7523 §3, OpenID Connect Core 1.0 §9) for a known client, in
 * this order: the algorithm (allow-listed, matching the client's registered method and, when it
 * registered one, its token_endpoint_auth_signing_alg), the signature with the client's key (its
 * public keys, or its unsealed secret), the claims (iss = sub = client_id, aud the issuer or this
 * endpoint, exp present and near, nbf and iat not in the future), and last the jti, recorded once
 * for the whole deployment so the assertion cannot be replayed. The verdict's reason is for a
 * debug log; the client is told only that authentication failed.
 */
export class ClientAssertionVerifier {
  constructor(private readonly options: ClientAssertionVerifierOptions) {}

  async verify(client: Client, assertion: string, endpointUrl: string): Promise<AssertionVerdict> {
    let header: JWSHeaderParameters;
    try {
      header = decodeProtectedHeader(assertion);
    } catch {
      return fail('malformed');
    }
    const alg = header.alg;
    const method = clientAssertionMethodOf(alg);
    if (method === null || alg === undefined) return fail('alg_not_allowed');
    if (client.tokenEndpointAuthMethod !== method) return fail('method_not_registered');
    if (client.tokenEndpointAuthSigningAlg !== null && client.tokenEndpointAuthSigningAlg !== alg) return fail('alg_not_registered');
    // RFC 7515 §4.1.11: an extension the verifier must understand; none is supported here.
    if (header.crit !== undefined) return fail('crit_header');

    const { clock, clockSkewMs, maxLifetimeMs, issuer } = this.options;
    const now = clock.now();
    let payload: JWTPayload;
    try {
      const key = method === 'client_secret_jwt' ? this.secretKey(client) : (h: JWSHeaderParameters) => this.publicKey(client, h);
      if (key === null) return fail('no_secret');
      ({ payload } = await jwtVerify(assertion, key as Parameters<typeof jwtVerify>[1], {
        algorithms: [alg],
        issuer: client.clientId,
        subject: client.clientId,
        audience: [issuer, endpointUrl],
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'jti'],
        currentDate: now,
        clockTolerance: Math.floor(clockSkewMs / 1000),
      }));
    } catch (error) {
      return fail(error instanceof Error ? ((error as { code?: string }).code ?? error.name) : 'verification_failed');
    }

    const nowSeconds = now.getTime() / 1000;
    const skewSeconds = clockSkewMs / 1000;
    const exp = payload.exp as number;
    if (exp - nowSeconds > (maxLifetimeMs + clockSkewMs) / 1000) return fail('exp_too_far');
    if (payload.iat !== undefined && payload.iat > nowSeconds + skewSeconds) return fail('iat_in_future');
    if (payload.iat !== undefined && nowSeconds - payload.iat > (maxLifetimeMs + clockSkewMs) / 1000) return fail('iat_too_old');
    const jti = payload.jti;
    if (typeof jti !== 'string' || jti === '' || jti.length > JTI_MAX_LENGTH) return fail('jti_invalid');
    // Recorded until exp plus the skew: an assertion still acceptable to a lenient clock is still remembered.
    const claimed = await this.options.jtis.claim(client.clientId, jti, new Date((exp + skewSeconds) * 1000));
    return claimed ? { ok: true } : fail('jti_replayed');
  }

  private secretKey(client: Client): Uint8Array | null {
    if (client.clientSecretSealed === null || this.options.encryptor === null) return null;
    const secret = this.options.encryptor.decrypt(client.clientSecretSealed, clientSecretSealingContext(client.clientId));
    return new TextEncoder().encode(secret);
  }

  private async publicKey(client: Client, header: JWSHeaderParameters) {
    if (client.jwksUri !== null) return this.options.jwksCache.key(client.jwksUri, header);
    if (client.jwks === null) throw new Error('no_keys_registered');
    return this.options.jwksCache.inline(client.jwks, header);
  }
}

function fail(reason: string): AssertionVerdict {
  return { ok: false, reason };
}
