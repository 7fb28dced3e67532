import { describe, expect, it } from '@jest/globals';
import { generateKeyPair, exportJWK } from 'jose';
import { EndpointPolicy } from '@ciba/outbound';
import { CIBA_GRANT_TYPE, OAuthError } from '@ciba/protocol';
import { KeyEncryptor } from '@ciba/tokens';
import { type RegistrationPolicy, checkRegistrationMetadata, registeredMetadata } from './registration-metadata.js';

/** rp.example resolves to a public address, internal.example to a private one (RFC 1918), metadata.example to the cloud metadata address. */
const names: Record<string, string[]> = { 'rp.example': ['93.184.215.14'], 'internal.example': ['10.20.30.40'], 'metadata.example': ['169.254.169.254'] };
const endpoints = new EndpointPolicy({
  allowInsecureLoopback: false,
  allowedCidrs: [],
  resolve: (host) => {
    const found = names[host];
    return found ? Promise.resolve(found) : Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }));
  },
});

const policy: RegistrationPolicy = {
  signingAlgs: ['ES256', 'RS256'],
  endpoints,
  encryptor: new KeyEncryptor(Buffer.alloc(32, 7).toString('base64')),
  deliveryModes: ['poll', 'ping', 'push'],
  scopes: ['openid', 'profile', 'email', 'offline_access'],
  authMethods: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt'],
  authorizationDetailsTypes: () => Promise.resolve(['payment_initiation']),
};
const assigned = { clientId: 'new-client-id', clientSecret: 'generated-secret-0123456789-abcdefghijklmnop' };

async function refusal(request: Record<string, unknown>, p: RegistrationPolicy = policy): Promise<OAuthError> {
  try {
    await checkRegistrationMetadata(request, assigned, p);
  } catch (err) {
    if (err instanceof OAuthError) return err;
    throw err;
  }
  throw new Error('the metadata was accepted');
}

async function publicJwks(): Promise<{ keys: Record<string, unknown>[] }> {
  const { publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', use: 'sig' }] };
}

describe('registration metadata (RFC 7591 §2, through the checks shared with the bootstrap file)', () => {
  it('RFC 7591 §2 fills defaults: client_secret_basic, the CIBA grant, poll, openid', async () => {
    const c = await checkRegistrationMetadata({ client_name: 'Kiosk' }, assigned, policy);
    expect(c).toMatchObject({
      client_id: 'new-client-id',
      client_secret: assigned.clientSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: [CIBA_GRANT_TYPE],
      backchannel_token_delivery_mode: 'poll',
      scope: 'openid',
    });
    expect(registeredMetadata(c)).not.toHaveProperty('client_secret');
    expect(registeredMetadata(c)).not.toHaveProperty('client_id');
  });

  it('RFC 7591 §2 ignores metadata it does not understand: never stored or echoed', async () => {
    const c = await checkRegistrationMetadata({ client_name: 'Kiosk', redirect_uris: ['https://rp.example/cb'], logo_uri: 'https://rp.example/l.png', x_vendor: 1 }, assigned, policy);
    const echoed = registeredMetadata(c);
    expect(echoed).not.toHaveProperty('redirect_uris');
    expect(echoed).not.toHaveProperty('logo_uri');
    expect(echoed).not.toHaveProperty('x_vendor');
  });

  it('RFC 7591 §3.2.1 the provider assigns client_id and client_secret: values in the request are not taken', async () => {
    const c = await checkRegistrationMetadata({ client_id: 'chosen-id', client_secret: 'chosen-secret-0123456789' }, assigned, policy);
    expect(c.client_id).toBe('new-client-id');
    expect(c.client_secret).toBe(assigned.clientSecret);
  });

  it('RFC 7591 §2 private_key_jwt gets no secret: nothing could ever authenticate with one', async () => {
    const c = await checkRegistrationMetadata({ token_endpoint_auth_method: 'private_key_jwt', jwks: await publicJwks() }, assigned, policy);
    expect(c.client_secret).toBeUndefined();
  });

  it('RFC 7591 §3.2.2 every bad field is invalid_client_metadata naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ token_endpoint_auth_method: 'none' }, 'token_endpoint_auth_method'],
      [{ backchannel_token_delivery_mode: 'email' }, 'backchannel_token_delivery_mode'],
      [{ backchannel_user_code_parameter: 'yes' }, 'backchannel_user_code_parameter'],
      [{ client_name: 'x'.repeat(256) }, 'client_name'],
      [{ client_name: 42 }, 'client_name'],
      [{ grant_types: 'urn:openid:params:grant-type:ciba' }, 'grant_types'],
      [{ id_token_signed_response_alg: 'none' }, 'id_token_signed_response_alg'],
      [{ backchannel_authentication_request_signing_alg: 'HS256', jwks: { keys: [] } }, 'backchannel_authentication_request_signing_alg'],
      [{ token_endpoint_auth_signing_alg: 'none' }, 'token_endpoint_auth_signing_alg'],
      [{ backchannel_client_notification_endpoint: 'not a url', backchannel_token_delivery_mode: 'ping' }, 'backchannel_client_notification_endpoint'],
      [{ jwks_uri: 'ftp://rp.example/jwks' }, 'jwks_uri'],
      [{ default_acr_values: ['has space'] }, 'default_acr_values'],
      [{ authorization_details_types: ['a', 'a'] }, 'authorization_details_types'],
    ];
    for (const [request, field] of cases) {
      const err = await refusal(request);
      expect({ field, error: err.error, status: err.status }).toEqual({ field, error: 'invalid_client_metadata', status: 400 });
      expect(err.description).toContain(field);
    }
  });

  it('RFC 9396 §10 a registration picks among the authorization_details types already registered but adds none (discovery publishes them)', async () => {
    const accepted = await checkRegistrationMetadata({ authorization_details_types: ['payment_initiation'] }, assigned, policy);
    expect(accepted.authorization_details_types).toEqual(['payment_initiation']);
    const err = await refusal({ authorization_details_types: ['payment_initiation', 'x-injected-into-discovery'] });
    expect({ error: err.error, description: err.description }).toEqual({
      error: 'invalid_client_metadata',
      description: 'authorization_details_types: x-injected-into-discovery not supported',
    });
  });

  it('CIBA §4 ping and push need a notification endpoint', async () => {
    expect((await refusal({ backchannel_token_delivery_mode: 'push' })).description).toContain('backchannel_client_notification_endpoint is required');
  });

  it('CIBA §4 a notification endpoint on a private or metadata address is refused by the outbound (SSRF) policy', async () => {
    for (const endpoint of ['https://internal.example/cb', 'https://metadata.example/cb', 'https://10.0.0.8/cb', 'https://[::1]/cb', 'https://127.0.0.1/cb']) {
      const err = await refusal({ backchannel_token_delivery_mode: 'ping', backchannel_client_notification_endpoint: endpoint });
      expect(err.error).toBe('invalid_client_metadata');
      expect(err.description).toMatch(/^backchannel_client_notification_endpoint: /);
    }
    const plain = await refusal({ backchannel_token_delivery_mode: 'push', backchannel_client_notification_endpoint: 'http://rp.example/cb' });
    expect(plain.description).toMatch(/^backchannel_client_notification_endpoint: /);
    const accepted = await checkRegistrationMetadata({ backchannel_token_delivery_mode: 'ping', backchannel_client_notification_endpoint: 'https://rp.example/cb' }, assigned, policy);
    expect(accepted.backchannel_client_notification_endpoint).toBe('https://rp.example/cb');
  });

  it('RFC 7591 §2 a jwks_uri on a private address is refused by the outbound (SSRF) policy', async () => {
    const err = await refusal({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://internal.example/jwks' });
    expect(err.description).toMatch(/^jwks_uri: /);
  });

  it('RFC 7591 §2 jwks holding a private key member is refused', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const err = await refusal({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [await exportJWK(privateKey)] } });
    expect(err.error).toBe('invalid_client_metadata');
    expect(err.description).toContain('jwks');
  });

  it('RFC 7591 §2 private_key_jwt needs exactly one of jwks and jwks_uri', async () => {
    expect((await refusal({ token_endpoint_auth_method: 'private_key_jwt' })).description).toContain('exactly one of jwks and jwks_uri');
    const both = await refusal({ token_endpoint_auth_method: 'private_key_jwt', jwks: await publicJwks(), jwks_uri: 'https://rp.example/jwks' });
    expect(both.description).toContain('exactly one of jwks and jwks_uri');
  });

  it('OIDC Registration §2 an ID token algorithm the provider does not sign with is refused', async () => {
    const err = await refusal({ id_token_signed_response_alg: 'PS256' });
    expect(err.description).toMatch(/^id_token_signed_response_alg: PS256 is not an algorithm this provider signs with/);
  });

  it('RFC 7523 a token_endpoint_auth_signing_alg that does not fit the method is refused', async () => {
    const err = await refusal({ token_endpoint_auth_method: 'client_secret_jwt', token_endpoint_auth_signing_alg: 'ES256' });
    expect(err.description).toContain('token_endpoint_auth_signing_alg ES256 does not fit client_secret_jwt');
  });

  it('CIBA §4 a signing alg for requests needs the keys they are verified with', async () => {
    expect((await refusal({ backchannel_authentication_request_signing_alg: 'ES256' })).description).toContain('backchannel_authentication_request_signing_alg needs the public keys');
  });

  it('client_secret_jwt without a key to seal the secret is refused', async () => {
    const err = await refusal({ token_endpoint_auth_method: 'client_secret_jwt' }, { ...policy, encryptor: null });
    expect(err.description).toMatch(/^token_endpoint_auth_method: client_secret_jwt needs CIBA_KEY_ENCRYPTION_KEY/);
  });

  it('RFC 7591 §2 values this provider does not serve are refused: grant types, delivery modes not offered, scopes', async () => {
    expect((await refusal({ grant_types: [CIBA_GRANT_TYPE, 'authorization_code'] })).description).toMatch(/^grant_types: authorization_code not supported/);
    expect((await refusal({ grant_types: ['refresh_token'] })).description).toMatch(/^grant_types: must include/);
    expect((await refusal({ backchannel_token_delivery_mode: 'push', backchannel_client_notification_endpoint: 'https://rp.example/cb' }, { ...policy, deliveryModes: ['poll'] })).description).toMatch(
      /^backchannel_token_delivery_mode: push is not offered/,
    );
    expect((await refusal({ scope: 'openid admin' })).description).toMatch(/^scope: admin not supported/);
  });

  it('the audit scopes are never self-registered, even when the deployment lists them among its scopes', async () => {
    const listed = { ...policy, scopes: [...policy.scopes, 'ciba:audit.read', 'ciba:audit.report'] };
    for (const scope of ['ciba:audit.read', 'ciba:audit.report']) {
      expect((await refusal({ scope: `openid ${scope}` }, listed)).description).toMatch(new RegExp(`^scope: ${scope.replace('.', '\\.')} is granted only by an operator`));
    }
    expect((await refusal({ scope: 'openid ciba:audit.read' })).description).not.toMatch(/not supported/);
  });

  it('RFC 8705 the mutual-TLS methods only when discovery offers them (a certificate header is configured)', async () => {
    const err = await refusal({ token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'CN=rp.example.com,O=Example,C=GB' });
    expect(err.description).toMatch(/^token_endpoint_auth_method: tls_client_auth is not offered/);
    const offered = await checkRegistrationMetadata(
      { token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'CN=rp.example.com,O=Example,C=GB' },
      assigned,
      { ...policy, authMethods: [...policy.authMethods, 'tls_client_auth'] },
    );
    expect(offered.client_secret).toBeUndefined();
  });

  it('client_name is shown to users: control and bidirectional-text characters are refused', async () => {
    expect((await refusal({ client_name: 'Bank\u202Eevil' })).description).toMatch(/^client_name: must not contain bidirectional/);
    expect((await refusal({ client_name: 'Bank\u0007' })).description).toMatch(/^client_name: must not contain control/);
  });

  it('RFC 7591 §3.2.2 a software statement is refused: unapproved_software_statement', async () => {
    const err = await refusal({ software_statement: 'eyJhbGciOiJub25lIn0.e30.' });
    expect({ error: err.error, status: err.status }).toEqual({ error: 'unapproved_software_statement', status: 400 });
  });
});
