import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type JSONWebKeySet, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { parseBootstrap } from '@ciba/config';
import { TypeOrmClientRepository, TypeOrmUserRepository } from '@ciba/persistence';
import { loadBootstrap, notificationEndpointPolicy } from '@ciba/platform';
import { SecretHasher } from '@ciba/tokens';
import { CIBA, CLIENTS, type TestClient, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

/** Clients registered for RS256 ID tokens (OpenID Connect Dynamic Client Registration 1.0 §2), one per delivery mode. */
const RS = {
  poll: { id: 'rs256-poll', secret: 'rs256-poll-secret', method: 'basic' },
  ping: { id: 'rs256-ping', secret: 'rs256-ping-secret', method: 'basic' },
  push: { id: 'rs256-push', secret: 'rs256-push-secret', method: 'basic' },
} as const satisfies Record<string, TestClient>;

describe('signing algorithms: ES256 by default, RS256 beside it', () => {
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider();
    const cb = `${op.receiver.origin}/cb`;
    const common = { grant_types: [CIBA, 'refresh_token'], scope: 'openid profile offline_access', id_token_signed_response_alg: 'RS256' };
    const data = parseBootstrap({
      clients: [
        { client_id: RS.poll.id, client_secret: RS.poll.secret, ...common },
        { client_id: RS.ping.id, client_secret: RS.ping.secret, ...common, backchannel_token_delivery_mode: 'ping', backchannel_client_notification_endpoint: cb },
        { client_id: RS.push.id, client_secret: RS.push.secret, ...common, backchannel_token_delivery_mode: 'push', backchannel_client_notification_endpoint: cb },
      ],
    });
    await loadBootstrap(data, {
      clients: new TypeOrmClientRepository(op.db.dataSource),
      users: new TypeOrmUserRepository(op.db.dataSource),
      hasher: new SecretHasher(),
      signingAlgs: op.config.keys.signingAlgs,
      endpoints: notificationEndpointPolicy(op.config),
    });
  });
  afterAll(async () => {
    await op.close();
  });

  /** openid-client v6 as the relying party, validating ID token signatures against the JWKS. */
  const relyingParty = (client: TestClient, metadata: Partial<oidc.ClientMetadata> = {}) =>
    oidc.discovery(new URL(op.url), client.id, metadata, oidc.ClientSecretBasic(client.secret), {
      execute: [oidc.allowInsecureRequests, oidc.enableNonRepudiationChecks],
    });
  const jwks = async () => createLocalJWKSet((await (await fetch(`${op.url}/jwks`)).json()) as JSONWebKeySet);

  /** bc-authorize for alice as `client`, approved on the device. */
  async function approved(client: TestClient, extra: Record<string, string> = {}): Promise<string> {
    const message = uniqueMessage(client.id);
    const { authReqId } = await op.authorize({ scope: 'openid profile offline_access', binding_message: message, ...extra }, client);
    const { decisionToken } = await op.notification((b) => b['binding_message'] === message);
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    return authReqId;
  }

  it('OIDC Discovery §3: RS256 is listed and a client registered for RS256 gets RS256 ID tokens', async () => {
    const config = await relyingParty(RS.poll, { id_token_signed_response_alg: 'RS256' });
    expect(config.serverMetadata().id_token_signing_alg_values_supported).toEqual(['ES256', 'RS256']);

    const message = uniqueMessage('rs256');
    const started = await oidc.initiateBackchannelAuthentication(config, { scope: 'openid profile offline_access', login_hint: 'alice', binding_message: message });
    const { decisionToken } = await op.notification((b) => b['binding_message'] === message);
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    // openid-client checks the ID token's alg against the registration and its signature against the JWKS.
    const tokens = await oidc.pollBackchannelAuthenticationGrant(config, started);
    expect(tokens.claims()?.sub).toBe('alice');
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('RS256');
    // Access tokens keep the default algorithm.
    expect(decodeProtectedHeader(tokens.access_token).alg).toBe('ES256');

    // A refreshed ID token is RS256 too.
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.claims()?.sub).toBe('alice');
    expect(decodeProtectedHeader(refreshed.id_token!).alg).toBe('RS256');

    // CIBA §7.1: an RS256 ID token this provider issued is a valid id_token_hint.
    const hinted = await op.form('/bc-authorize', { scope: 'openid', id_token_hint: tokens.id_token!, binding_message: uniqueMessage('hint') }, RS.poll);
    expect(hinted.status).toBe(200);
  }, 30_000);

  it('a client that registered no algorithm keeps getting ES256 ID tokens, which openid-client accepts from discovery', async () => {
    const config = await relyingParty(CLIENTS.basic);
    const message = uniqueMessage('es256');
    const started = await oidc.initiateBackchannelAuthentication(config, { scope: 'openid', login_hint: 'alice', binding_message: message });
    const { decisionToken } = await op.notification((b) => b['binding_message'] === message);
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    const tokens = await oidc.pollBackchannelAuthenticationGrant(config, started);
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('ES256');
  }, 30_000);

  it('§10.2 ping: the token endpoint answers an RS256 client with an RS256 ID token', async () => {
    const authReqId = await approved(RS.ping, { client_notification_token: `cnt-${randomBytes(12).toString('base64url')}` });
    await op.receiver.waitFor(authReqId);
    const res = await op.form('/token', { grant_type: CIBA, auth_req_id: authReqId }, RS.ping);
    expect(res.status).toBe(200);
    const { protectedHeader } = await jwtVerify(String(res.body['id_token']), await jwks(), { issuer: op.url, audience: RS.ping.id, algorithms: ['RS256'] });
    expect(protectedHeader.alg).toBe('RS256');
  }, 30_000);

  it('§10.3 push: the pushed ID token of an RS256 client is RS256, its at_hash over the pushed access token', async () => {
    const authReqId = await approved(RS.push, { client_notification_token: `cnt-${randomBytes(12).toString('base64url')}` });
    const [callback] = await op.receiver.waitFor(authReqId);
    const { payload, protectedHeader } = await jwtVerify(String(callback.body['id_token']), await jwks(), { issuer: op.url, audience: RS.push.id, algorithms: ['RS256'] });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload['urn:openid:params:jwt:claim:auth_req_id']).toBe(authReqId);
    const accessToken = String(callback.body['access_token']);
    expect(decodeProtectedHeader(accessToken).alg).toBe('ES256');
    // OIDC Core §3.1.3.6: the hash of the ID token's own algorithm (RS256: SHA-256).
    expect(payload['at_hash']).toBe(createHash('sha256').update(accessToken, 'ascii').digest().subarray(0, 16).toString('base64url'));
  }, 30_000);
});
