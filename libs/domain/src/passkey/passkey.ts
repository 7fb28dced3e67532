/**
 * A WebAuthn credential (passkey) the user registered for step-up: the provider keeps the public key
 * and the signature counter, never a secret. The credential id is sent to the user's browser (it
 * selects the key), so it is not secret either, but it identifies the user's authenticator: it is
 * never logged.
 */
export interface Passkey {
  readonly id: string;
  readonly subject: string;
  /** The WebAuthn credential id, base64url. */
  readonly credentialId: string;
  /** The COSE-encoded public key. */
  readonly publicKey: Uint8Array;
  /** The authenticator's signature counter at the last verified use; 0 for authenticators without one (synced passkeys). */
  readonly signCount: number;
  /** Hints for the browser (`internal`, `hybrid`, `usb`, …), as the authenticator reported them. */
  readonly transports: readonly string[];
  /** The authenticator said the key is backed up (synced to other devices). */
  readonly backedUp: boolean;
  readonly label: string | null;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
}

export type NewPasskey = Omit<Passkey, 'createdAt' | 'lastUsedAt'>;

/** What a WebAuthn challenge is for: creating a passkey (enrolment page) or asserting one (approval page). */
export type WebAuthnCeremony = 'registration' | 'authentication';

/**
 * A challenge handed to the browser for one ceremony. Only its hash is stored, with what it is
 * bound to (the hash of the enrolment link's token or of the approval link's decision token) and
 * the user it was issued for. Single use, short-lived.
 */
export interface WebAuthnChallengeRecord {
  readonly challengeHash: string;
  readonly ceremony: WebAuthnCeremony;
  readonly bindingHash: string;
  readonly subject: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}
