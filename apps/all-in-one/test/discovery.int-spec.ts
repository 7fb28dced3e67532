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
    expect(doc['backchannel_user_code_parameter_supported']).toBe(true);
    expect(doc['grant_types_supported']).toEqual(expect.arrayContaining(['urn:openid:params:grant-type:ciba', 'refresh_token']));
    expect(doc['token_endpoint_auth_methods_supported']).toEqual(['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt']);
    // OpenID Connect Discovery 1.0 §3: what client assertions (RFC 7523) may be signed with; never none.
    expect(doc['token_endpoint_auth_signing_alg_values_supported']).toEqual(['ES256', 'RS256', 'PS256', 'EdDSA', 'HS256', 'HS384', 'HS512']);
    // RFC 8414 §2: introspection and revocation take the token endpoint's client authentication; UserInfo a bearer token.
    expect(doc).toMatchObject({
      introspection_endpoint: `${op.url}/token/introspect`,
      revocation_endpoint: `${op.url}/token/revoke`,
      userinfo_endpoint: `${op.url}/userinfo`,
      introspection_endpoint_auth_methods_supported: doc['token_endpoint_auth_methods_supported'],
      revocation_endpoint_auth_methods_supported: doc['token_endpoint_auth_methods_supported'],
      introspection_endpoint_auth_signing_alg_values_supported: doc['token_endpoint_auth_signing_alg_values_supported'],
      revocation_endpoint_auth_signing_alg_values_supported: doc['token_endpoint_auth_signing_alg_values_supported'],
    });
    expect(doc['id_token_signing_alg_values_supported']).toEqual(['ES256', 'RS256']);
    expect(doc['scopes_supported']).toContain('openid');
    expect(doc['claims_supported']).toEqual(expect.arrayContaining(['sub', 'auth_time']));
  });

  it('publishes the signing keys generated on first start (ES256 and RS256), public members only, private keys encrypted at rest', async () => {
    const jwks = (await (await fetch(`${op.url}/jwks`)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(2);
    expect(jwks.keys.find((key) => key['alg'] === 'ES256')).toMatchObject({ kty: 'EC', crv: 'P-256', use: 'sig' });
    expect(jwks.keys.find((key) => key['alg'] === 'RS256')).toMatchObject({ kty: 'RSA', e: 'AQAB', use: 'sig' });
    for (const key of jwks.keys) for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(member);
    const rows: { encrypted_private_jwk: string }[] = await op.db.dataSource.query('SELECT encrypted_private_jwk FROM signing_keys');
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.encrypted_private_jwk).toMatch(/^v1\./);
      expect(row.encrypted_private_jwk).not.toContain('"d"');
    }
  });

  it('refuses to register a client for an ID token algorithm the provider does not sign with', async () => {
    const data = parseBootstrap({ clients: [{ client_id: 'ps-client', client_secret: 'ps-client-secret', id_token_signed_response_alg: 'PS256' }] });
    const deps = { clients: new TypeOrmClientRepository(op.db.dataSource), users: new TypeOrmUserRepository(op.db.dataSource), hasher: new SecretHasher() };
    await expect(loadBootstrap(data, { ...deps, signingAlgs: op.config.keys.signingAlgs, endpoints: notificationEndpointPolicy(op.config) })).rejects.toThrow(
      /ps-client .*CIBA_SIGNING_ALGS: ES256 RS256/,
    );
    await expect(deps.clients.findById('ps-client')).resolves.toBeNull();
  });

  it('answers /healthz and /readyz', async () => {
    expect((await fetch(`${op.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${op.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { database: 'ok' } });
  });
});
