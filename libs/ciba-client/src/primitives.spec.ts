import { describe, expect, it } from '@jest/globals';
import { backchannelParameters } from './primitives.js';

describe('backchannelParameters (CIBA §7.1)', () => {
  it('maps every option to its request parameter', () => {
    expect(
      backchannelParameters({
        loginHint: 'alice',
        scope: ['profile', 'payments'],
        bindingMessage: 'Pay 42 EUR',
        acrValues: ['urn:acr:high', 'urn:acr:low'],
        authorizationDetails: [{ type: 'payment_initiation', instructedAmount: { currency: 'EUR', amount: '42.00' } }],
        requestedExpiry: 120,
        clientNotificationToken: 'cnt',
        userCode: '1234',
      }),
    ).toEqual({
      scope: 'openid profile payments',
      login_hint: 'alice',
      binding_message: 'Pay 42 EUR',
      acr_values: 'urn:acr:high urn:acr:low',
      authorization_details: '[{"type":"payment_initiation","instructedAmount":{"currency":"EUR","amount":"42.00"}}]',
      requested_expiry: '120',
      client_notification_token: 'cnt',
      user_code: '1234',
    });
  });

  it('scope defaults to openid and always contains it once', () => {
    expect(backchannelParameters({ idTokenHint: 'eyJ' })).toEqual({ scope: 'openid', id_token_hint: 'eyJ' });
    expect(backchannelParameters({ loginHintToken: 't', scope: 'email openid  email' })['scope']).toBe('email openid');
  });

  it('extra parameters cannot override the ones the kit sets', () => {
    expect(backchannelParameters({ loginHint: 'alice', extraParameters: { login_hint: 'mallory', scope: 'admin', binding_message: 'other', client_id: 'x', resource: 'https://api' } })).toEqual({
      scope: 'openid',
      login_hint: 'alice',
      resource: 'https://api',
    });
  });

  it('refuses no hint, two hints or an empty hint', () => {
    expect(() => backchannelParameters({} as never)).toThrow(/exactly one/);
    expect(() => backchannelParameters({ loginHint: 'alice', idTokenHint: 'eyJ' } as never)).toThrow(/exactly one/);
    expect(() => backchannelParameters({ loginHint: '' })).toThrow(/exactly one/);
  });

  it('refuses a requested expiry that is not a positive whole number', () => {
    for (const requestedExpiry of [0, -1, 1.5, Number.NaN]) {
      expect(() => backchannelParameters({ loginHint: 'alice', requestedExpiry })).toThrow(/requestedExpiry/);
    }
  });
});
