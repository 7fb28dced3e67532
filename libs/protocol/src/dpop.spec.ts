import { describe, expect, it } from '@jest/globals';
import { DPOP_SIGNING_ALGS, dpopProofError, isDpopSigningAlg, normalizedHtu, resourceChallenge, singleDpopHeader, useDpopNonceError } from './dpop.js';
import type { OAuthError } from './errors.js';

describe('DPoP protocol rules (RFC 9449)', () => {
  it('RFC 9449 §4.3 (5) allows asymmetric algorithms only: never none, never a MAC', () => {
    expect([...DPOP_SIGNING_ALGS]).toEqual(['ES256', 'PS256', 'EdDSA', 'RS256']);
    for (const alg of ['none', 'HS256', 'HS512', 'ES384', '', undefined, 42]) expect(isDpopSigningAlg(alg)).toBe(false);
  });

  it('RFC 9449 §4.3 (9) htu: without query and fragment, normalized (scheme and host case, default port, dot segments)', () => {
    expect(normalizedHtu('https://op.example.com/token?a=1#x')).toBe('https://op.example.com/token');
    expect(normalizedHtu('HTTPS://OP.Example.COM:443/a/../token')).toBe('https://op.example.com/token');
    expect(normalizedHtu('http://127.0.0.1:3000/token')).toBe('http://127.0.0.1:3000/token');
    for (const uri of ['/token', 'token', 'ftp://op.example.com/token', 'https://u:p@op.example.com/token', 'not a uri']) expect(normalizedHtu(uri)).toBeNull();
  });

  it('RFC 9449 §4.1 / §4.3 (1) one DPoP header: none is null, several or an empty one is invalid_dpop_proof', () => {
    expect(singleDpopHeader(undefined)).toBeNull();
    expect(singleDpopHeader([])).toBeNull();
    expect(singleDpopHeader(['a.b.c'])).toBe('a.b.c');
    for (const values of [['a.b.c', 'd.e.f'], [''], ['  ']]) {
      expect(() => singleDpopHeader(values)).toThrow(expect.objectContaining({ error: 'invalid_dpop_proof', status: 400 }));
    }
  });

  it('RFC 9449 §5 / §8 token endpoint errors: invalid_dpop_proof 400; use_dpop_nonce 400 with the DPoP-Nonce header', () => {
    expect(dpopProofError('bad').toBody()).toEqual({ error: 'invalid_dpop_proof', error_description: 'bad' });
    const nonce = useDpopNonceError('n0nce');
    expect({ status: nonce.status, error: nonce.error, headers: nonce.headers }).toEqual({ status: 400, error: 'use_dpop_nonce', headers: { 'DPoP-Nonce': 'n0nce' } });
  });

  it('RFC 9449 §7.1 / §9 resource errors: 401 with the error in the DPoP challenge (algs), the nonce in DPoP-Nonce', () => {
    const err: OAuthError = resourceChallenge('use_dpop_nonce', 'nonce "needed"', { nonce: 'n0nce' });
    expect({ status: err.status, headers: err.headers }).toEqual({
      status: 401,
      headers: {
        'WWW-Authenticate': 'DPoP error="use_dpop_nonce", error_description="nonce \'needed\'", algs="ES256 PS256 EdDSA RS256", Bearer realm="ciba"',
        'DPoP-Nonce': 'n0nce',
      },
    });
    expect(resourceChallenge('invalid_dpop_proof', 'bad').status).toBe(401);
  });

  it('RFC 6750 §3 a Bearer request’s error stays in the Bearer challenge, the DPoP one still lists algs', () => {
    expect(resourceChallenge('insufficient_scope', 'no openid', { scope: 'openid' }).headers['WWW-Authenticate']).toBe(
      'Bearer realm="ciba", error="insufficient_scope", error_description="no openid", scope="openid", DPoP algs="ES256 PS256 EdDSA RS256"',
    );
    expect(resourceChallenge('insufficient_scope', 'no openid').status).toBe(403);
    expect(resourceChallenge('invalid_request', 'bad').status).toBe(400);
  });
});
