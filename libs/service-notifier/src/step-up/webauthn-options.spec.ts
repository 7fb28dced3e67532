import { describe, expect, it } from '@jest/globals';
import {
  CEREMONY_TIMEOUT_MS,
  CHALLENGE_TTL_MS,
  WebAuthnUserHandles,
  authenticationOptions,
  challengeExpiry,
  registrationOptions,
} from './webauthn-options.js';

const rp = { id: 'approve.example.com', origin: 'https://approve.example.com' };
const challenge = Buffer.alloc(32, 7).toString('base64url');
const passkeys = [
  { credentialId: 'Y3JlZC0x', transports: ['internal', 'hybrid'] },
  { credentialId: 'Y3JlZC0y', transports: [] },
];
const handles = new WebAuthnUserHandles(Buffer.alloc(32, 1).toString('base64'));

describe('registrationOptions', () => {
  it('asks for a discoverable credential where possible, user verification always, no attestation, on the notifier as RP', async () => {
    const options = await registrationOptions(rp, { sub: 'alice', name: 'Alice Example', email: 'alice@example.com' }, handles.handleFor('alice'), passkeys, challenge);
    expect(options).toMatchObject({
      rp: { id: 'approve.example.com', name: 'approve.example.com' },
      user: { name: 'alice@example.com', displayName: 'Alice Example' },
      challenge,
      timeout: CEREMONY_TIMEOUT_MS,
      attestation: 'none',
      authenticatorSelection: { residentKey: 'preferred', requireResidentKey: false, userVerification: 'required' },
    });
    expect(options.pubKeyCredParams.map((p) => p.alg)).toEqual([-7, -8, -257]);
  });

  it('excludes the passkeys the user already has, so one authenticator is not registered twice', async () => {
    const options = await registrationOptions(rp, { sub: 'alice', name: null, email: null }, handles.handleFor('alice'), passkeys, challenge);
    expect(options.excludeCredentials).toEqual([
      { id: 'Y3JlZC0x', type: 'public-key', transports: ['internal', 'hybrid'] },
      { id: 'Y3JlZC0y', type: 'public-key', transports: [] },
    ]);
    // Without an address the account is shown by its subject.
    expect(options.user).toMatchObject({ name: 'alice', displayName: 'alice' });
  });

  it('uses a user handle that is stable per user, different between users and keys, and not the subject', async () => {
    const options = await registrationOptions(rp, { sub: 'alice', name: null, email: null }, handles.handleFor('alice'), [], challenge);
    expect(Buffer.from(options.user.id, 'base64url')).toHaveLength(32);
    expect(options.user.id).toBe(Buffer.from(handles.handleFor('alice')).toString('base64url'));
    expect(Buffer.from(options.user.id, 'base64url').toString('utf8')).not.toContain('alice');
    expect(Buffer.from(handles.handleFor('bob'))).not.toEqual(Buffer.from(handles.handleFor('alice')));
    const otherKey = new WebAuthnUserHandles(Buffer.alloc(32, 2).toString('base64'));
    expect(Buffer.from(otherKey.handleFor('alice'))).not.toEqual(Buffer.from(handles.handleFor('alice')));
  });
});

describe('authenticationOptions', () => {
  it("allows only the user's passkeys, requires user verification, and carries the stored challenge unchanged", async () => {
    const options = await authenticationOptions(rp, passkeys, challenge);
    expect(options).toEqual({
      rpId: 'approve.example.com',
      challenge,
      allowCredentials: [
        { id: 'Y3JlZC0x', type: 'public-key', transports: ['internal', 'hybrid'] },
        { id: 'Y3JlZC0y', type: 'public-key', transports: [] },
      ],
      timeout: CEREMONY_TIMEOUT_MS,
      userVerification: 'required',
      extensions: undefined,
    });
  });
});

describe('challengeExpiry', () => {
  const now = new Date('2030-01-01T00:00:00Z');

  it('is a few minutes, never past the link', () => {
    expect(challengeExpiry(now, null)).toEqual(new Date(now.getTime() + CHALLENGE_TTL_MS));
    const soon = new Date(now.getTime() + 30_000);
    expect(challengeExpiry(now, soon)).toEqual(soon);
    expect(challengeExpiry(now, new Date(now.getTime() + 3_600_000))).toEqual(new Date(now.getTime() + CHALLENGE_TTL_MS));
  });
});
