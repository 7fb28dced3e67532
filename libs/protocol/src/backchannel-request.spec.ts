import { describe, expect, it } from '@jest/globals';
import {
  BACKCHANNEL_REQUEST_CHECKS,
  checkClientNotificationToken,
  checkHint,
  checkRequestedExpiry,
  validateBackchannelRequest,
  type BackchannelClientView,
  type BackchannelPolicy,
  type BackchannelRequestContext,
} from './backchannel-request.js';
import { defaultBindingMessageRule } from './binding-message.js';
import { CIBA_GRANT_TYPE } from './constants.js';
import { parseFormParams } from './form-params.js';
import { errorOf } from '../test/error-of.js';

const pollClient: BackchannelClientView = {
  clientId: 'client-1',
  grantTypes: [CIBA_GRANT_TYPE, 'refresh_token'],
  scope: ['openid', 'email', 'profile'],
  backchannelTokenDeliveryMode: 'poll',
  backchannelUserCodeParameter: false,
  authorizationDetailsTypes: ['payment_initiation', 'account_information'],
  defaultAcrValues: [],
};
const pingClient: BackchannelClientView = { ...pollClient, backchannelTokenDeliveryMode: 'ping' };
const pushClient: BackchannelClientView = { ...pollClient, backchannelTokenDeliveryMode: 'push' };

const policy: BackchannelPolicy = {
  defaultExpiresIn: 300,
  minExpiresIn: 30,
  maxExpiresIn: 600,
  bindingMessage: defaultBindingMessageRule(),
  userCodeSupported: false,
};

const minimal = { scope: 'openid', login_hint: 'alice@example.com' };

function validate(
  body: Record<string, string>,
  client: BackchannelClientView = pollClient,
  overrides: Partial<BackchannelPolicy> = {},
) {
  return validateBackchannelRequest(parseFormParams(body), client, { ...policy, ...overrides });
}

function ctx(body: Record<string, string>, client = pollClient, p = policy): BackchannelRequestContext {
  return { params: parseFormParams(body), client, policy: p };
}

describe('validateBackchannelRequest', () => {
  it('runs its checks as a visible ordered pipeline', () => {
    expect(BACKCHANNEL_REQUEST_CHECKS.map((check) => check.name)).toEqual([
      'checkClientMayUseCiba',
      'rejectRequestObject',
      'checkScope',
      'checkAuthorizationDetails',
      'checkHint',
      'checkRequestedExpiry',
      'checkAcrValues',
      'checkBindingMessage',
      'checkUserCode',
      'checkClientNotificationToken',
    ]);
  });

  it('§7.1 accepts a minimal poll request and applies the defaults', () => {
    expect(validate(minimal)).toEqual({
      scope: ['openid'],
      authorizationDetails: null,
      hint: { type: 'login_hint', value: 'alice@example.com' },
      acrValues: [],
      bindingMessage: null,
      expiresIn: 300,
      clientNotificationToken: null,
      userCode: null,
    });
  });

  it('§7.1 accepts a full ping request', () => {
    const result = validate(
      {
        scope: 'openid email openid',
        id_token_hint: 'eyJhbGciOiJFUzI1NiJ9.e30.sig',
        acr_values: 'urn:acr:mfa urn:acr:pwd',
        binding_message: 'W4K-9',
        requested_expiry: '120',
        client_notification_token: 'abc.DEF-_~+/123==',
      },
      pingClient,
    );
    expect(result).toEqual({
      scope: ['openid', 'email'],
      authorizationDetails: null,
      hint: { type: 'id_token_hint', value: 'eyJhbGciOiJFUzI1NiJ9.e30.sig' },
      acrValues: ['urn:acr:mfa', 'urn:acr:pwd'],
      bindingMessage: 'W4K-9',
      expiresIn: 120,
      clientNotificationToken: 'abc.DEF-_~+/123==',
      userCode: null,
    });
  });

  it('§7.1 acr_values: the request\'s own, else the client\'s default_acr_values (OIDC Registration §2)', () => {
    const withDefaults: BackchannelClientView = { ...pollClient, defaultAcrValues: ['phr'] };
    expect(validate(minimal, withDefaults).acrValues).toEqual(['phr']);
    expect(validate({ ...minimal, acr_values: '' }, withDefaults).acrValues).toEqual(['phr']);
    expect(validate({ ...minimal, acr_values: 'urn:acr:pwd' }, withDefaults).acrValues).toEqual(['urn:acr:pwd']);
    expect(validate({ ...minimal, acr_values: 'phrh phr phrh' }).acrValues).toEqual(['phrh', 'phr']);
  });

  it('§7.1 reports the first failing check in pipeline order', () => {
    // Scope and hint are both wrong: the scope check comes first.
    expect(errorOf(() => validate({ scope: 'email' })).description).toBe('scope must include openid');
    // Unauthorized client wins over everything else.
    expect(errorOf(() => validate({}, { ...pollClient, grantTypes: ['refresh_token'] })).error).toBe('unauthorized_client');
  });

  describe('client registration', () => {
    it('§7.1 rejects a client not registered for the CIBA grant with unauthorized_client', () => {
      const err = errorOf(() => validate(minimal, { ...pollClient, grantTypes: ['refresh_token'] }));
      expect(err.error).toBe('unauthorized_client');
      expect(err.status).toBe(400);
    });
  });

  describe('request objects', () => {
    it('§7.1.1 refuses a request object nested inside the (already unpacked) request object', () => {
      const err = errorOf(() => validate({ ...minimal, request: 'eyJ.eyJ.sig' }));
      expect(err.error).toBe('invalid_request');
      expect(err.description).toBe('a request object cannot contain another request object');
    });

    it('§7.1.1 rejects request_uri', () => {
      expect(errorOf(() => validate({ ...minimal, request_uri: 'urn:x' })).error).toBe('invalid_request');
    });
  });

  describe('scope', () => {
    it('§7.1 requires scope', () => {
      expect(errorOf(() => validate({ login_hint: 'alice' })).description).toBe('scope is required');
    });

    it('§7.1 treats an empty scope as missing (RFC 6749 §3.1)', () => {
      expect(errorOf(() => validate({ scope: '', login_hint: 'alice' })).description).toBe('scope is required');
    });

    it('§7.1 requires the openid scope', () => {
      expect(errorOf(() => validate({ scope: 'email profile', login_hint: 'alice' })).error).toBe('invalid_request');
    });

    it('§7.1 rejects scope outside the client registration with invalid_scope', () => {
      const err = errorOf(() => validate({ scope: 'openid admin', login_hint: 'alice' }));
      expect(err.error).toBe('invalid_scope');
      expect(err.description).toContain('admin');
    });

    it('§7.1 accepts any scope when the client registered none', () => {
      expect(validate({ scope: 'openid admin', login_hint: 'alice' }, { ...pollClient, scope: [] }).scope).toEqual([
        'openid',
        'admin',
      ]);
    });

    it('§7.1 rejects malformed scope syntax (RFC 6749 §3.3)', () => {
      expect(errorOf(() => validate({ scope: 'openid\temail', login_hint: 'alice' })).error).toBe('invalid_request');
    });
  });

  describe('hints', () => {
    it('§7.1 requires one hint', () => {
      const err = errorOf(() => validate({ scope: 'openid' }));
      expect(err.error).toBe('invalid_request');
      expect(err.description).toBe('one of login_hint, login_hint_token or id_token_hint is required');
    });

    it.each([
      [{ login_hint: 'alice', id_token_hint: 'eyJ' }],
      [{ login_hint: 'alice', login_hint_token: 'eyJ' }],
      [{ id_token_hint: 'eyJ', login_hint_token: 'eyK' }],
      [{ login_hint: 'alice', id_token_hint: 'eyJ', login_hint_token: 'eyK' }],
    ])('§7.1 rejects two hints %p', (hints) => {
      const err = errorOf(() => checkHint(ctx({ scope: 'openid', ...hints })));
      expect(err.error).toBe('invalid_request');
      expect(err.description).not.toContain('alice');
    });

    it.each(['login_hint', 'login_hint_token', 'id_token_hint'] as const)('§7.1 returns a %s unresolved', (type) => {
      expect(checkHint(ctx({ [type]: 'value-1' }))).toEqual({ hint: { type, value: 'value-1' } });
    });

    it('§7.1 ignores an empty hint (RFC 6749 §3.1)', () => {
      expect(checkHint(ctx({ login_hint: 'alice', id_token_hint: '' }))).toEqual({ hint: { type: 'login_hint', value: 'alice' } });
    });
  });

  describe('authorization_details', () => {
    const payment = { type: 'payment_initiation', actions: ['initiate'], instructedAmount: { currency: 'EUR', amount: '12.00' } };

    it('RFC 9396 §2 stores valid details on the validated request', () => {
      expect(validate({ ...minimal, authorization_details: JSON.stringify([payment]) }).authorizationDetails).toEqual([payment]);
    });

    it('RFC 9396 §5 answers a bad parameter with invalid_authorization_details, HTTP 400', () => {
      const err = errorOf(() => validate({ ...minimal, authorization_details: '[{"type":"tax_filing"}]' }));
      expect({ error: err.error, status: err.status }).toEqual({ error: 'invalid_authorization_details', status: 400 });
    });

    it('RFC 9396 §10 refuses authorization_details from a client with no registered type', () => {
      const err = errorOf(() => validate({ ...minimal, authorization_details: JSON.stringify([payment]) }, { ...pollClient, authorizationDetailsTypes: [] }));
      expect(err.error).toBe('invalid_authorization_details');
      expect(err.description).toBe('this client is not registered for any authorization_details type');
    });

    it('RFC 6749 §3.1 treats an empty authorization_details as absent', () => {
      expect(validate({ ...minimal, authorization_details: '' }).authorizationDetails).toBeNull();
    });

    it('§7.1 runs after the scope check and before the hint check', () => {
      expect(errorOf(() => validate({ scope: 'email', login_hint: 'alice', authorization_details: '[' })).description).toBe('scope must include openid');
      expect(errorOf(() => validate({ scope: 'openid', authorization_details: '[' })).error).toBe('invalid_authorization_details');
    });
  });

  describe('requested_expiry', () => {
    it('§7.1 uses the default when absent', () => {
      expect(checkRequestedExpiry(ctx({}))).toEqual({ expiresIn: 300 });
    });

    it.each([
      ['30', 30],
      ['600', 600],
      ['0120', 120],
    ])('§7.1 accepts %p', (raw, expiresIn) => {
      expect(checkRequestedExpiry(ctx({ requested_expiry: raw }))).toEqual({ expiresIn });
    });

    it.each(['0', '-5', '1.5', '1e3', ' 60', '60 ', 'abc', '0x10', '+60', '99999999999999999999'])(
      '§7.1 rejects requested_expiry %p',
      (raw) => {
        expect(errorOf(() => checkRequestedExpiry(ctx({ requested_expiry: raw }))).error).toBe('invalid_request');
      },
    );

    it('§7.1 rejects requested_expiry above the maximum', () => {
      expect(errorOf(() => checkRequestedExpiry(ctx({ requested_expiry: '601' }))).description).toBe(
        'requested_expiry must be at most 600 seconds',
      );
    });

    it('§7.1 rejects requested_expiry below the minimum', () => {
      expect(errorOf(() => checkRequestedExpiry(ctx({ requested_expiry: '29' }))).description).toBe(
        'requested_expiry must be at least 30 seconds',
      );
    });
  });

  describe('binding_message', () => {
    it('§7.1 passes a displayable binding_message through', () => {
      expect(validate({ ...minimal, binding_message: 'Код 42 ✅' }).bindingMessage).toBe('Код 42 ✅');
    });

    it('§13 rejects an undisplayable binding_message with invalid_binding_message', () => {
      const err = errorOf(() => validate({ ...minimal, binding_message: 'a\nb' }));
      expect(err.error).toBe('invalid_binding_message');
    });

    it('§13 rejects a binding_message longer than the rule allows', () => {
      expect(errorOf(() => validate({ ...minimal, binding_message: 'x'.repeat(65) })).error).toBe('invalid_binding_message');
    });

    it('FAPI-CIBA §5.2.2 rejects a request without binding_message from a fapi-ciba client', () => {
      const fapiClient: BackchannelClientView = { ...pollClient, clientProfile: 'fapi-ciba' };
      const err = errorOf(() => validate(minimal, fapiClient));
      expect(err.error).toBe('invalid_request');
      expect(err.description).toBe('binding_message is required for this client (FAPI-CIBA profile)');
      expect(validate({ ...minimal, binding_message: 'W4K-9' }, fapiClient).bindingMessage).toBe('W4K-9');
      expect(validate(minimal, { ...pollClient, clientProfile: null }).bindingMessage).toBeNull();
    });
  });

  describe('user_code', () => {
    it('§7.1 rejects user_code when the OP does not support it', () => {
      const err = errorOf(() => validate({ ...minimal, user_code: '1234' }));
      expect(err.error).toBe('invalid_request');
      expect(err.description).toBe('user_code is not supported');
    });

    it('§13 answers missing_user_code when the client registered backchannel_user_code_parameter', () => {
      const client = { ...pollClient, backchannelUserCodeParameter: true };
      const err = errorOf(() => validate(minimal, client, { userCodeSupported: true }));
      expect(err.error).toBe('missing_user_code');
      expect(err.status).toBe(400);
    });

    it('§7.1 returns the user_code unverified when supported', () => {
      const client = { ...pollClient, backchannelUserCodeParameter: true };
      expect(validate({ ...minimal, user_code: '1234' }, client, { userCodeSupported: true }).userCode).toBe('1234');
    });

    it('§7.1 does not require user_code from clients that did not register for it', () => {
      expect(validate(minimal, pollClient, { userCodeSupported: true }).userCode).toBeNull();
    });
  });

  describe('client_notification_token', () => {
    it.each([pingClient, pushClient])('§7.1 requires it from $backchannelTokenDeliveryMode clients', (client) => {
      const err = errorOf(() => validate(minimal, client));
      expect(err.error).toBe('invalid_request');
      expect(err.description).toBe('client_notification_token is required for ping and push clients');
    });

    it('§7.1 ignores it for poll clients', () => {
      expect(validate({ ...minimal, client_notification_token: 'abc' }).clientNotificationToken).toBeNull();
    });

    it('§7.1 accepts exactly 1024 characters and rejects 1025', () => {
      expect(checkClientNotificationToken(ctx({ client_notification_token: 'a'.repeat(1024) }, pushClient))).toEqual({
        clientNotificationToken: 'a'.repeat(1024),
      });
      expect(errorOf(() => checkClientNotificationToken(ctx({ client_notification_token: 'a'.repeat(1025) }, pushClient))).error).toBe(
        'invalid_request',
      );
    });

    it.each(['has space', 'a=b', 'tab\there', 'quote"', 'ü', '=', 'a,b'])('§7.1 rejects non-b64token %p (RFC 6750 §2.1)', (token) => {
      const err = errorOf(() => checkClientNotificationToken(ctx({ client_notification_token: token }, pingClient)));
      expect(err.error).toBe('invalid_request');
      expect(err.description).not.toContain(token);
    });
  });
});
