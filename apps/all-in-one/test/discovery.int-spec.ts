import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseBootstrap } from '@ciba/config';
import { TypeOrmClientRepository, TypeOrmUserRepository } from '@ciba/persistence';
import { loadBootstrap, notificationEndpointPolicy } from '@ciba/platform';
import { SecretHasher } from '@ciba/tokens';
import { type TestProvider, startTestProvider } from './provider-harness.js';

describe('discovery and keys', () => {
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider();
  });
  afterAll(async () => {
    await op.close();
  });

  it('CIBA §4 advertises the backchannel endpoint, delivery modes, user code support and the CIBA grant', async () => {
    const res = await fetch(`${op.url}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc['issuer']).toBe(op.url);
    expect(doc['backchannel_authentication_endpoint']).toBe(`${op.url}/bc-authorize`);
    expect(doc['token_endpoint']).toBe(`${op.url}/token`);
    expect(doc['jwks_uri']).toBe(`${op.url}/jwks`);
    expect(doc['backchannel_token_delivery_modes_supported']).toEqual(['poll', 'ping', 'push']);
    expect(doc['backchannel_user_code_parameter_supported']).toBe(false);
    expect(doc['grant_types_supported']).toEqual(expect.arrayContaining(['urn:openid:params:grant-type:ciba', 'refresh_token']));
    expect(doc['token_endpoint_auth_methods_supported']).toEqual(['client_secret_basic', 'client_secret_post']);
    expect(doc['id_token_signing_alg_values_supported']).toEqual(['ES256']);
    expect(doc['scopes_supported']).toContain('openid');
    expect(doc['claims_supported']).toEqual(expect.arrayContaining(['sub', 'auth_time']));
  });

  it('publishes the signing key generated on first start, public members only, private key encrypted at rest', async () => {
    const jwks = (await (await fetch(`${op.url}/jwks`)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    const [key] = jwks.keys;
    expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(key).not.toHaveProperty('d');
    const rows: { encrypted_private_jwk: string }[] = await op.db.dataSource.query('SELECT encrypted_private_jwk FROM signing_keys');
    expect(rows).toHaveLength(1);
    expect(rows[0].encrypted_private_jwk).toMatch(/^v1\./);
    expect(rows[0].encrypted_private_jwk).not.toContain('"d"');
  });

  it('refuses to register a client for an ID token algorithm the provider does not sign with', async () => {
    const data = parseBootstrap({ clients: [{ client_id: 'rs-client', client_secret: 'rs-client-secret', id_token_signed_response_alg: 'RS256' }] });
    const deps = { clients: new TypeOrmClientRepository(op.db.dataSource), users: new TypeOrmUserRepository(op.db.dataSource), hasher: new SecretHasher() };
    await expect(loadBootstrap(data, { ...deps, signingAlg: 'ES256', endpoints: notificationEndpointPolicy(op.config) })).rejects.toThrow(/rs-client .*ES256/);
    await expect(deps.clients.findById('rs-client')).resolves.toBeNull();
  });

  it('answers /healthz and /readyz', async () => {
    expect((await fetch(`${op.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${op.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { database: 'ok' } });
  });
});
