import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { parseBootstrap } from './bootstrap-file.js';
import { ConfigError, loadConfig } from './provider-config.js';

const base = { CIBA_DATABASE_URL: 'postgres://u@127.0.0.1/db', CIBA_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
const client = { client_id: 'c1', client_secret: 'long-enough-secret' };

describe('DPoP configuration (RFC 9449)', () => {
  it('RFC 9449 §8 nonces are required by default; the iat window is 60 s, a nonce current for 300 s', () => {
    expect(loadConfig(base, 'token', []).dpop).toEqual({ iatWindowSeconds: 60, nonceRequired: true, nonceLifetimeSeconds: 300 });
  });

  it('reads CIBA_DPOP_IAT_WINDOW, CIBA_DPOP_NONCE_REQUIRED and CIBA_DPOP_NONCE_LIFETIME', () => {
    const config = loadConfig({ ...base, CIBA_DPOP_IAT_WINDOW: '30', CIBA_DPOP_NONCE_REQUIRED: 'false', CIBA_DPOP_NONCE_LIFETIME: '120' }, 'token', []);
    expect(config.dpop).toEqual({ iatWindowSeconds: 30, nonceRequired: false, nonceLifetimeSeconds: 120 });
  });

  it.each([
    ['CIBA_DPOP_IAT_WINDOW', '0'],
    ['CIBA_DPOP_IAT_WINDOW', '3600'],
    ['CIBA_DPOP_NONCE_LIFETIME', '5'],
    ['CIBA_DPOP_NONCE_REQUIRED', 'maybe'],
  ])('refuses %s=%s', (name, value) => {
    expect(() => loadConfig({ ...base, [name]: value }, 'token', [])).toThrow(ConfigError);
  });
});

describe('bootstrap file: dpop_bound_access_tokens (RFC 9449 §5.2)', () => {
  it('RFC 9449 §5.2 is false unless registered', () => {
    expect(parseBootstrap({ clients: [client] }).clients[0].dpop_bound_access_tokens).toBe(false);
    expect(parseBootstrap({ clients: [{ ...client, dpop_bound_access_tokens: true }] }).clients[0].dpop_bound_access_tokens).toBe(true);
  });

  it('RFC 9449 §5.2 refuses it for a push mode client, whose tokens no proof can accompany; and refuses a non-boolean', () => {
    const push = { ...client, backchannel_token_delivery_mode: 'push', backchannel_client_notification_endpoint: 'https://rp.example.com/cb', dpop_bound_access_tokens: true };
    expect(() => parseBootstrap({ clients: [push] })).toThrow(/dpop_bound_access_tokens needs poll or ping/);
    expect(() => parseBootstrap({ clients: [{ ...client, dpop_bound_access_tokens: 'yes' }] })).toThrow(/dpop_bound_access_tokens/);
  });
});
