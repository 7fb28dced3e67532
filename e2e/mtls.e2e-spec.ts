import { X509Certificate, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { type ClientCertificate, type DeviceEmulator, type TestDatabase, forwardedCertificateHeader, testCertificateAuthority, testClientCertificate } from '@ciba/testing';
import { type ServiceProcess, admin, bootstrapFile, decideOnDevice, flowDeployment, serviceProcesses, startServices, tearDownDeployment } from './service-processes.js';

const CERT_HEADER = 'X-SSL-Client-Cert';
/** The TLS-terminating proxy connects from here; a caller reaching the services directly, from 127.0.0.1. */
const PROXY_ADDRESS = '127.0.0.2';
const PKI_CLIENT = 'e2e-tls-client-auth';
const SELF_SIGNED_CLIENT = 'e2e-self-signed-tls';
const USER = { sub: 'erin', name: 'Erin Example', email: 'erin@example.com', email_verified: true };
const REFUSED = { status: 401, body: { error: 'invalid_client', error_description: 'client authentication failed' } };

/**
 * Mutual-TLS client authentication (RFC 8705 §2) and certificate-bound access tokens (§3) across the
 * separate service processes, behind a TLS-terminating proxy played by the test: it connects from
 * the trusted proxy address and forwards the client's certificate in `X-SSL-Client-Cert` as nginx's
 * `$ssl_client_escaped_cert` does. openid-client v6 authenticates with `TlsClientAuth` (client_id in
 * the body) through a custom fetch that is that proxy.
 */
describe('CIBA poll flow with tls_client_auth and self_signed_tls_client_auth across service processes (RFC 8705, openid-client v6)', () => {
  let db: TestDatabase;
  let device: DeviceEmulator;
  let services: Record<'authorize' | 'token' | 'notifier', ServiceProcess>;
  let issuer: URL;
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;
  const proxy = new Agent({ localAddress: PROXY_ADDRESS });
  const authority = testCertificateAuthority();
  const pkiCert = testClientCertificate({ subject: '/C=GB/O=Example Bank/OU=Payments/CN=e2e-rp.example.com', subjectAltNames: ['DNS:e2e-rp.example.com'], authority });
  const intruderCert = testClientCertificate({ subject: '/C=GB/O=Example Bank/OU=Payments/CN=intruder.example.com', authority });
  const selfSignedCert = testClientCertificate({ subject: '/CN=e2e-self-signed-rp' });

  /** What the proxy does: forward from its own address, with the certificate of the TLS connection it terminated. */
  function proxiedFetch(cert: ClientCertificate | null): oidc.CustomFetch {
    return (url, options) => {
      const headers = new Headers(options.headers);
      headers.delete(CERT_HEADER);
      if (cert !== null) headers.set(CERT_HEADER, forwardedCertificateHeader(cert, 'url-encoded-pem'));
      return undiciFetch(url, { method: options.method, headers, body: options.body, redirect: options.redirect, dispatcher: proxy });
    };
  }

  async function clientConfig(clientId: string, cert: ClientCertificate | null): Promise<oidc.Configuration> {
    const config = await oidc.discovery(issuer, clientId, undefined, oidc.TlsClientAuth(), { execute: [oidc.allowInsecureRequests] });
    config[oidc.customFetch] = proxiedFetch(cert);
    return config;
  }

  async function pollFlow(config: oidc.Configuration): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers> {
    const bindingMessage = `E2E mtls ${randomBytes(3).toString('hex')}`;
    const started = await oidc.initiateBackchannelAuthentication(config, { scope: 'openid email', login_hint: USER.email, binding_message: bindingMessage });
    await decideOnDevice(device, services.notifier.url, bindingMessage);
    return oidc.pollBackchannelAuthenticationGrant(config, started);
  }

  async function form(url: string, params: Record<string, string>, options: { cert?: ClientCertificate; direct?: boolean }) {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (options.cert) headers[CERT_HEADER] = forwardedCertificateHeader(options.cert, 'url-encoded-pem');
    const res = await undiciFetch(url, { method: 'POST', headers, body: new URLSearchParams(params).toString(), ...(options.direct ? {} : { dispatcher: proxy }) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  beforeAll(async () => {
    const deployment = await flowDeployment(busPrefix, {
      CIBA_MTLS_CLIENT_CERT_HEADER: CERT_HEADER,
      CIBA_MTLS_TRUSTED_PROXIES: `${PROXY_ADDRESS}/32`,
    });
    ({ db, device, issuer } = deployment);
    const { ports, env } = deployment;
    const selfSignedJwk = { ...new X509Certificate(selfSignedCert.pem).publicKey.export({ format: 'jwk' }), kid: 'e2e-tls-1', x5c: [selfSignedCert.x5c] };
    const file = await bootstrapFile({
      clients: [
        {
          client_id: PKI_CLIENT,
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_subject_dn: 'CN=e2e-rp.example.com,OU=Payments,O=Example Bank,C=GB',
          tls_client_certificate_bound_access_tokens: true,
          scope: 'openid email',
        },
        { client_id: SELF_SIGNED_CLIENT, token_endpoint_auth_method: 'self_signed_tls_client_auth', jwks: { keys: [selfSignedJwk] }, tls_client_certificate_bound_access_tokens: true, scope: 'openid email' },
      ],
      users: [USER],
    });
    expect(await admin(['migrate'], env)).toContain('up to date');
    expect(await admin(['bootstrap', '--file', file], env)).toContain('clients: 2 written, 0 unchanged');
    expect(await admin(['bootstrap', '--file', file], env)).toContain('clients: 0 written, 2 unchanged');
    services = serviceProcesses(['authorize', 'token', 'notifier'], ports, env);
    await startServices(services);
  }, 90_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: Object.values(services ?? {}), peers: [device], db, busPrefix });
    await proxy.close();
  });

  it('RFC 8705 §2 / §3.3 discovery advertises tls_client_auth, self_signed_tls_client_auth and certificate-bound access tokens', async () => {
    const metadata = (await clientConfig(PKI_CLIENT, pkiCert)).serverMetadata();
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['tls_client_auth', 'self_signed_tls_client_auth']));
    expect(metadata.tls_client_certificate_bound_access_tokens).toBe(true);
  });

  it('RFC 8705 §2.1 tls_client_auth: a full poll flow, authenticated at the authorize and the token service; §3.1 the token is bound to the certificate', async () => {
    const config = await clientConfig(PKI_CLIENT, pkiCert);
    const tokens = await pollFlow(config);
    expect(tokens.claims()?.sub).toBe(USER.sub);
    expect(decodeJwt(tokens.access_token)['cnf']).toEqual({ 'x5t#S256': pkiCert.thumbprint });
    const info = await oidc.fetchUserInfo(config, tokens.access_token, USER.sub);
    expect(info.email).toBe(USER.email);
  }, 45_000);

  it('RFC 8705 §2.2 self_signed_tls_client_auth: a full poll flow with the certificate registered as x5c', async () => {
    const tokens = await pollFlow(await clientConfig(SELF_SIGNED_CLIENT, selfSignedCert));
    expect(tokens.claims()?.aud).toBe(SELF_SIGNED_CLIENT);
    expect(decodeJwt(tokens.access_token)['cnf']).toEqual({ 'x5t#S256': selfSignedCert.thumbprint });
  }, 45_000);

  it('RFC 8705 §2 a certificate header sent straight to the services, not through the trusted proxy, authenticates nobody', async () => {
    const params = { client_id: PKI_CLIENT, scope: 'openid', login_hint: USER.email };
    expect(await form(`${services.authorize.url}/bc-authorize`, params, { cert: pkiCert, direct: true })).toEqual(REFUSED);
    expect(await form(`${services.token.url}/token`, { client_id: PKI_CLIENT, grant_type: 'urn:openid:params:grant-type:ciba', auth_req_id: 'x'.repeat(64) }, { cert: pkiCert, direct: true })).toEqual(REFUSED);
  });

  it('RFC 8705 §2 a wrong certificate, and the certificate of another client, are refused with invalid_client', async () => {
    await expect(oidc.initiateBackchannelAuthentication(await clientConfig(PKI_CLIENT, intruderCert), { scope: 'openid', login_hint: USER.email })).rejects.toMatchObject({ error: 'invalid_client' });
    await expect(oidc.initiateBackchannelAuthentication(await clientConfig(PKI_CLIENT, selfSignedCert), { scope: 'openid', login_hint: USER.email })).rejects.toMatchObject({ error: 'invalid_client' });
    await expect(oidc.initiateBackchannelAuthentication(await clientConfig(SELF_SIGNED_CLIENT, pkiCert), { scope: 'openid', login_hint: USER.email })).rejects.toMatchObject({ error: 'invalid_client' });
    await expect(oidc.initiateBackchannelAuthentication(await clientConfig(PKI_CLIENT, null), { scope: 'openid', login_hint: USER.email })).rejects.toMatchObject({ error: 'invalid_client' });
  });

  it('RFC 8705 §3 a certificate-bound access token is refused at UserInfo with another certificate or none (invalid_token)', async () => {
    const tokens = await pollFlow(await clientConfig(PKI_CLIENT, pkiCert));
    for (const cert of [intruderCert, selfSignedCert, null]) {
      const headers: Record<string, string> = { authorization: `Bearer ${tokens.access_token}` };
      if (cert) headers[CERT_HEADER] = forwardedCertificateHeader(cert, 'url-encoded-pem');
      const res = await undiciFetch(`${services.token.url}/userinfo`, { headers, dispatcher: proxy });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
      await res.text();
    }
  }, 45_000);
});
