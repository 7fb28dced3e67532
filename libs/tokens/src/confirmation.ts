/**
 * RFC 7800 §3.1 `cnf` (confirmation) of a sender-constrained access token: the key its holder must
 * prove possession of when presenting it.
 * - `jkt`: RFC 9449 §6.1, the RFC 7638 SHA-256 thumbprint of the client's DPoP public key;
 * - `x5t#S256`: RFC 8705 §3.1, the SHA-256 thumbprint of the client's mutual-TLS certificate.
 */
export interface Confirmation {
  readonly jkt?: string;
  readonly 'x5t#S256'?: string;
}

/** RFC 6749 §7.1 / RFC 9449 §5: `DPoP` for a DPoP-bound access token; a certificate-bound (RFC 8705) one stays `Bearer`. */
export type AccessTokenType = 'Bearer' | 'DPoP';

export function accessTokenTypeOf(confirmation: Confirmation | undefined): AccessTokenType {
  return confirmation?.jkt !== undefined ? 'DPoP' : 'Bearer';
}

/** The confirmation to put in a token: undefined when it confirms nothing. */
export function nonEmptyConfirmation(confirmation: Confirmation | undefined): Confirmation | undefined {
  if (confirmation === undefined) return undefined;
  const entries = Object.entries(confirmation).filter(([, value]) => typeof value === 'string' && value !== '');
  return entries.length === 0 ? undefined : Object.fromEntries(entries);
}
