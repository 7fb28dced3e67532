import { type JWTVerifyGetKey, SignJWT, createLocalJWKSet, jwtVerify } from 'jose';
import type { KeyStore } from '@ciba/tokens';

/** `typ` of a checkpoint JWS: never mistaken for (or accepted as) a token of this provider. */
export const AUDIT_CHECKPOINT_TYP = 'audit-checkpoint+jwt';

/** The algorithms a checkpoint may be signed with: the provider's signing algorithms, never `none` or HMAC. */
const CHECKPOINT_ALGS = ['ES256', 'RS256', 'PS256', 'EdDSA'];

/** JWK members that carry private key material (RFC 7518 §6); never used to verify. */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'] as const;

/** What a checkpoint proves: the audit hash chain up to `seq` had `hash` at `signedAt`. */
export interface CheckpointClaims {
  readonly seq: number;
  readonly hash: string;
  readonly signedAt: Date;
}

/** Signs a checkpoint with the provider's current signing key (default algorithm) as a compact JWS. */
export async function signCheckpoint(keyStore: KeyStore, issuer: string, claims: CheckpointClaims): Promise<string> {
  const { kid, alg, key } = keyStore.signingKey();
  return new SignJWT({ seq: claims.seq, hash: claims.hash })
    .setProtectedHeader({ alg, kid, typ: AUDIT_CHECKPOINT_TYP })
    .setIssuer(issuer)
    .setIssuedAt(Math.floor(claims.signedAt.getTime() / 1000))
    .sign(key);
}

/** A key resolver over stored public JWKs (private members dropped). */
export function checkpointKeys(jwks: readonly Record<string, unknown>[]): JWTVerifyGetKey {
  const keys = jwks.map((jwk) => {
    const publicJwk: Record<string, unknown> = { ...jwk };
    for (const member of PRIVATE_JWK_MEMBERS) delete publicJwk[member];
    // A private JWK's `key_ops: ["sign"]` would forbid verifying with its public half.
    delete publicJwk['key_ops'];
    delete publicJwk['ext'];
    return publicJwk;
  });
  return createLocalJWKSet({ keys });
}

/**
 * The claims of a checkpoint JWS whose signature verifies with one of `keys`, or null: wrong key,
 * unknown kid, wrong `typ`, `none` or another algorithm, or claims of the wrong shape.
 */
export async function verifyCheckpoint(jws: string, keys: JWTVerifyGetKey): Promise<{ seq: number; hash: string; signedAt: Date | null } | null> {
  try {
    const { payload } = await jwtVerify(jws, keys, { typ: AUDIT_CHECKPOINT_TYP, algorithms: CHECKPOINT_ALGS });
    const { seq, hash, iat } = payload;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0 || typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) return null;
    return { seq, hash, signedAt: typeof iat === 'number' ? new Date(iat * 1000) : null };
  } catch {
    return null;
  }
}
