import { describe, expect, it } from '@jest/globals';
import { parseAuthenticationResponse, parseRegistrationResponse, signedChallenge } from './webauthn-responses.js';

const b64 = (text: string) => Buffer.from(text).toString('base64url');
const clientData = (challenge: unknown) => b64(JSON.stringify({ type: 'webauthn.get', challenge, origin: 'https://op.example' }));

const assertion = {
  id: 'Y3JlZA',
  rawId: 'Y3JlZA',
  type: 'public-key',
  authenticatorAttachment: 'platform',
  clientExtensionResults: { anything: true },
  response: { clientDataJSON: clientData('Y2g'), authenticatorData: 'YXV0aA', signature: 'c2ln', userHandle: 'dXNlcg' },
};

const registration = {
  id: 'Y3JlZA',
  rawId: 'Y3JlZA',
  type: 'public-key',
  clientExtensionResults: {},
  response: { clientDataJSON: clientData('Y2g'), attestationObject: 'YXR0', transports: ['internal', 'hybrid', 'carrier-pigeon'] },
};

describe('parseAuthenticationResponse', () => {
  it('keeps exactly the fields verification needs', () => {
    expect(parseAuthenticationResponse(assertion)).toEqual({
      ok: true,
      value: {
        id: 'Y3JlZA',
        rawId: 'Y3JlZA',
        type: 'public-key',
        authenticatorAttachment: 'platform',
        clientExtensionResults: {},
        response: { clientDataJSON: assertion.response.clientDataJSON, authenticatorData: 'YXV0aA', signature: 'c2ln', userHandle: 'dXNlcg' },
      },
    });
  });

  it('refuses anything else, naming the field and never echoing a value', () => {
    const cases: unknown[] = [
      null,
      'x',
      [],
      { ...assertion, rawId: 'b3RoZXI' },
      { ...assertion, id: 'not base64url!' },
      { ...assertion, type: 'password' },
      { ...assertion, response: null },
      { ...assertion, response: { ...assertion.response, signature: 42 } },
      { ...assertion, response: { ...assertion.response, authenticatorData: '' } },
      { ...assertion, response: { ...assertion.response, clientDataJSON: 'a+b' } },
      { ...assertion, id: 'A'.repeat(2000), rawId: 'A'.repeat(2000) },
    ];
    for (const input of cases) {
      const parsed = parseAuthenticationResponse(input);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.problem).not.toMatch(/Y3JlZA|c2ln|not base64url!|b3RoZXI/);
    }
  });
});

describe('parseRegistrationResponse', () => {
  it('keeps the attestation and only the transports WebAuthn defines', () => {
    const parsed = parseRegistrationResponse(registration);
    expect(parsed.ok && parsed.value.response).toEqual({ clientDataJSON: registration.response.clientDataJSON, attestationObject: 'YXR0', transports: ['internal', 'hybrid'] });
  });

  it('refuses a missing attestation object or malformed transports', () => {
    expect(parseRegistrationResponse({ ...registration, response: { clientDataJSON: registration.response.clientDataJSON } }).ok).toBe(false);
    expect(parseRegistrationResponse({ ...registration, response: { ...registration.response, transports: 'usb' } }).ok).toBe(false);
    expect(parseRegistrationResponse({ ...registration, response: { ...registration.response, transports: [1] } }).ok).toBe(false);
  });
});

describe('signedChallenge', () => {
  it('reads the challenge out of clientDataJSON', () => {
    expect(signedChallenge(clientData('Y2hhbGxlbmdl'))).toBe('Y2hhbGxlbmdl');
  });

  it('is null when clientDataJSON is not JSON or has no base64url challenge', () => {
    expect(signedChallenge(b64('not json'))).toBeNull();
    expect(signedChallenge(clientData(42))).toBeNull();
    expect(signedChallenge(clientData('a/b'))).toBeNull();
    expect(signedChallenge(b64('[]'))).toBeNull();
  });
});
