import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { FactoryProvider } from '@nestjs/common';
import { loadConfig } from '@ciba/config';
import type { Clock } from '@ciba/domain';
import { DpopProofVerifier } from '@ciba/tokens';
import { dpopProviders } from './dpop.providers.js';

/** A fixed clock: two calls never straddle a nonce step. */
const clock: Clock = { now: () => new Date('2025-01-01T00:00:00Z') };
const base = { CIBA_DATABASE_URL: 'postgres://u@127.0.0.1/db', CIBA_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64') };

/** The verifier the providers build; the data source is only handed to the jti store, not queried. */
function verifierFor(env: Record<string, string>): DpopProofVerifier {
  const [provider] = dpopProviders(loadConfig({ ...base, ...env }, 'token', ['keys']), clock) as FactoryProvider<DpopProofVerifier>[];
  if (provider === undefined) throw new Error('dpopProviders provides nothing');
  expect(provider.provide).toBe(DpopProofVerifier);
  const verifier = provider.useFactory({});
  if (!(verifier instanceof DpopProofVerifier)) throw new Error('the provider made no DpopProofVerifier');
  return verifier;
}

describe('dpopProviders (RFC 9449 wiring)', () => {
  it('RFC 9449 §8 with CIBA_DPOP_NONCE_REQUIRED (the default) the verifier hands out nonces; with it false, none', () => {
    expect(verifierFor({}).currentNonce()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(verifierFor({ CIBA_DPOP_NONCE_REQUIRED: 'false' }).currentNonce()).toBeNull();
  });

  it('RFC 9449 §8 nonces derive from CIBA_KEY_ENCRYPTION_KEY: the same for every replica of a deployment', () => {
    expect(verifierFor({}).currentNonce()).toBe(verifierFor({}).currentNonce());
    expect(verifierFor({ CIBA_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64') }).currentNonce()).not.toBe(verifierFor({}).currentNonce());
  });
});
