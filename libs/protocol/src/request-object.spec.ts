import { describe, expect, it } from '@jest/globals';
import { parseFormParams } from './form-params.js';
import {
  REQUEST_OBJECT_ALGS,
  type RequestObjectExpectations,
  checkRequestObjectAlg,
  checkRequestObjectClaims,
  checkSignedRequestRequired,
  requestObjectParams,
} from './request-object.js';
import { errorOf } from '../test/error-of.js';

const NOW = 1_800_000_000;
const expected: RequestObjectExpectations = {
  clientId: 'client-1',
  audiences: ['https://op.example', 'https://op.example/bc-authorize'],
  nowSeconds: NOW,
  clockSkewSeconds: 30,
};
const valid = { iss: 'client-1', aud: 'https://op.example', exp: NOW + 300, iat: NOW, nbf: NOW, jti: 'jti-1' };

function claimsError(payload: Record<string, unknown>) {
  return errorOf(() => checkRequestObjectClaims(payload, expected));
}

function without(name: keyof typeof valid): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...valid };
  delete copy[name];
  return copy;
}

describe('request object algorithm', () => {
  it('§7.1.1 accepts the asymmetric algorithms only', () => {
    expect(REQUEST_OBJECT_ALGS).toEqual(['ES256', 'RS256', 'PS256', 'EdDSA']);
    for (const alg of REQUEST_OBJECT_ALGS) expect(checkRequestObjectAlg(alg, null)).toBe(alg);
  });

  it('§7.1.1 refuses alg none', () => {
    const err = errorOf(() => checkRequestObjectAlg('none', null));
    expect(err.error).toBe('invalid_request');
    expect(err.description).toBe('the request object must be signed: alg none is not allowed');
  });

  it.each(['HS256', 'RS512', 'ES512', '', 42, undefined])('§7.1.1 refuses an algorithm outside the allow-list (%p)', (alg) => {
    expect(errorOf(() => checkRequestObjectAlg(alg, null)).description).toBe("the request object's alg must be one of ES256, RS256, PS256, EdDSA");
  });

  it('§4 backchannel_authentication_request_signing_alg: another supported algorithm is refused', () => {
    expect(checkRequestObjectAlg('PS256', 'PS256')).toBe('PS256');
    expect(errorOf(() => checkRequestObjectAlg('ES256', 'PS256')).description).toBe("the request object's alg must be PS256, as registered for this client");
  });

  it('§4 backchannel_authentication_request_signing_alg: an unsigned request from such a client is refused', () => {
    const err = errorOf(() => checkSignedRequestRequired(parseFormParams({ scope: 'openid', login_hint: 'alice' }), 'ES256'));
    expect(err.error).toBe('invalid_request');
    expect(err.description).toBe('this client must send a signed authentication request (the request parameter, alg ES256)');
    expect(() => checkSignedRequestRequired(parseFormParams({ request: 'a.b.c' }), 'ES256')).not.toThrow();
    expect(() => checkSignedRequestRequired(parseFormParams({ scope: 'openid' }), null)).not.toThrow();
  });
});

describe('request object claims', () => {
  it('§7.1.1 accepts a request object with every required claim', () => {
    expect(checkRequestObjectClaims(valid, expected)).toEqual({ jti: 'jti-1', exp: NOW + 300 });
  });

  it('§7.1.1 aud may be the backchannel authentication endpoint URL, or an array naming the issuer', () => {
    expect(() => checkRequestObjectClaims({ ...valid, aud: 'https://op.example/bc-authorize' }, expected)).not.toThrow();
    expect(() => checkRequestObjectClaims({ ...valid, aud: ['https://other.example', 'https://op.example'] }, expected)).not.toThrow();
  });

  it.each(['iss', 'aud', 'exp', 'iat', 'nbf', 'jti'] as const)('§7.1.1 a request object without %s is refused', (name) => {
    const err = claimsError(without(name));
    expect(err.error).toBe('invalid_request');
    expect(err.status).toBe(400);
    expect(err.description).toBe(`the request object's ${name} is missing`);
  });

  it('§7.1.1 iss must be the client_id', () => {
    expect(claimsError({ ...valid, iss: 'client-2' }).description).toBe("the request object's iss must be the client's client_id");
  });

  it('§7.1.1 aud must be the issuer or the endpoint', () => {
    for (const aud of ['https://evil.example', ['https://evil.example'], 7, []]) {
      expect(claimsError({ ...valid, aud }).description).toBe("the request object's aud must be the issuer or the backchannel authentication endpoint URL");
    }
  });

  it('§7.1.1 an expired request object is refused', () => {
    expect(claimsError({ ...valid, iat: NOW - 600, nbf: NOW - 600, exp: NOW - 31 }).description).toBe('the request object has expired (exp)');
  });

  it('FAPI-CIBA §5.2.2 exp more than 60 minutes after iat is refused', () => {
    expect(claimsError({ ...valid, exp: NOW + 3601 }).description).toBe("the request object's exp is more than 60 minutes after its iat");
    expect(() => checkRequestObjectClaims({ ...valid, exp: NOW + 3600 }, expected)).not.toThrow();
  });

  it('FAPI-CIBA §5.2.2 exp more than 60 minutes after nbf is refused', () => {
    expect(claimsError({ ...valid, nbf: NOW - 10, exp: NOW + 3595 }).description).toBe("the request object's exp is more than 60 minutes after its nbf");
  });

  it('§7.1.1 iat in the future is refused (beyond the clock skew)', () => {
    expect(claimsError({ ...valid, iat: NOW + 31 }).description).toBe("the request object's iat is in the future");
    expect(() => checkRequestObjectClaims({ ...valid, iat: NOW + 30 }, expected)).not.toThrow();
  });

  it('FAPI-CIBA §5.2.2 iat older than 60 minutes is refused', () => {
    expect(claimsError({ ...valid, iat: NOW - 3700, nbf: NOW - 100, exp: NOW - 100 + 3600 }).description).toBe("the request object's iat is more than 60 minutes old");
  });

  it('FAPI-CIBA §5.2.2 nbf in the future is refused', () => {
    expect(claimsError({ ...valid, nbf: NOW + 31 }).description).toBe("the request object's nbf is in the future");
  });

  it('FAPI-CIBA §5.2.2 nbf older than 60 minutes is refused', () => {
    expect(claimsError({ ...valid, iat: NOW - 100, nbf: NOW - 3700, exp: NOW + 60 }).description).toBe("the request object's nbf is more than 60 minutes old");
    expect(claimsError({ ...valid, iat: NOW - 3700, nbf: NOW - 3700, exp: NOW - 3700 + 3600 }).description).toBe("the request object's iat is more than 60 minutes old");
  });

  it('§7.1.1 time claims must be numbers', () => {
    expect(claimsError({ ...valid, exp: String(NOW + 60) }).description).toBe("the request object's exp must be a NumericDate");
  });

  it('§7.1.1 jti must be a bounded non-empty string', () => {
    expect(claimsError({ ...valid, jti: '' }).description).toMatch(/^the request object's jti must be a non-empty string/);
    expect(claimsError({ ...valid, jti: 'x'.repeat(256) }).description).toMatch(/^the request object's jti must be/);
    expect(claimsError({ ...valid, jti: 5 }).description).toMatch(/^the request object's jti must be/);
  });

  it('never echoes the values the client sent', () => {
    expect(claimsError({ ...valid, iss: 'secret-looking-value' }).description).not.toContain('secret-looking-value');
    expect(claimsError({ ...valid, aud: 'https://secret.example' }).description).not.toContain('secret.example');
  });
});

describe('request object parameters', () => {
  it('§7.1.1 the authentication request parameters are the claims, without the JWT claims or client authentication', () => {
    const params = requestObjectParams({
      ...valid,
      client_id: 'client-1',
      client_assertion: 'x.y.z',
      scope: 'openid email',
      login_hint: 'alice@example.com',
      binding_message: 'W4SCT',
      requested_expiry: 120,
      authorization_details: [{ type: 'payment_initiation' }],
    });
    expect(params.names().sort()).toEqual(['authorization_details', 'binding_message', 'login_hint', 'requested_expiry', 'scope']);
    expect(params.get('requested_expiry')).toBe('120');
    expect(params.get('authorization_details')).toBe('[{"type":"payment_initiation"}]');
  });

  it('§7.1.1 requested_expiry may be a string too', () => {
    expect(requestObjectParams({ requested_expiry: '120' }).get('requested_expiry')).toBe('120');
  });

  it('§7.1.1 a parameter claim of the wrong JSON type is refused', () => {
    expect(errorOf(() => requestObjectParams({ scope: ['openid'] })).description).toBe("the request object's scope claim must be a string");
    expect(errorOf(() => requestObjectParams({ requested_expiry: 1.5 })).description).toBe("the request object's requested_expiry claim must be a string");
    expect(errorOf(() => requestObjectParams({ login_hint: null })).description).toBe("the request object's login_hint claim must be a string");
  });

  it('§7.1.1 claims are bounded like form parameters', () => {
    const err = errorOf(() => requestObjectParams({ login_hint: 'a'.repeat(513) }));
    expect(err.error).toBe('invalid_request');
    expect(err.description).toBe('in the request object: parameter login_hint must be at most 512 characters');
    expect(errorOf(() => requestObjectParams({ scope: 'openid\u0000' })).description).toBe('in the request object: parameter scope contains a control character');
  });
});
