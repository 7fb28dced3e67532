import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT, createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { parseBootstrap } from '@ciba/config';
import { configuredSectorIdentifierDocuments, loadBootstrap } from '@ciba/platform';
import { type HttpsPeer, replyJson, selfSignedCert, startHttpsPeer, temporaryFile } from '@ciba/testing';
import { KeyStore, PairwiseSubjects } from '@ciba/tokens';
import { CIBA, bootstrapDeps, CLIENTS, type TestClient, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

/** A pairwise poll client: bound to no host, so a sector of its own (`client:pw-poll`). */
const PW_POLL = { id: 'pw-poll', secret: 'pw-poll-secret', method: 'basic' } as unknown as TestClient;
/** A second pairwise poll client: another sector of its own. */
const PW_OTHER = { id: 'pw-other', secret: 'pw-other-secret', method: 'basic' } as unknown as TestClient;
/** A pairwise push client: its notification endpoint's host (127.0.0.1) is its sector. */
const PW_PUSH = { id: 'pw-push', secret: 'pw-push-secret', method: 'basic' } as unknown as TestClient;
/** Another pairwise push client on the same host: the same sector as PW_PUSH. */
const PW_PUSH_TWIN = { id: 'pw-push-twin', secret: 'pw-push-twin-secret', method: 'basic' } as unknown as TestClient;
/** A pairwise push client with a sector_identifier_uri on `localhost`: that host is its sector. */
const PW_SECTOR = { id: 'pw-sector', secret: 'pw-sector-secret', method: 'basic' } as unknown as TestClient;

describe('pairwise subject identifiers (OpenID Connect Core §8.1)', () => {
  let op: TestProvider;
  let peer: HttpsPeer;
  let caFile: { path: string; remove(): void };
  let pairwise: PairwiseSubjects;
  let sectorDocument: unknown;
  const sectorUri = () => `https://localhost:${new URL(peer.origin).port}/sector.json`;

  const deps = () => bootstrapDeps(op, { sectorDocuments: configuredSectorIdentifierDocuments(op.config) });
  const pushClient = (id: string, secret: string, extra: Record<string, unknown> = {}) => ({
    client_id: id,
    client_secret: secret,
    grant_types: [CIBA, 'refresh_token'],
    scope: 'openid profile email offline_access',
    backchannel_token_delivery_mode: 'push',
    backchannel_client_notification_endpoint: `${op.receiver.origin}/cb`,
    subject_type: 'pairwise',
    ...extra,
  });

  beforeAll(async () => {
    const tls = selfSignedCert();
    caFile = temporaryFile('ca.pem', tls.cert);
    peer = await startHttpsPeer(tls, (req, res) => {
      if (req.url === '/sector.json') replyJson(res, 200, sectorDocument);
      else if (req.url === '/moved.json') replyJson(res, 302, [], { location: '/sector.json' });
      else replyJson(res, 404, {});
    });
    op = await startTestProvider({ CIBA_CALLBACK_CA_FILE: caFile.path });
    pairwise = new PairwiseSubjects(op.config.keys.encryptionKey);
    sectorDocument = [`${op.receiver.origin}/cb`];
    await loadBootstrap(
      parseBootstrap({
        clients: [
          { client_id: PW_POLL.id, client_secret: PW_POLL.secret, grant_types: [CIBA, 'refresh_token'], scope: 'openid profile email offline_access', subject_type: 'pairwise' },
          { client_id: PW_OTHER.id, client_secret: PW_OTHER.secret, grant_types: [CIBA], scope: 'openid profile', subject_type: 'pairwise' },
          pushClient(PW_PUSH.id, PW_PUSH.secret),
          pushClient(PW_PUSH_TWIN.id, PW_PUSH_TWIN.secret, { backchannel_client_notification_endpoint: `${op.receiver.origin}/twin/cb` }),
          pushClient(PW_SECTOR.id, PW_SECTOR.secret, { sector_identifier_uri: sectorUri() }),
        ],
      }),
      deps(),
    );
  }, 60_000);
  afterAll(async () => {
    await op?.close();
    await peer?.close();
    caFile?.remove();
  });

  /** A poll flow for alice: bc-authorize, the device approves, the client redeems. */
  async function pollTokens(client: TestClient, params: Record<string, string> = {}): Promise<Record<string, unknown>> {
    const message = uniqueMessage('pairwise');
    const { authReqId } = await op.authorize({ scope: 'openid profile email offline_access', binding_message: message, ...params }, client);
    const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    const res = await op.token(authReqId, client);
    expect(res.status).toBe(200);
    return res.body;
  }

  /** A push flow for alice: the tokens as delivered to the notification endpoint. */
  async function pushTokens(client: TestClient): Promise<Record<string, unknown>> {
    const message = uniqueMessage('pairwise-push');
    const { authReqId } = await op.authorize({ scope: 'openid profile', binding_message: message, client_notification_token: randomBytes(16).toString('base64url') }, client);
    const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    const [callback] = await op.receiver.waitFor(authReqId);
    return callback.body;
  }

  const subOf = (token: unknown) => decodeJwt(String(token)).sub;
  const userInfo = async (accessToken: unknown) => {
    const res = await fetch(`${op.url}/userinfo`, { headers: { authorization: `Bearer ${String(accessToken)}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  /** An ID token the provider's own key signs, for `client`, naming `sub`: what only the provider could make. */
  async function providerSignedIdToken(clientId: string, sub: string): Promise<string> {
    const { kid, alg, key } = op.app.get(KeyStore).signingKey();
    return new SignJWT({ auth_time: Math.floor(Date.now() / 1000) })
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .setIssuer(op.config.issuer)
      .setSubject(sub)
      .setAudience(clientId)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key);
  }

  it('OpenID Connect Core §8.1 a pairwise poll client gets its sector’s sub in the ID token and the access token; a public client the user’s own', async () => {
    const tokens = await pollTokens(PW_POLL);
    const expected = pairwise.subject('client:pw-poll', 'alice');
    expect(subOf(tokens['id_token'])).toBe(expected);
    expect(subOf(tokens['access_token'])).toBe(expected);
    const jwks = createLocalJWKSet((await (await fetch(`${op.url}/jwks`)).json()) as { keys: [] });
    await expect(jwtVerify(String(tokens['id_token']), jwks, { issuer: op.config.issuer, audience: PW_POLL.id })).resolves.toBeDefined();
    const publicTokens = await pollTokens(CLIENTS.basic);
    expect(subOf(publicTokens['id_token'])).toBe('alice');
    expect(subOf(publicTokens['access_token'])).toBe('alice');
  });

  it('OpenID Connect Core §17.3 two pairwise clients of different sectors get different subs for the same user', async () => {
    const a = subOf((await pollTokens(PW_POLL))['id_token']);
    const b = subOf((await pollTokens(PW_OTHER, { scope: 'openid profile' }))['id_token']);
    expect(a).not.toBe(b);
    expect([a, b]).not.toContain('alice');
  });

  it('OpenID Connect Core §8.1 the mapping is recorded at issuance, once, keyed by sector', async () => {
    await pollTokens(PW_POLL);
    const rows = await op.db.dataSource.query<{ sector_identifier: string; pairwise_sub: string; sub: string }[]>(
      `SELECT sector_identifier, pairwise_sub, sub FROM pairwise_subjects WHERE sector_identifier = $1`,
      ['client:pw-poll'],
    );
    expect(rows).toEqual([{ sector_identifier: 'client:pw-poll', pairwise_sub: pairwise.subject('client:pw-poll', 'alice'), sub: 'alice' }]);
  });

  it('OpenID Connect Core §5.3 UserInfo answers the pairwise sub with the user’s claims', async () => {
    const tokens = await pollTokens(PW_POLL);
    const info = await userInfo(tokens['access_token']);
    expect(info).toEqual({ status: 200, body: { sub: pairwise.subject('client:pw-poll', 'alice'), name: 'Alice Example', email: 'alice@example.com', email_verified: true } });
  });

  it('OpenID Connect Core §8.1 refreshed tokens keep the pairwise sub; introspection shows it for access and refresh tokens', async () => {
    const tokens = await pollTokens(PW_POLL);
    const expected = pairwise.subject('client:pw-poll', 'alice');
    const refreshed = await op.form('/token', { grant_type: 'refresh_token', refresh_token: String(tokens['refresh_token']) }, PW_POLL);
    expect(refreshed.status).toBe(200);
    expect(subOf(refreshed.body['id_token'])).toBe(expected);
    expect(subOf(refreshed.body['access_token'])).toBe(expected);
    const stored = await op.db.dataSource.query<{ subject: string }[]>(`SELECT subject FROM refresh_tokens WHERE client_id = $1`, [PW_POLL.id]);
    expect(new Set(stored.map((row) => row.subject))).toEqual(new Set(['alice']));
    for (const token of [refreshed.body['access_token'], refreshed.body['refresh_token']]) {
      const introspected = await op.form('/token/introspect', { token: String(token) }, PW_POLL);
      expect(introspected.body).toMatchObject({ active: true, sub: expected });
    }
  });

  it('OpenID Connect Core §8.1 a push client’s tokens carry the sub of its notification endpoint’s host', async () => {
    const delivered = await pushTokens(PW_PUSH);
    expect(subOf(delivered['id_token'])).toBe(pairwise.subject('127.0.0.1', 'alice'));
    expect(subOf(delivered['access_token'])).toBe(pairwise.subject('127.0.0.1', 'alice'));
    expect((await userInfo(delivered['access_token'])).body['sub']).toBe(pairwise.subject('127.0.0.1', 'alice'));
  });

  it('OpenID Connect Core §8.1 two clients of one sector see the same sub', async () => {
    const [one, twin] = [await pushTokens(PW_PUSH), await pushTokens(PW_PUSH_TWIN)];
    expect(subOf(twin['id_token'])).toBe(subOf(one['id_token']));
  });

  it('OpenID Connect Core §8.1 a registered sector_identifier_uri makes its host the sector', async () => {
    const delivered = await pushTokens(PW_SECTOR);
    expect(subOf(delivered['id_token'])).toBe(pairwise.subject('localhost', 'alice'));
    expect(peer.requests.filter((r) => r.url === '/sector.json').length).toBeGreaterThanOrEqual(1);
  });

  it('CIBA §7.1 / OpenID Connect Core §8.1 a pairwise ID token as id_token_hint starts a request for the same user', async () => {
    const tokens = await pollTokens(PW_POLL);
    const res = await op.form('/bc-authorize', { scope: 'openid', id_token_hint: String(tokens['id_token']), binding_message: uniqueMessage('hint') }, PW_POLL);
    expect(res.status).toBe(200);
    const stored = await op.db.dataSource.query<{ subject: string; hint_type: string }[]>(
      `SELECT subject, hint_type FROM auth_requests WHERE client_id = $1 ORDER BY created_at DESC LIMIT 1`,
      [PW_POLL.id],
    );
    expect(stored[0]).toEqual({ subject: 'alice', hint_type: 'id_token_hint' });
  });

  it('OpenID Connect Core §17.3 a pairwise sub of another sector, in an ID token the provider signed, names nobody', async () => {
    await pollTokens(PW_OTHER, { scope: 'openid profile' });
    // The other sector's identifier of alice, recorded, but presented by a client of another sector.
    const forged = await providerSignedIdToken(PW_POLL.id, pairwise.subject('client:pw-other', 'alice'));
    const res = await op.form('/bc-authorize', { scope: 'openid', id_token_hint: forged }, PW_POLL);
    expect({ status: res.status, error: res.body['error'] }).toEqual({ status: 400, error: 'unknown_user_id' });
    // Nor does the user's own sub, which a pairwise client is never given.
    const local = await op.form('/bc-authorize', { scope: 'openid', id_token_hint: await providerSignedIdToken(PW_POLL.id, 'alice') }, PW_POLL);
    expect({ status: local.status, error: local.body['error'] }).toEqual({ status: 400, error: 'unknown_user_id' });
  });

  it('OpenID Connect Core §17.3 another client’s pairwise ID token is refused as a hint (aud)', async () => {
    const tokens = await pollTokens(PW_POLL);
    const res = await op.form('/bc-authorize', { scope: 'openid', id_token_hint: String(tokens['id_token']) }, PW_OTHER);
    expect({ status: res.status, error: res.body['error'] }).toEqual({ status: 400, error: 'invalid_request' });
  });

  it('OpenID Connect Core §17.3 UserInfo refuses an access token whose pairwise sub was never issued in the client’s sector', async () => {
    const { kid, alg, key } = op.app.get(KeyStore).signingKey();
    const forged = await new SignJWT({ client_id: PW_POLL.id, scope: 'openid profile' })
      .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
      .setIssuer(op.config.issuer)
      .setSubject(pairwise.subject('client:pw-other', 'alice'))
      .setAudience(op.config.issuer)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key);
    const info = await userInfo(forged);
    expect(info).toEqual({ status: 401, body: { error: 'invalid_token', error_description: 'the end-user of the access token no longer exists' } });
  });

  it('OpenID Connect Core §8.1 the device API knows the user from a pairwise client’s ID token, and nobody from another sector’s sub', async () => {
    const tokens = await pollTokens(PW_POLL);
    const devices = (idToken: string) =>
      fetch(`${op.url}/ext/ciba/devices`, {
        headers: { authorization: `Basic ${Buffer.from(`${PW_POLL.id}:${PW_POLL.secret}`).toString('base64')}`, 'id-token-hint': idToken },
      });
    const own = await devices(String(tokens['id_token']));
    expect({ status: own.status, body: await own.json() }).toEqual({ status: 200, body: { devices: [] } });
    const foreign = await devices(await providerSignedIdToken(PW_POLL.id, pairwise.subject('client:pw-other', 'alice')));
    expect({ status: foreign.status, error: ((await foreign.json()) as Record<string, unknown>)['error'] }).toEqual({ status: 400, error: 'invalid_request' });
  });

  describe('registration (bootstrap)', () => {
    const load = (client: Record<string, unknown>) => loadBootstrap(parseBootstrap({ clients: [client] }), deps());

    it('OpenID Connect Core §8.1 refuses a sector_identifier_uri document that does not list the client’s notification endpoint', async () => {
      sectorDocument = ['https://elsewhere.example/cb'];
      await expect(load(pushClient('pw-unlisted', 'pw-unlisted-secret', { sector_identifier_uri: sectorUri() }))).rejects.toThrow(
        /pw-unlisted: sector_identifier_uri the sector_identifier_uri document does not list the client's backchannel_client_notification_endpoint/,
      );
    });

    it('OpenID Connect Core §8.1 refuses a document that is not a JSON array, and one that cannot be fetched', async () => {
      sectorDocument = { redirect_uris: [`${op.receiver.origin}/cb`] };
      await expect(load(pushClient('pw-object', 'pw-object-secret', { sector_identifier_uri: sectorUri() }))).rejects.toThrow(/not a JSON array/);
      await expect(load(pushClient('pw-missing', 'pw-missing-secret', { sector_identifier_uri: `https://localhost:${new URL(peer.origin).port}/nothing.json` }))).rejects.toThrow(
        /could not be fetched \(status_404\)/,
      );
    });

    it('OpenID Connect Core §8.1 refuses an oversized document, and does not follow a redirect', async () => {
      sectorDocument = [`${op.receiver.origin}/cb`, ...Array.from({ length: 80 }, (_, i) => `https://h${i}.example/${'x'.repeat(1000)}`)];
      await expect(load(pushClient('pw-huge', 'pw-huge-secret', { sector_identifier_uri: sectorUri() }))).rejects.toThrow(/could not be fetched \(too_large\)/);
      sectorDocument = [`${op.receiver.origin}/cb`];
      await expect(load(pushClient('pw-moved', 'pw-moved-secret', { sector_identifier_uri: `https://localhost:${new URL(peer.origin).port}/moved.json` }))).rejects.toThrow(
        /could not be fetched \(status_302\)/,
      );
    });

    it('OpenID Connect Core §8.1 refuses a sector_identifier_uri on a private address (the outbound policy)', async () => {
      await expect(load(pushClient('pw-ssrf', 'pw-ssrf-secret', { sector_identifier_uri: 'https://10.0.0.1/sector.json' }))).rejects.toThrow(/pw-ssrf: sector_identifier_uri could not be fetched/);
    });

    it('OpenID Connect Core §17.3 refuses a sector_identifier_uri from a client no URI binds to it (a poll client could name any sector)', () => {
      expect(() =>
        parseBootstrap({ clients: [{ client_id: 'pw-claim', client_secret: 'pw-claim-secret', subject_type: 'pairwise', sector_identifier_uri: sectorUri() }] }),
      ).toThrow(/binds the client to the sector/);
    });

    it('OpenID Connect Core §8 subject_type defaults to public and is stored', async () => {
      const rows = await op.db.dataSource.query<{ client_id: string; subject_type: string; sector_identifier_uri: string | null }[]>(
        `SELECT client_id, subject_type, sector_identifier_uri FROM clients WHERE client_id IN ($1, $2, $3) ORDER BY client_id`,
        [CLIENTS.basic.id, PW_POLL.id, PW_SECTOR.id],
      );
      expect(rows).toEqual([
        { client_id: CLIENTS.basic.id, subject_type: 'public', sector_identifier_uri: null },
        { client_id: PW_POLL.id, subject_type: 'pairwise', sector_identifier_uri: null },
        { client_id: PW_SECTOR.id, subject_type: 'pairwise', sector_identifier_uri: sectorUri() },
      ]);
    });
  });
});
