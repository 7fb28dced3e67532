import { Inject, Injectable } from '@nestjs/common';
import { type AuthenticatedClient, type LoginHintForm, type UserHint, loginHintLookup } from '@ciba/domain';
import { LOGIN_HINT_TOKEN_SUBJECT_CLAIMS, type LoginHintTokenSubjectClaim, type ProviderConfig } from '@ciba/config';
import { OAuthError, type ValidatedBackchannelRequest } from '@ciba/protocol';
import { KeyStore, LoginHintTokenVerifier, verifyIdTokenHint } from '@ciba/tokens';
import { PROVIDER_CONFIG, SubjectMapper } from '@ciba/platform';
import { LOGIN_HINT_DIRECTORY } from './hint.providers.js';
import type { LoginHintDirectory } from './login-hint-directory.js';

/**
 * CIBA §7.1: who an authentication request is for, from exactly one of its hints. The user is
 * looked up when the request is stored (one round trip), so this returns a hint, not a user:
 * - login_hint: its form decided from its syntax (`loginHintLookup`) among CIBA_LOGIN_HINT_FORMS;
 *   or, with a user directory configured, the `sub` the directory answers;
 * - login_hint_token: a JWT from a trusted issuer, its subject claim looked up as the matching
 *   form (`sub` → sub, `email` → email, `phone_number` → phone, `preferred_username` → username);
 * - id_token_hint: an ID token this provider issued to the client.
 */
@Injectable()
export class UserHintResolver {
  constructor(
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
    private readonly keyStore: KeyStore,
    private readonly subjects: SubjectMapper,
    private readonly loginHintTokens: LoginHintTokenVerifier,
    @Inject(LOGIN_HINT_DIRECTORY) private readonly directory: LoginHintDirectory | null,
  ) {}

  async resolve(client: AuthenticatedClient, validated: ValidatedBackchannelRequest): Promise<UserHint> {
    const { hint } = validated;
    switch (hint.type) {
      case 'login_hint':
        return this.loginHint(client, hint.value);
      case 'id_token_hint': {
        const { sub } = await verifyIdTokenHint(hint.value, { keyStore: this.keyStore, issuer: this.config.issuer, clientId: client.clientId });
        // OpenID Connect Core §8.1: a pairwise client's hint names the user by its sector's sub, which
        // resolves within that sector only (another sector's sub, or a made-up one, names nobody).
        const local = await this.subjects.localSubject(client, sub);
        if (local === null) throw new OAuthError('unknown_user_id', 'the id_token_hint does not identify a known user');
        return { sub: local };
      }
      case 'login_hint_token':
        return this.loginHintToken(hint.value);
    }
  }

  private async loginHint(client: AuthenticatedClient, value: string): Promise<UserHint> {
    if (this.directory !== null) {
      const lookup = loginHintLookup(value);
      if (!lookup.ok && lookup.problem === 'too_long') throw tooLong();
      if (!lookup.ok && lookup.problem === 'empty') throw unknownUser('login_hint');
      const sub = await this.directory.lookup(value.trim(), client.clientId);
      if (sub !== null) return { sub };
      // A client sending user codes never learns whether a hint names someone (README "User codes"):
      // the hint goes on naming nobody (no form), and the code check answers invalid_user_code.
      if (client.backchannelUserCodeParameter) return { loginHint: value.trim(), forms: [] };
      throw unknownUser('login_hint');
    }
    const forms = this.config.hints.loginHintForms;
    const lookup = loginHintLookup(value, forms);
    if (lookup.ok) return { loginHint: lookup.value, forms };
    switch (lookup.problem) {
      case 'too_long':
        throw tooLong();
      case 'malformed_phone':
        throw new OAuthError('invalid_request', 'login_hint: a phone number is E.164 (+ and up to 15 digits) or a tel: URI with a global number (RFC 3966), without parameters');
      case 'form_not_accepted':
        throw new OAuthError('unknown_user_id', `login_hint: this provider does not identify users by ${formName(lookup.form)}`);
      case 'empty':
        throw unknownUser('login_hint');
    }
  }

  private async loginHintToken(token: string): Promise<UserHint> {
    if (!this.loginHintTokens.enabled) {
      throw new OAuthError('invalid_request', 'login_hint_token is not supported by this provider; use login_hint or id_token_hint');
    }
    const { claim, value } = await this.loginHintTokens.verify(token);
    const form = LOGIN_HINT_TOKEN_SUBJECT_CLAIMS[claim as LoginHintTokenSubjectClaim];
    if (form === 'sub') return { sub: value };
    // The claim is read as its own form only: an `email` claim is never matched as a sub or a username.
    const lookup = loginHintLookup(value, [form]);
    if (!lookup.ok) throw unknownUser('login_hint_token');
    return { loginHint: lookup.value, forms: [form] };
  }
}

function tooLong(): OAuthError {
  return new OAuthError('invalid_request', 'login_hint is too long');
}

function unknownUser(parameter: string): OAuthError {
  return new OAuthError('unknown_user_id', `the ${parameter} does not identify a known user`);
}

function formName(form: LoginHintForm | null): string {
  switch (form) {
    case 'sub':
    case null:
      return 'sub or username';
    case 'email':
      return 'email address';
    case 'phone':
      return 'phone number';
    case 'username':
      return 'username';
  }
}
