import { describe, expect, it } from '@jest/globals';
import { type NotificationChannel, type User, channelPlan, normalisePhoneNumber } from './user.js';

const alice = (overrides: Partial<User> = {}): User => ({
  sub: 'alice',
  name: 'Alice',
  email: 'alice@example.com',
  emailVerified: true,
  phoneNumber: '+15555550100',
  phoneNumberVerified: true,
  channelPreference: null,
  ...overrides,
});

const everything = (): boolean => true;
const DEPLOYMENT: NotificationChannel[] = ['device-push', 'email', 'sms'];

describe('channel plan: where a message about a request may go', () => {
  it('follows the deployment default when the user has no preference of their own', () => {
    expect(channelPlan(alice(), DEPLOYMENT, everything)).toEqual(['device-push', 'email', 'sms']);
  });

  it("the user's own order replaces the deployment's", () => {
    expect(channelPlan(alice({ channelPreference: ['sms', 'email'] }), DEPLOYMENT, everything)).toEqual(['sms', 'email']);
  });

  it('skips channels the deployment has not enabled', () => {
    expect(channelPlan(alice(), DEPLOYMENT, (c) => c !== 'device-push')).toEqual(['email', 'sms']);
  });

  it('never sends to an unverified email address or phone number: it could be anyone\'s', () => {
    expect(channelPlan(alice({ emailVerified: false }), DEPLOYMENT, everything)).toEqual(['device-push', 'sms']);
    expect(channelPlan(alice({ phoneNumberVerified: false }), DEPLOYMENT, everything)).toEqual(['device-push', 'email']);
    expect(channelPlan(alice({ email: null, phoneNumber: null }), DEPLOYMENT, everything)).toEqual(['device-push']);
  });

  it('is empty when nothing reaches the user', () => {
    expect(channelPlan(alice({ emailVerified: false, phoneNumberVerified: false }), ['email', 'sms'], everything)).toEqual([]);
  });

  it('lists a channel once even if a preference repeats it', () => {
    expect(channelPlan(alice({ channelPreference: ['email', 'email', 'sms'] }), DEPLOYMENT, everything)).toEqual(['email', 'sms']);
  });
});

describe('normalisePhoneNumber', () => {
  it.each([
    ['+1 555-0100', '+15550100'],
    ['+44 (20) 7946.0000', '+442079460000'],
    ['\t+33 1 23 45 67 89 ', '+33123456789'],
    ['alice@example.com', 'alice@examplecom'],
    [' - ', ''],
  ])('%j → %j', (input, expected) => {
    expect(normalisePhoneNumber(input)).toBe(expected);
  });

  it('gives SMS gateways E.164: the separators people type (spaces, dashes, dots, parentheses) are removed', () => {
    expect(normalisePhoneNumber('+1 555 555 0100')).toBe('+15555550100');
    expect(normalisePhoneNumber('+1 (555) 555-0100')).toBe('+15555550100');
    expect(normalisePhoneNumber('+49 151.1234 5678')).toBe('+4915112345678');
  });

  it('leaves an E.164 number as it is', () => {
    expect(normalisePhoneNumber('+15555550100')).toBe('+15555550100');
  });
});
