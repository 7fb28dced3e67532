import { createHash } from 'node:crypto';
import { EmbeddedJWK, type JWSHeaderParameters, type JWTPayload, calculateJwkThumbprint, decodeProtectedHeader, jwtVerify } from 'jose';
import type { ClientAssertionJtis, Clock } from '@ciba/domain';
import { DPOP_JTI_MAX_LENGTH, DPOP_PROOF_MAX_LENGTH, DPOP_PROOF_TYP, DPOP_SIGNING_ALGS, type DpopError, isDpopSigningAlg, normalizedHtu } from '@ciba/protocol';
import type { DpopNonces } from './dpop-nonce.js';

export interface DpopProofVerifierOptions {
  /** Single use of each proof's jti across replicas (the client assertion store, in its own namespace). */
  readonly jtis: ClientAssertionJtis;
  readonly clock: Clock;
  /** RFC 9449 §4.3 (11) / §11.1: how far `iat` may lie from now, either way, in seconds. */
  readonly iatWindowSeconds: number;
  /** RFC 9449 §8 / §9: the server nonces a proof must carry; null when none is required. */
  readonly nonces: DpopNonces | null;
}

/** The HTTP request a proof is presented with. */
export interface DpopRequest {
  /** The request's method (`htm`, case-sensitive). */
  readonly method: string;
  /** The URI the request was sent to, as this provider publishes it (`htu`; query and fragment ignored). */
  readonly uri: string;
  /** At a protected resource: the access token presented with the proof (`ath`, RFC 9449 §4.3 (10)). */
  readonly accessToken?: string;
  /**
   * At a protected resource: the `cnf.jkt` of that access token; a proof by another key is refused
   * (RFC 9449 §7.1) before its jti is recorded, so a stolen token cannot fill the jti store.
   */
  readonly boundJkt?: string;
}

export type DpopVerdict =
  /** `jkt`: the RFC 7638 SHA-256 thumbprint of the proof's key, what a bound token's `cnf.jkt` holds (§6.1). */
  | { readonly ok: true; readonly jkt: string }
  /** `reason` is for a debug log and the error description; it never repeats the proof. */
  | { readonly ok: false; readonly error: DpopError; readonly reason: string };

/** Members of a private (or symmetric) JWK: RFC 9449 §4.3 (7) wants the public key alone. */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const ASYMMETRIC_KTY = new Set(['EC', 'RSA', 'OKP']);
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * RFC 9449 §4.3: checks a DPoP proof JWT, in the order of the section: one well-formed compact JWS
 * within a size bound; `typ` dpop+jwt; an asymmetric algorithm of the allow-list (never `none`, never
 * a MAC); a public `jwk` in the header, and the signature by it; `htm` and `htu` of this request;
 * the server nonce when one is required (§8, §9); `iat` within the window; `ath` of the presented
 * access token (§4.3 (10)); and last the `jti`, recorded once for the whole deployment per key
 * (§11.1), so a proof cannot be replayed on any replica while its `iat` is acceptable.
 */
export class DpopProofVerifier {
  constructor(private readonly options: DpopProofVerifierOptions) {
    if (!Number.isInteger(options.iatWindowSeconds) || options.iatWindowSeconds <= 0) {
      throw new RangeError(`the DPoP iat window must be a positive whole number of seconds, got ${options.iatWindowSeconds}`);
    }
  }

  /** Whether proofs must carry a server nonce, and the one to hand out now. */
  currentNonce(): string | null {
    return this.options.nonces?.current() ?? null;
  }

  async verify(proof: string, request: DpopRequest): Promise<DpopVerdict> {
    // §4.3 (2): a well-formed JWT, bounded before anything parses it.
    if (proof.length > DPOP_PROOF_MAX_LENGTH) return invalid('the DPoP proof is too large');
    if (!COMPACT_JWS.test(proof)) return invalid('the DPoP proof is not a compact JWS');
    let header: JWSHeaderParameters;
    try {
      header = decodeProtectedHeader(proof);
    } catch {
      return invalid('the DPoP proof header is malformed');
    }
    // §4.3 (4): explicitly typed.
    if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== DPOP_PROOF_TYP) return invalid('the DPoP proof typ must be dpop+jwt');
    // §4.3 (5): asymmetric, supported, not none.
    if (!isDpopSigningAlg(header.alg)) return invalid(`the DPoP proof alg must be one of ${DPOP_SIGNING_ALGS.join(', ')}`);
    // §4.3 (7): a public key, nothing private, nothing symmetric.
    const jwk = header.jwk as Record<string, unknown> | undefined;
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return invalid('the DPoP proof header must carry the public key as jwk');
    if (typeof jwk['kty'] !== 'string' || !ASYMMETRIC_KTY.has(jwk['kty'])) return invalid('the DPoP proof jwk must be an asymmetric public key');
    if (PRIVATE_JWK_MEMBERS.some((member) => Object.hasOwn(jwk, member))) return invalid('the DPoP proof jwk must not contain private key material');
    // RFC 7515 §4.1.11: an extension the verifier must understand; none is supported here.
    if (header.crit !== undefined) return invalid('the DPoP proof must not carry crit');

    // §4.3 (6): the signature, by the key in the header, with the algorithm it names (nothing else).
    const now = this.options.clock.now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(proof, EmbeddedJWK, {
        algorithms: [header.alg],
        typ: DPOP_PROOF_TYP,
        currentDate: now,
        requiredClaims: ['jti', 'htm', 'htu', 'iat'],
      }));
    } catch {
      return invalid('the DPoP proof signature or claims are invalid');
    }

    // §4.3 (3), (8), (9): the claims of this request.
    const { jti, htm, htu, iat } = payload;
    if (typeof jti !== 'string' || jti === '' || jti.length > DPOP_JTI_MAX_LENGTH) return invalid('the DPoP proof jti is invalid');
    if (typeof htm !== 'string' || htm !== request.method) return invalid('the DPoP proof htm does not match the request method');
    const expectedHtu = normalizedHtu(request.uri);
    if (typeof htu !== 'string' || expectedHtu === null || normalizedHtu(htu) !== expectedHtu) return invalid('the DPoP proof htu does not match the request URI');

    // §8 / §9 and §4.3 (10): the nonce this provider handed out, current or just previous.
    const nonces = this.options.nonces;
    if (nonces !== null && !nonces.isValid(payload['nonce'])) {
      return { ok: false, error: 'use_dpop_nonce', reason: payload['nonce'] === undefined ? 'a DPoP nonce is required' : 'the DPoP nonce is stale or unknown' };
    }

    // §4.3 (11): created recently (either way: clocks differ).
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const window = this.options.iatWindowSeconds;
    if (typeof iat !== 'number' || !Number.isFinite(iat) || Math.abs(nowSeconds - iat) > window) return invalid('the DPoP proof iat is outside the acceptable window');

    // §4.3 (10) / §7: bound to the access token it comes with.
    if (request.accessToken !== undefined) {
      const ath = createHash('sha256').update(request.accessToken, 'ascii').digest('base64url');
      if (payload['ath'] !== ath) return invalid('the DPoP proof ath does not match the access token');
    }

    const jkt = await calculateJwkThumbprint(jwk, 'sha256');
    if (request.boundJkt !== undefined && request.boundJkt !== jkt) return invalid('the DPoP proof key is not the key the access token is bound to');
    // §11.1: one use per key and jti, remembered while its iat is acceptable.
    const claimed = await this.options.jtis.claim(jkt, jti, new Date((iat + window + 1) * 1000));
    if (!claimed) return invalid('the DPoP proof was already used');
    return { ok: true, jkt };
  }
}

function invalid(reason: string): DpopVerdict {
  return { ok: false, error: 'invalid_dpop_proof', reason };
}
