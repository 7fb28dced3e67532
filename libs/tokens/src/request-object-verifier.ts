import { type JWSHeaderParameters, compactVerify, decodeProtectedHeader } from 'jose';
import type { Client, ClientAssertionJtis, Clock } from '@ciba/domain';
import {
  type FormParams,
  REQUEST_OBJECT_MAX_LENGTH,
  checkRequestObjectAlg,
  checkRequestObjectClaims,
  checkSignedRequestRequired,
  invalidRequest,
  requestObjectParams,
} from '@ciba/protocol';
import type { ClientJwksCache } from './client-jwks-cache.js';

export interface RequestObjectVerifierOptions {
  /** Single use of each jti across replicas (the client assertion store, in its own namespace). */
  readonly jtis: ClientAssertionJtis;
  /** The same cache private_key_jwt uses: one fetch of a client's jwks_uri serves both. */
  readonly jwksCache: ClientJwksCache;
  readonly clock: Clock;
  /** What aud may name: the issuer and the backchannel authentication endpoint's URL. */
  readonly audiences: readonly string[];
  readonly clockSkewMs: number;
}

/** JWS Compact Serialization: three base64url parts (a JWE has five and is not accepted). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;
const SIGNATURE_FAILED = "the request object's signature does not verify with the client's registered keys";

/**
 * CIBA Core 1.0 §7.1.1 signed authentication requests, for an authenticated client: the object's
 * algorithm (allow-listed, and the client's registered backchannel_authentication_request_signing_alg),
 * its signature with the client's registered public keys (inline `jwks` or `jwks_uri`, through the
 * cache private_key_jwt uses), its claims (`checkRequestObjectClaims`), and last its jti, recorded
 * once for the whole deployment. The answer is the request's parameters, taken from the object only.
 */
export class RequestObjectVerifier {
  constructor(private readonly options: RequestObjectVerifierOptions) {}

  /** The authentication request's parameters: the form's own, or, when it carries `request`, the object's. */
  async authenticationRequestParams(client: Client, params: FormParams): Promise<FormParams> {
    const registeredAlg = client.backchannelAuthenticationRequestSigningAlg ?? null;
    checkSignedRequestRequired(params, registeredAlg);
    const requestObject = params.get('request');
    if (requestObject === undefined) return params;
    return this.verify(client, requestObject, registeredAlg);
  }

  private async verify(client: Client, requestObject: string, registeredAlg: string | null): Promise<FormParams> {
    if (requestObject.length > REQUEST_OBJECT_MAX_LENGTH) throw invalidRequest(`the request object must be at most ${REQUEST_OBJECT_MAX_LENGTH} characters`);
    if (!COMPACT_JWS.test(requestObject)) throw invalidRequest('the request object must be a signed JWT (JWS Compact Serialization)');
    let header: JWSHeaderParameters;
    try {
      header = decodeProtectedHeader(requestObject);
    } catch {
      throw invalidRequest("the request object's header is not valid JSON");
    }
    const alg = checkRequestObjectAlg(header.alg, registeredAlg);
    // RFC 7515 §4.1.11: no extension is understood here.
    if (header.crit !== undefined) throw invalidRequest("the request object's crit header is not supported");
    if (client.jwks === null && client.jwksUri === null) {
      throw invalidRequest('the client has no registered public keys (jwks or jwks_uri) to verify a request object with');
    }

    let payloadBytes: Uint8Array;
    try {
      ({ payload: payloadBytes } = await compactVerify(requestObject, (h) => this.publicKey(client, h), { algorithms: [alg] }));
    } catch {
      throw invalidRequest(SIGNATURE_FAILED);
    }
    const payload = parsePayload(payloadBytes);

    const now = this.options.clock.now().getTime() / 1000;
    const skew = Math.floor(this.options.clockSkewMs / 1000);
    const { jti, exp } = checkRequestObjectClaims(payload, {
      clientId: client.clientId,
      audiences: this.options.audiences,
      nowSeconds: now,
      clockSkewSeconds: skew,
    });
    const params = requestObjectParams(payload);
    // Last, so an object refused for any other reason does not use up its jti.
    const claimed = await this.options.jtis.claim(client.clientId, jti, new Date((exp + skew) * 1000));
    if (!claimed) throw invalidRequest("the request object's jti has already been used");
    return params;
  }

  private publicKey(client: Client, header: JWSHeaderParameters) {
    return client.jwksUri !== null ? this.options.jwksCache.key(client.jwksUri, header) : this.options.jwksCache.inline(client.jwks as NonNullable<Client['jwks']>, header);
  }
}

function parsePayload(bytes: Uint8Array): Record<string, unknown> {
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw invalidRequest("the request object's payload is not a JSON object");
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw invalidRequest("the request object's payload is not a JSON object");
  return payload as Record<string, unknown>;
}
