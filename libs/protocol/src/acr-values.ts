/**
 * Authentication context classes (`acr`) and methods (`amr`) of a CIBA request.
 *
 * OpenID Connect EAP ACR Values 1.0 defines `phr` (phishing-resistant) and `phrh`
 * (phishing-resistant, hardware-protected key); a WebAuthn passkey ceremony bound to this
 * provider's origin is the phishing-resistant authentication those values ask for. Which requested
 * values this provider satisfies with a passkey is the operator's choice (`CIBA_PASSKEY_ACR_VALUES`).
 */
export const EAP_ACR_VALUES = ['phr', 'phrh'] as const;

/**
 * The `amr` (RFC 8176) of an approval confirmed with a passkey:
 * - `pop`: proof of possession of a key (registered by OpenID EAP ACR Values 1.0). Unlike `hwk`,
 *   it does not claim the key is hardware-bound: passkeys may be synced between devices, and
 *   without attestation this provider cannot tell.
 * - `user`: the authenticator tested the user's presence (WebAuthn UP flag, always required).
 * - `mfa`: user verification is required (UV flag): the authenticator unlocked the key with a PIN
 *   or biometric, a second factor besides possession. Which one is not reported, so no `pin`/`fpt`.
 */
export const PASSKEY_AMR: readonly string[] = ['pop', 'user', 'mfa'];

/**
 * The acr values a request carries: its own `acr_values` (CIBA §7.1), or, when it sends none, the
 * client's registered `default_acr_values` (OpenID Connect Dynamic Client Registration 1.0 §2).
 */
export function effectiveAcrValues(requested: readonly string[], clientDefaults: readonly string[]): string[] {
  return requested.length > 0 ? [...requested] : [...clientDefaults];
}

/**
 * The passkey-level ACR a request asks for: the first of its acr values (they come in order of
 * preference) that a passkey satisfies, or null when the request needs no passkey step-up. That
 * value becomes the ID token's `acr` once the user approved with a passkey.
 */
export function passkeyStepUpAcr(acrValues: readonly string[], passkeyAcrValues: readonly string[]): string | null {
  return acrValues.find((value) => passkeyAcrValues.includes(value)) ?? null;
}
