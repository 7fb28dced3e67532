import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';
import { parseBootstrap } from '@ciba/config';
import { loadBootstrap } from '@ciba/platform';
import { type ClientCertificate, type HttpsPeer, forwardedCertificateHeader, replyJson, selfSignedCert, startHttpsPeer, temporaryFile, testCertificateAuthority, testClientCertificate } from '@ciba/testing';
import { CIBA, bootstrapDeps, type HttpResult, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

const CERT_HEADER = 'X-SSL-Client-Cert';
/** nginx `$ssl_client_verify`: `SUCCESS` when it verified the chain, `FAILED:<reason>` (with `optional_no_ca`) otherwise. */
const VERIFY_HEADER = 'X-SSL-Client-Verify';
/** The TLS-terminating proxy connects from this address; the test itself (a "direct" caller) from 127.0.0.1. */
const PROXY_ADDRESS = '127.0.0.2';
const REFUSED = { status: 401, body: { error: 'invalid_client', error_description: 'client authentication failed' } };

const DN_CLIENT = 'rp-mtls-dn';
const SAN_CLIENT = 'rp-mtls-san';
const SELF_SIGNED_CLIENT = 'rp-self-signed';
const BOUND_SECRET_CLIENT = { id: 'rp-bound-basic', secret: 'rp-bound-basic-secret' };
const REMOTE_KEYS_CLIENT = 'rp-self-signed-jwks-uri';
const THROTTLED_CLIENT = 'rp-mtls-throttled';
const FAILURE_LIMIT = 20;

describe('mutual-TLS client authentication and certificate-bound access tokens (RFC 8705) behind a TLS-terminating proxy', () => {
  let op: TestProvider;
  const proxy = new Agent({ localAddress: PROXY_ADDRESS });
  const authority = testCertificateAuthority();
  const dnCert = testClientCertificate({ subject: '/C=GB/O=Example Bank/CN=rp-dn.example.com', authority });
  const sanCert = testClientCertificate({ subject: '/CN=rp san', subjectAltNames: ['DNS:rp-san.example.com'], authority });
  const selfSigned = testClientCertificate({ subject: '/CN=self-signed-rp' });
  const selfSignedImpostor = testClientCertificate({ subject: '/CN=self-signed-rp' });
  const intruder = testClientCertificate({ subject: '/C=GB/O=Example Bank/CN=intruder.example.com', authority });
  const remoteSelfSigned = testClientCertificate({ subject: '/CN=remote-keys-rp' });
  const remoteRotated = testClientCertificate({ subject: '/CN=remote-keys-rp' });
  const selfSignedPems = new Set([selfSigned.pem, selfSignedImpostor.pem, remoteSelfSigned.pem, remoteRotated.pem]);
  let peer: HttpsPeer;
  let caFile: { path: string; remove(): void };
  let published: ClientCertificate[] = [remoteSelfSigned];
  const jwkOf = (cert: ClientCertificate, kid: string) => ({ ...new X509Certificate(cert.pem).publicKey.export({ format: 'jwk' }), kid, x5c: [cert.x5c] });

  /** A form POST as the proxy forwards it (from its address, with the certificate header), or directly. */
  async function post(path: string, params: Record<string, string>, options: { cert?: ClientCertificate | string; direct?: boolean; headers?: Record<string, string> } = {}): Promise<HttpResult> {
    // The proxy verified every chain but self-signed ones (it runs with optional_no_ca and says so in the verify header).
    const verified = options.cert === undefined || typeof options.cert === 'string' || !selfSignedPems.has(options.cert.pem) ? 'SUCCESS' : 'FAILED:self-signed certificate';
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', [VERIFY_HEADER]: verified, ...options.headers };
    if (options.cert !== undefined) headers[CERT_HEADER] = typeof options.cert === 'string' ? options.cert : forwardedCertificateHeader(options.cert, 'url-encoded-pem');
    const res = await undiciFetch(`${op.url}${path}`, { method: 'POST', headers, body: new URLSearchParams(params).toString(), ...(options.direct ? {} : { dispatcher: proxy }) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  async function userinfo(accessToken: string, options: { cert?: ClientCertificate; direct?: boolean } = {}): Promise<{ status: number; challenge: string | null }> {
    const headers: Record<string, string> = { authorization: `Bearer ${accessToken}` };
    if (options.cert) headers[CERT_HEADER] = forwardedCertificateHeader(options.cert, 'url-encoded-pem');
    const res = await undiciFetch(`${op.url}/userinfo`, { headers, ...(options.direct ? {} : { dispatcher: proxy }) });
    await res.text();
    return { status: res.status, challenge: res.headers.get('www-authenticate') };
  }

  const outcome = (res: HttpResult) => ({ status: res.status, body: res.body });
  const bcAuthorize = (clientId: string, cert?: ClientCertificate | string, extra: Record<string, string> = {}) =>
    post('/bc-authorize', { client_id: clientId, scope: 'openid', login_hint: 'alice', ...extra }, cert === undefined ? {} : { cert });

  /** bc-authorize, the device approves, then the first poll (so no slow_down): the token response. */
  async function approvedTokens(clientId: string, cert: ClientCertificate, auth: Record<string, string> = { client_id: clientId }): Promise<HttpResult> {
    const message = uniqueMessage('mtls');
    const started = await post('/bc-authorize', { ...auth, scope: 'openid', login_hint: 'alice', binding_message: message }, { cert });
    expect(started.status).toBe(200);
    const notification = await op.notification((body) => body['binding_message'] === message);
    expect((await op.decide(notification.decisionToken, 'SUCCEED')).status).toBe(200);
    return post('/token', { ...auth, grant_type: CIBA, auth_req_id: String(started.body['auth_req_id']) }, { cert });
  }

  beforeAll(async () => {
    const tls = selfSignedCert();
    caFile = temporaryFile('ca.pem', tls.cert);
    peer = await startHttpsPeer(tls, (req, res) => {
      if (req.url === '/jwks') replyJson(res, 200, { keys: published.map((cert, i) => jwkOf(cert, `remote-${i}`)) });
      else replyJson(res, 404, {});
    });
    op = await startTestProvider({
      CIBA_MTLS_CLIENT_CERT_HEADER: CERT_HEADER,
      CIBA_MTLS_CLIENT_CERT_VERIFY_HEADER: VERIFY_HEADER,
      CIBA_MTLS_TRUSTED_PROXIES: `${PROXY_ADDRESS}/32`,
      CIBA_CALLBACK_CA_FILE: caFile.path,
      // Each client fails a few times on purpose; one test uses up its client's limit.
      CIBA_CLIENT_AUTH_FAILURE_LIMIT: String(FAILURE_LIMIT),
      CIBA_CLIENT_AUTH_ADDRESS_FAILURE_LIMIT: '1000',
    });
    const selfSignedJwk = jwkOf(selfSigned, 'tls-1');
    const data = parseBootstrap({
      clients: [
        {
          client_id: DN_CLIENT,
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_subject_dn: 'CN=rp-dn.example.com,O=Example Bank,C=GB',
          tls_client_certificate_bound_access_tokens: true,
          grant_types: [CIBA],
        },
        { client_id: SAN_CLIENT, token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_dns: 'rp-san.example.com', grant_types: [CIBA] },
        { client_id: SELF_SIGNED_CLIENT, token_endpoint_auth_method: 'self_signed_tls_client_auth', jwks: { keys: [selfSignedJwk] }, grant_types: [CIBA] },
        { client_id: BOUND_SECRET_CLIENT.id, client_secret: BOUND_SECRET_CLIENT.secret, token_endpoint_auth_method: 'client_secret_post', tls_client_certificate_bound_access_tokens: true, grant_types: [CIBA] },
        { client_id: REMOTE_KEYS_CLIENT, token_endpoint_auth_method: 'self_signed_tls_client_auth', jwks_uri: `${peer.origin}/jwks`, grant_types: [CIBA] },
        { client_id: THROTTLED_CLIENT, token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_dns: 'rp-san.example.com', grant_types: [CIBA] },
      ],
    });
    const deps = bootstrapDeps(op);
    expect((await loadBootstrap(data, deps)).clients).toEqual({ written: 6, unchanged: 0 });
    // Idempotent: the clients without secrets keep their stored (unusable) hash.
    expect((await loadBootstrap(data, deps)).clients).toEqual({ written: 0, unchanged: 6 });
  }, 60_000);

  afterAll(async () => {
    await op?.close();
    await peer?.close();
    caFile?.remove();
    await proxy.close();
  });

  it('RFC 8705 §2.1 tls_client_auth by subject DN authenticates at bc-authorize and at the token endpoint', async () => {
    const started = await bcAuthorize(DN_CLIENT, dnCert);
    expect(started.status).toBe(200);
    const polled = await post('/token', { client_id: DN_CLIENT, grant_type: CIBA, auth_req_id: String(started.body['auth_req_id']) }, { cert: dnCert });
    expect(outcome(polled)).toEqual({ status: 400, body: expect.objectContaining({ error: 'authorization_pending' }) });
  });

  it('RFC 8705 §2.1 tls_client_auth by SAN dNSName, and the certificate forwarded as base64 DER is refused when the proxy is set for PEM', async () => {
    expect((await bcAuthorize(SAN_CLIENT, sanCert)).status).toBe(200);
    expect(outcome(await bcAuthorize(SAN_CLIENT, forwardedCertificateHeader(sanCert, 'base64-der')))).toEqual(REFUSED);
  });

  it('RFC 8705 §2.2 self_signed_tls_client_auth: the registered certificate authenticates, another with the same subject does not', async () => {
    expect((await bcAuthorize(SELF_SIGNED_CLIENT, selfSigned)).status).toBe(200);
    expect(outcome(await bcAuthorize(SELF_SIGNED_CLIENT, selfSignedImpostor))).toEqual(REFUSED);
  });

  it('RFC 8705 §2.2 self_signed_tls_client_auth with jwks_uri: fetched once, fetched again for a rotated certificate at most once per interval', async () => {
    expect((await bcAuthorize(REMOTE_KEYS_CLIENT, remoteSelfSigned)).status).toBe(200);
    expect((await bcAuthorize(REMOTE_KEYS_CLIENT, remoteSelfSigned)).status).toBe(200);
    expect(peer.requests.filter((r) => r.url === '/jwks')).toHaveLength(1);
    published = [remoteSelfSigned, remoteRotated];
    // Within the interval the rotation is not seen yet, and unknown certificates fetch nothing.
    expect(outcome(await bcAuthorize(REMOTE_KEYS_CLIENT, remoteRotated))).toEqual(REFUSED);
    expect(peer.requests.filter((r) => r.url === '/jwks')).toHaveLength(1);
    op.clock.advance(61);
    expect((await bcAuthorize(REMOTE_KEYS_CLIENT, remoteRotated)).status).toBe(200);
    expect(peer.requests.filter((r) => r.url === '/jwks')).toHaveLength(2);
    expect(outcome(await bcAuthorize(REMOTE_KEYS_CLIENT, selfSigned))).toEqual(REFUSED);
  });

  it('RFC 8705 §2.1 with the proxy verify header configured, tls_client_auth needs a chain the proxy verified (SUCCESS)', async () => {
    const params = { client_id: DN_CLIENT, scope: 'openid', login_hint: 'alice' };
    expect(outcome(await post('/bc-authorize', params, { cert: dnCert, headers: { [VERIFY_HEADER]: 'FAILED:unable to get local issuer certificate' } }))).toEqual(REFUSED);
    expect(outcome(await post('/bc-authorize', params, { cert: dnCert, headers: { [VERIFY_HEADER]: 'NONE' } }))).toEqual(REFUSED);
    expect((await post('/bc-authorize', params, { cert: dnCert, headers: { [VERIFY_HEADER]: 'SUCCESS' } })).status).toBe(200);
  });

  it('RFC 8705 §2 failed certificate authentication is throttled like any other: 429 once the client used up its failures, even with the right certificate', async () => {
    for (let i = 0; i < FAILURE_LIMIT; i++) expect(outcome(await bcAuthorize(THROTTLED_CLIENT, intruder))).toEqual(REFUSED);
    const throttled = await bcAuthorize(THROTTLED_CLIENT, sanCert);
    expect(throttled.status).toBe(429);
    expect(throttled.body['error']).toBe('invalid_client');
    expect(throttled.headers.get('retry-after')).toMatch(/^[0-9]+$/);
  });

  it('RFC 8705 §2 refuses the certificate of another client, a certificate naming nobody registered, and no certificate at all', async () => {
    expect(outcome(await bcAuthorize(DN_CLIENT, sanCert))).toEqual(REFUSED);
    expect(outcome(await bcAuthorize(SAN_CLIENT, dnCert))).toEqual(REFUSED);
    expect(outcome(await bcAuthorize(DN_CLIENT, intruder))).toEqual(REFUSED);
    expect(outcome(await bcAuthorize(SELF_SIGNED_CLIENT, dnCert))).toEqual(REFUSED);
    expect(outcome(await bcAuthorize(DN_CLIENT))).toEqual(REFUSED);
  });

  it('RFC 8705 §2 a certificate header from an address that is not a trusted proxy does not authenticate', async () => {
    const direct = await post('/bc-authorize', { client_id: DN_CLIENT, scope: 'openid', login_hint: 'alice' }, { cert: dnCert, direct: true, headers: { 'x-forwarded-for': PROXY_ADDRESS } });
    expect(outcome(direct)).toEqual(REFUSED);
  });

  it('RFC 8705 §2 refuses a malformed, oversized or repeated certificate header with invalid_client, never a 500', async () => {
    expect(outcome(await bcAuthorize(DN_CLIENT, 'not-a-certificate'))).toEqual(REFUSED);
    expect(outcome(await bcAuthorize(DN_CLIENT, '%E0%A4%A'))).toEqual(REFUSED);
    expect(outcome(await bcAuthorize(DN_CLIENT, 'A'.repeat(13_000)))).toEqual(REFUSED);
    const pem = forwardedCertificateHeader(dnCert, 'url-encoded-pem');
    const twice = await undiciFetch(`${op.url}/bc-authorize`, {
      method: 'POST',
      headers: [['content-type', 'application/x-www-form-urlencoded'], [CERT_HEADER, pem], [CERT_HEADER, pem]],
      body: new URLSearchParams({ client_id: DN_CLIENT, scope: 'openid', login_hint: 'alice' }).toString(),
      dispatcher: proxy,
    });
    expect({ status: twice.status, body: await twice.json() }).toEqual(REFUSED);
  });

  it('RFC 8705 §2 the methods do not mix: a certificate client cannot use a secret, a secret client cannot use a certificate', async () => {
    expect(outcome(await bcAuthorize(DN_CLIENT, dnCert, { client_secret: 'guess-a-secret' }))).toEqual(REFUSED);
    expect(outcome(await bcAuthorize('console-basic', dnCert))).toEqual(REFUSED);
  });

  it('RFC 8705 §3.3 / §2 discovery advertises both methods and certificate-bound access tokens', async () => {
    const metadata = (await (await fetch(`${op.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(metadata['token_endpoint_auth_methods_supported']).toEqual(expect.arrayContaining(['tls_client_auth', 'self_signed_tls_client_auth']));
    expect(metadata['tls_client_certificate_bound_access_tokens']).toBe(true);
  });

  it('RFC 8705 §3.1 the access token carries cnf.x5t#S256 of the certificate; introspection (RFC 7662) returns it', async () => {
    const tokens = await approvedTokens(DN_CLIENT, dnCert);
    expect(tokens.status).toBe(200);
    expect(tokens.body['token_type']).toBe('Bearer');
    const accessToken = String(tokens.body['access_token']);
    expect(decodeJwt(accessToken)['cnf']).toEqual({ 'x5t#S256': dnCert.thumbprint });
    const introspected = await post('/token/introspect', { client_id: DN_CLIENT, token: accessToken }, { cert: dnCert });
    expect(introspected.body).toMatchObject({ active: true, cnf: { 'x5t#S256': dnCert.thumbprint } });
    expect((await userinfo(accessToken, { cert: dnCert })).status).toBe(200);
    // RFC 7009 revocation authenticates the client the same way: another certificate is refused, the client's own revokes.
    expect(outcome(await post('/token/revoke', { client_id: DN_CLIENT, token: accessToken }, { cert: intruder }))).toEqual(REFUSED);
    expect(outcome(await post('/token/introspect', { client_id: DN_CLIENT, token: accessToken }))).toEqual(REFUSED);
    expect((await post('/token/introspect', { client_id: DN_CLIENT, token: accessToken }, { cert: dnCert })).body['active']).toBe(true);
    expect((await post('/token/revoke', { client_id: DN_CLIENT, token: accessToken }, { cert: dnCert })).status).toBe(200);
    expect((await post('/token/introspect', { client_id: DN_CLIENT, token: accessToken }, { cert: dnCert })).body).toEqual({ active: false });
  }, 30_000);

  it('RFC 8705 §3 a bound access token is refused at UserInfo with another certificate, without one, and from an untrusted address', async () => {
    const tokens = await approvedTokens(DN_CLIENT, dnCert);
    const accessToken = String(tokens.body['access_token']);
    for (const attempt of [userinfo(accessToken, { cert: intruder }), userinfo(accessToken), userinfo(accessToken, { cert: dnCert, direct: true })]) {
      const answer = await attempt;
      expect(answer.status).toBe(401);
      expect(answer.challenge).toContain('error="invalid_token"');
    }
  }, 30_000);

  it('RFC 8705 §3 a client registered for bound tokens gets none without a certificate, whatever its authentication', async () => {
    const auth = { client_id: BOUND_SECRET_CLIENT.id, client_secret: BOUND_SECRET_CLIENT.secret };
    const started = await post('/bc-authorize', { ...auth, scope: 'openid', login_hint: 'alice' });
    expect(started.status).toBe(200);
    const withoutCertificate = await post('/token', { ...auth, grant_type: CIBA, auth_req_id: String(started.body['auth_req_id']) });
    expect(outcome(withoutCertificate)).toEqual({ status: 400, body: expect.objectContaining({ error: 'invalid_grant' }) });
    const tokens = await approvedTokens(BOUND_SECRET_CLIENT.id, sanCert, auth);
    expect(decodeJwt(String(tokens.body['access_token']))['cnf']).toEqual({ 'x5t#S256': sanCert.thumbprint });
  }, 30_000);

  it('RFC 8705 §3 a client not registered for bound tokens gets a plain bearer token even when it presents a certificate', async () => {
    const tokens = await approvedTokens(SAN_CLIENT, sanCert);
    expect(tokens.status).toBe(200);
    expect(decodeJwt(String(tokens.body['access_token']))['cnf']).toBeUndefined();
  }, 30_000);
});
