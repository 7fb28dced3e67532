import { describe, expect, it } from '@jest/globals';
import { PASSKEY_AMR, effectiveAcrValues, passkeyStepUpAcr } from './acr-values.js';

describe('effectiveAcrValues', () => {
  it('keeps the request\'s own acr_values, in order', () => {
    expect(effectiveAcrValues(['urn:a', 'phr'], ['phrh'])).toEqual(['urn:a', 'phr']);
  });

  it('inherits the client\'s default_acr_values when the request sends none', () => {
    expect(effectiveAcrValues([], ['phrh', 'phr'])).toEqual(['phrh', 'phr']);
    expect(effectiveAcrValues([], [])).toEqual([]);
  });
});

describe('passkeyStepUpAcr', () => {
  const passkeyLevel = ['phr', 'phrh'];

  it('is null when no requested value is passkey-level', () => {
    expect(passkeyStepUpAcr([], passkeyLevel)).toBeNull();
    expect(passkeyStepUpAcr(['urn:example:mfa', 'urn:example:pwd'], passkeyLevel)).toBeNull();
  });

  it('is the most preferred passkey-level value the request lists', () => {
    expect(passkeyStepUpAcr(['phr'], passkeyLevel)).toBe('phr');
    expect(passkeyStepUpAcr(['urn:example:mfa', 'phrh', 'phr'], passkeyLevel)).toBe('phrh');
    expect(passkeyStepUpAcr(['phr', 'phrh'], passkeyLevel)).toBe('phr');
  });

  it('follows the operator\'s list: a value it leaves out needs no passkey', () => {
    expect(passkeyStepUpAcr(['phrh'], ['phr'])).toBeNull();
    expect(passkeyStepUpAcr(['urn:bank:strong'], ['urn:bank:strong'])).toBe('urn:bank:strong');
    expect(passkeyStepUpAcr(['phr'], [])).toBeNull();
  });

  it('uses comparison by exact string, as ACR values are case-sensitive', () => {
    expect(passkeyStepUpAcr(['PHR'], passkeyLevel)).toBeNull();
  });
});

describe('PASSKEY_AMR', () => {
  it('uses registered RFC 8176 / OpenID EAP values and never claims a hardware-bound key', () => {
    expect(PASSKEY_AMR).toEqual(['pop', 'user', 'mfa']);
    expect(PASSKEY_AMR).not.toContain('hwk');
  });
});
