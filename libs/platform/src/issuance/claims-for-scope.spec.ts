import { describe, expect, it } from '@jest/globals';
import type { User } from '@ciba/domain';
import { claimsForScope } from './token-issuer.js';

const user: User = {
  sub: 'erin',
  name: 'Erin Example',
  email: 'erin@example.com',
  emailVerified: true,
  phoneNumber: '+15555550100',
  phoneNumberVerified: false,
  channelPreference: null,
  preferredUsername: 'frank',
};

describe('claims per scope (OpenID Connect Core §5.4)', () => {
  it('§5.4 profile releases name and preferred_username; email and phone their claims and verification flags', () => {
    expect(claimsForScope(user, ['openid', 'profile'])).toEqual({ name: 'Erin Example', preferred_username: 'frank' });
    expect(claimsForScope(user, ['openid', 'email'])).toEqual({ email: 'erin@example.com', email_verified: true });
    expect(claimsForScope(user, ['openid', 'phone'])).toEqual({ phone_number: '+15555550100', phone_number_verified: false });
  });

  it('§5.4 releases nothing beyond the scopes asked for, and leaves out claims the user does not have', () => {
    expect(claimsForScope(user, ['openid'])).toEqual({});
    expect(claimsForScope({ ...user, name: null, preferredUsername: null }, ['openid', 'profile'])).toEqual({});
    expect(claimsForScope({ ...user, preferredUsername: undefined }, ['profile'])).toEqual({ name: 'Erin Example' });
  });
});
