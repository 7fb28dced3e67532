import { createHmac } from 'node:crypto';
import { derivedKey } from '@ciba/tokens';
import type { WebAuthnRelyingParty } from '@ciba/config';
import type { Passkey } from '@ciba/domain';
import type * as SimpleWebAuthn from '@simplewebauthn/server';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';

let webAuthnLibrary: Promise<typeof SimpleWebAuthn> | undefined;
/**
 * `@simplewebauthn/server`, imported on the first ceremony: a notifier whose users never step up
 * with a passkey does not carry it in memory.
 */
export function loadWebAuthn(): Promise<typeof SimpleWebAuthn> {
  webAuthnLibrary ??= import('@simplewebauthn/server');
  return webAuthnLibrary;
}

/** How long the browser may take over one ceremony (WebAuthn `timeout`, a hint to the browser). */
export const CEREMONY_TIMEOUT_MS = 120_000;
/** How long an issued challenge stays usable: reading the page, then the ceremony. Never past the link. */
export const CHALLENGE_TTL_MS = 10 * 60_000;
/** Outstanding challenges per link: a page opened again and again cannot grow the table. */
export const MAX_CHALLENGES_PER_LINK = 5;

/** COSE algorithms accepted for new passkeys: ES256 (every platform), EdDSA, RS256 (Windows Hello). */
export const SUPPORTED_ALGORITHMS = [-7, -8, -257];

/** Who the passkey is for, as the authenticator shows it in its account picker. */
export interface PasskeyAccount {
  readonly sub: string;
  readonly name: string | null;
  readonly email: string | null;
}

/**
 * The WebAuthn user handle: stable per user (an authenticator keeps one passkey per RP and user
 * handle, replacing an older one), and no personal data (WebAuthn §14.6.1), so a keyed hash of the
 * subject rather than the subject itself.
 */
export class WebAuthnUserHandles {
  private readonly key: Buffer;

  constructor(keyEncryptionKey: string) {
    this.key = derivedKey(keyEncryptionKey, 'ciba webauthn user handles v1');
  }

  handleFor(sub: string): Uint8Array<ArrayBuffer> {
    return new Uint8Array(createHmac('sha256', this.key).update(sub, 'utf8').digest());
  }
}

/**
 * `navigator.credentials.create()` options for a new passkey: a discoverable credential where the
 * authenticator can (residentKey preferred), unlocked by the user (userVerification required), no
 * attestation (the provider trusts the ceremony's origin binding, not the authenticator's maker),
 * and the user's existing passkeys excluded so one authenticator is not registered twice.
 */
export async function registrationOptions(
  rp: WebAuthnRelyingParty,
  account: PasskeyAccount,
  userHandle: Uint8Array<ArrayBuffer>,
  existing: readonly Pick<Passkey, 'credentialId' | 'transports'>[],
  /** base64url, as stored (hashed) and as the browser will sign it. */
  challenge: string,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const userName = account.email ?? account.sub;
  const { generateRegistrationOptions } = await loadWebAuthn();
  return generateRegistrationOptions({
    rpName: rp.id,
    rpID: rp.id,
    userName,
    userDisplayName: account.name ?? userName,
    userID: userHandle,
    challenge: challengeBytes(challenge),
    timeout: CEREMONY_TIMEOUT_MS,
    attestationType: 'none',
    excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: [...p.transports] })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
    supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
  });
}

/**
 * `navigator.credentials.get()` options for a step-up: only the user's own passkeys may answer
 * (allowCredentials), and the authenticator must verify the user (PIN or biometric).
 */
export async function authenticationOptions(
  rp: WebAuthnRelyingParty,
  passkeys: readonly Pick<Passkey, 'credentialId' | 'transports'>[],
  challenge: string,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const { generateAuthenticationOptions } = await loadWebAuthn();
  return generateAuthenticationOptions({
    rpID: rp.id,
    allowCredentials: passkeys.map((p) => ({ id: p.credentialId, transports: [...p.transports] })),
    userVerification: 'required',
    challenge: challengeBytes(challenge),
    timeout: CEREMONY_TIMEOUT_MS,
  });
}

/**
 * The challenge as the options carry it. `@simplewebauthn/server` would UTF-8 encode a string
 * challenge before base64url-encoding it; handing it the bytes keeps the options' `challenge` (and
 * so the one the browser signs) equal to the stored one.
 */
function challengeBytes(challenge: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(challenge, 'base64url'));
}

/** When a challenge issued at `now` for a link expiring at `linkExpiresAt` stops being usable. */
export function challengeExpiry(now: Date, linkExpiresAt: Date | null): Date {
  const ttl = new Date(now.getTime() + CHALLENGE_TTL_MS);
  return linkExpiresAt !== null && linkExpiresAt.getTime() < ttl.getTime() ? linkExpiresAt : ttl;
}
