import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ProviderConfig, WebAuthnRelyingParty } from '@ciba/config';
import type {
  AuthRequest,
  Clock,
  Passkey,
  PasskeyRepository,
  StepUpAuthentication,
  UserRepository,
  WebAuthnCeremony,
  WebAuthnChallengeRepository,
} from '@ciba/domain';
import { PASSKEY_AMR, passkeyStepUpAcr } from '@ciba/protocol';
import { CLOCK, PASSKEY_REPOSITORY, PROVIDER_CONFIG, USER_REPOSITORY, WEBAUTHN_CHALLENGE_REPOSITORY } from '@ciba/platform';
import { randomToken, sha256Base64url } from '@ciba/tokens';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import {
  MAX_CHALLENGES_PER_LINK,
  SUPPORTED_ALGORITHMS,
  WebAuthnUserHandles,
  authenticationOptions,
  challengeExpiry,
  loadWebAuthn,
  registrationOptions,
} from './webauthn-options.js';
import { parseAuthenticationResponse, parseRegistrationResponse, signedChallenge } from './webauthn-responses.js';

/** Why a ceremony was refused: a short code for logs, never a challenge, credential id or assertion. */
export type CeremonyRejection = 'unavailable' | 'malformed' | 'challenge' | 'unknown_passkey' | 'verification' | 'user_handle' | 'counter';

export type RegistrationOutcome =
  | { readonly kind: 'registered'; readonly passkey: Passkey }
  | { readonly kind: 'rejected'; readonly reason: CeremonyRejection }
  | { readonly kind: 'link_used' }
  | { readonly kind: 'duplicate' };

export type StepUpOutcome = { readonly kind: 'verified'; readonly stepUp: StepUpAuthentication } | { readonly kind: 'rejected'; readonly reason: CeremonyRejection };

const rejected = (reason: CeremonyRejection) => ({ kind: 'rejected', reason }) as const;

/**
 * The two WebAuthn ceremonies of passkey step-up, with `@simplewebauthn/server` doing the
 * cryptography: registering a passkey through an enrolment link, and asserting one on an approval
 * link. Each challenge is random, stored only as its hash, bound to the link it was issued on and to
 * the user, short-lived and used up before the signature is checked (a failed attempt needs a fresh
 * page). The relying party is the notifier: RP ID its host, the only accepted origin its origin.
 */
@Injectable()
export class PasskeyCeremonies {
  private readonly logger = new Logger(PasskeyCeremonies.name);
  /** Null when the notifier's public URL cannot host WebAuthn: then nobody can add or use a passkey. */
  readonly relyingParty: WebAuthnRelyingParty | null;
  private readonly passkeyAcrValues: readonly string[];
  private readonly handles: WebAuthnUserHandles;

  constructor(
    @Inject(PASSKEY_REPOSITORY) private readonly passkeys: PasskeyRepository,
    @Inject(WEBAUTHN_CHALLENGE_REPOSITORY) private readonly challenges: WebAuthnChallengeRepository,
    @Inject(USER_REPOSITORY) private readonly users: UserRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PROVIDER_CONFIG) config: ProviderConfig,
  ) {
    this.relyingParty = config.stepUp.relyingParty;
    this.passkeyAcrValues = config.stepUp.passkeyAcrValues;
    this.handles = new WebAuthnUserHandles(config.keys.encryptionKey);
  }

  /** The passkey-level ACR the request asks for (its acr_values or its client's defaults); null when it needs no step-up. */
  stepUpAcr(request: Pick<AuthRequest, 'acrValues'>): string | null {
    return passkeyStepUpAcr(request.acrValues, this.passkeyAcrValues);
  }

  /** Options for adding a passkey through the enrolment link `enrolmentTokenHash`; null when passkeys are unavailable. */
  async registrationOptions(enrolmentTokenHash: string, subject: string): Promise<PublicKeyCredentialCreationOptionsJSON | null> {
    const rp = this.relyingParty;
    const user = await this.users.findBySub(subject);
    if (rp === null || user === null) return null;
    const challenge = await this.issueChallenge('registration', enrolmentTokenHash, subject, null);
    return registrationOptions(rp, user, this.handles.handleFor(subject), await this.passkeys.list(subject), challenge);
  }

  /** Verifies a new passkey and stores it, using up the enrolment link's passkey allowance. */
  async register(enrolmentTokenHash: string, subject: string, credential: unknown, label: string | null): Promise<RegistrationOutcome> {
    const rp = this.relyingParty;
    if (rp === null) return rejected('unavailable');
    const parsed = parseRegistrationResponse(credential);
    if (!parsed.ok) return rejected('malformed');
    const challenge = await this.useChallenge(parsed.value.response.clientDataJSON, 'registration', enrolmentTokenHash, subject);
    if (challenge === null) return rejected('challenge');
    const { verifyRegistrationResponse } = await loadWebAuthn();
    let verification: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verification = await verifyRegistrationResponse({
        response: parsed.value,
        expectedChallenge: challenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        requireUserPresence: true,
        requireUserVerification: true,
        supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
      });
    } catch {
      // The library's messages quote the challenge and origin: never logged, only the reason code.
      return rejected('verification');
    }
    if (!verification.verified || !verification.registrationInfo.userVerified) return rejected('verification');
    const info = verification.registrationInfo;
    const outcome = await this.passkeys.registerWithEnrolmentLink(
      {
        id: randomUUID(),
        subject,
        credentialId: info.credential.id,
        publicKey: info.credential.publicKey,
        signCount: info.credential.counter,
        transports: parsed.value.response.transports ?? [],
        backedUp: info.credentialBackedUp,
        label,
      },
      enrolmentTokenHash,
      this.clock.now(),
    );
    if (outcome.kind === 'registered') this.logger.log({ passkeyId: outcome.passkey.id, backedUp: outcome.passkey.backedUp }, 'passkey registered');
    return outcome;
  }

  /**
   * Options for the step-up on an approval link: a fresh challenge bound to its decision token, and
   * the user's passkeys as the only ones allowed. Null when passkeys are unavailable or the user has
   * none (the page then says so).
   */
  async authenticationOptions(decisionTokenHash: string, request: AuthRequest): Promise<PublicKeyCredentialRequestOptionsJSON | null> {
    const rp = this.relyingParty;
    if (rp === null) return null;
    const passkeys = await this.passkeys.list(request.subject);
    if (passkeys.length === 0) return null;
    const challenge = await this.issueChallenge('authentication', decisionTokenHash, request.subject, request.expiresAt);
    return authenticationOptions(rp, passkeys, challenge);
  }

  /**
   * Checks the assertion of a step-up: challenge (single use, this link, this user), origin, RP ID,
   * user presence and verification, signature against the user's registered key, and the signature
   * counter, which is then stored. On success, the acr and amr the approval satisfies.
   */
  async verifyStepUp(decisionTokenHash: string, request: AuthRequest, assertion: unknown): Promise<StepUpOutcome> {
    const rp = this.relyingParty;
    const acr = this.stepUpAcr(request);
    if (rp === null || acr === null) return rejected('unavailable');
    const parsed = parseAuthenticationResponse(assertion);
    if (!parsed.ok) return rejected('malformed');
    const response = parsed.value;
    const challenge = await this.useChallenge(response.response.clientDataJSON, 'authentication', decisionTokenHash, request.subject);
    if (challenge === null) return rejected('challenge');
    const passkey = await this.passkeys.find(request.subject, response.id);
    if (passkey === null) return rejected('unknown_passkey');
    const userHandle = response.response.userHandle;
    if (userHandle !== undefined && userHandle !== Buffer.from(this.handles.handleFor(request.subject)).toString('base64url')) return rejected('user_handle');
    const { verifyAuthenticationResponse } = await loadWebAuthn();
    let verification: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      verification = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        credential: { id: passkey.credentialId, publicKey: new Uint8Array(passkey.publicKey), counter: passkey.signCount, transports: [...passkey.transports] },
        requireUserVerification: true,
      });
    } catch {
      // Includes a signature counter that went backwards (a cloned authenticator): never logged in detail.
      return rejected('verification');
    }
    if (!verification.verified || !verification.authenticationInfo.userVerified) return rejected('verification');
    const recorded = await this.passkeys.recordUse(passkey.id, passkey.signCount, verification.authenticationInfo.newCounter, this.clock.now());
    if (!recorded) return rejected('counter');
    return { kind: 'verified', stepUp: { acr, amr: PASSKEY_AMR } };
  }

  private async issueChallenge(ceremony: WebAuthnCeremony, bindingHash: string, subject: string, linkExpiresAt: Date | null): Promise<string> {
    const challenge = randomToken(32);
    const now = this.clock.now();
    await this.challenges.issue(
      { challengeHash: sha256Base64url(challenge), ceremony, bindingHash, subject, createdAt: now, expiresAt: challengeExpiry(now, linkExpiresAt) },
      MAX_CHALLENGES_PER_LINK,
    );
    return challenge;
  }

  /** Uses up the challenge the browser signed, if it was issued for this ceremony, link and user; returns it. */
  private async useChallenge(clientDataJSON: string, ceremony: WebAuthnCeremony, bindingHash: string, subject: string): Promise<string | null> {
    const challenge = signedChallenge(clientDataJSON);
    if (challenge === null) return null;
    const issuedFor = await this.challenges.consume(sha256Base64url(challenge), ceremony, bindingHash, this.clock.now());
    return issuedFor === subject ? challenge : null;
  }
}
