import type { NewPasskey, Passkey, WebAuthnCeremony, WebAuthnChallengeRecord } from '../passkey/passkey.js';

/** The user's passkeys (WebAuthn credentials) for step-up on the approval page. */
export interface PasskeyRepository {
  /**
   * Stores a passkey registered through an enrolment link, and uses up that link's passkey
   * allowance, in one transaction. `link_used` when the link is unknown, expired, someone else's or
   * already added a passkey; `duplicate` when the credential is already registered (to anyone).
   */
  registerWithEnrolmentLink(
    passkey: NewPasskey,
    enrolmentTokenHash: string,
    now: Date,
  ): Promise<{ readonly kind: 'registered'; readonly passkey: Passkey } | { readonly kind: 'link_used' } | { readonly kind: 'duplicate' }>;
  /** The user's passkeys, oldest first. */
  list(subject: string): Promise<Passkey[]>;
  /** The user's passkey with this credential id; null when unknown or someone else's. */
  find(subject: string, credentialId: string): Promise<Passkey | null>;
  /**
   * Records a verified use: stores `signCount` and the time, only if the stored counter is still
   * `expectedSignCount` (a concurrent use of the same passkey loses); true when recorded.
   */
  recordUse(id: string, expectedSignCount: number, signCount: number, now: Date): Promise<boolean>;
  /** Removes one of the user's passkeys; false when unknown or someone else's. */
  revoke(subject: string, id: string): Promise<boolean>;
}

/** Outstanding WebAuthn challenges; a challenge is deleted as it is used. */
export interface WebAuthnChallengeRepository {
  /**
   * Stores a challenge, dropping expired ones and keeping at most `maxPerBinding` outstanding per
   * binding (the oldest go first: a page opened many times cannot grow the table).
   */
  issue(record: WebAuthnChallengeRecord, maxPerBinding: number): Promise<void>;
  /**
   * Uses a challenge: the subject it was issued for, for exactly one caller, when it exists for this
   * ceremony and binding and has not expired; else null.
   */
  consume(challengeHash: string, ceremony: WebAuthnCeremony, bindingHash: string, now: Date): Promise<string | null>;
}
