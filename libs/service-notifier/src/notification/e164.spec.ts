import { describe, expect, it } from '@jest/globals';
import { e164 } from './user-notifier.service.js';

describe('the number an SMS goes to', () => {
  it('is E.164: the separators people type (spaces, dashes, dots, parentheses) are removed', () => {
    expect(e164('+1 555 555 0100')).toBe('+15555550100');
    expect(e164('+1 (555) 555-0100')).toBe('+15555550100');
    expect(e164('+49 151.1234 5678')).toBe('+4915112345678');
  });

  it('leaves an E.164 number as it is', () => {
    expect(e164('+15555550100')).toBe('+15555550100');
  });
});
