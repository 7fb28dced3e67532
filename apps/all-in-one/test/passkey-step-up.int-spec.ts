import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { parseBootstrap } from '@ciba/config';
import type { AuthRequestRepository, DecisionTokenRepository } from '@ciba/domain';
import { TypeOrmClientRepository, TypeOrmUserRepository } from '@ciba/persistence';
import { AUTH_REQUEST_REPOSITORY, DECISION_TOKEN_REPOSITORY, loadBootstrap, notificationEndpointPolicy } from '@ciba/platform';
import { DecisionTokens, HTTP_CHANNEL } from '@ciba/service-notifier';
import { SmtpPeer, approvalCsrfOf, approvalLinkIn, freePort, mailParts, smtpEnvironment, waitFor, requestIdIn } from '@ciba/testing';
import { SecretHasher } from '@ciba/tokens';
import { requestWithLink } from './approval-page.harness.js';
import { emailedEnrolLink, enrolCsrfOf, postToEnrolLink } from './device-registration.harness.js';
import { CIBA, type TestClient, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';
import { type AssertionTweaks, SoftwareAuthenticator, type WebAuthnOptions } from './software-authenticator.js';

/** A client whose registration asks every request (without acr_values) for phishing-resistant authentication. */
const STRICT: TestClient = { id: 'strict-client', secret: 'strict-client-secret', method: 'basic' };
const PASSKEY_AMR = ['pop', 'user', 'mfa'];

interface Page {
  readonly status: number;
  readonly html: string;
  readonly csp: string;
  /** `ciba_approval_csrf=…` for the POST, and the form's csrf field. */
  readonly cookie: string;
  readonly csrf: string;
}

const unescapeHtml = (value: string): string =>
  value.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** The WebAuthn options a page hands its script in `attribute`. */
function optionsIn(html: string, attribute: string): WebAuthnOptions {
  const raw = new RegExp(`${attribute}="([^"]*)"`).exec(html)?.[1];
  if (raw === undefined) throw new Error(`the page has no ${attribute}`);
  return JSON.parse(unescapeHtml(raw)) as WebAuthnOptions;
}

describe('passkey step-up (acr_values, default_acr_values) on the approval page', () => {
  let op: TestProvider;
  let smtp: SmtpPeer;
  let origin: string;
  const authenticator = new SoftwareAuthenticator();

  beforeAll(async () => {
    smtp = await SmtpPeer.start();
    // WebAuthn RP IDs are host names, never IP addresses: the notifier runs on localhost here.
    const port = await freePort();
    op = await startTestProvider({ CIBA_PORT: String(port), CIBA_ISSUER: `http://localhost:${port}`, ...smtpEnvironment(smtp) });
    origin = new URL(op.config.publicUrls.notifier).origin;
    const strict = parseBootstrap({
      clients: [{ client_id: STRICT.id, client_secret: STRICT.secret, client_name: 'Strict Bank', grant_types: [CIBA], scope: 'openid profile', default_acr_values: ['phr'] }],
    });
    await loadBootstrap(strict, {
      clients: new TypeOrmClientRepository(op.db.dataSource),
      users: new TypeOrmUserRepository(op.db.dataSource),
      hasher: new SecretHasher(),
      signingAlgs: op.config.keys.signingAlgs,
      endpoints: notificationEndpointPolicy(op.config),
    });
  }, 60_000);
  afterAll(async () => {
    await op.close();
    await smtp.close();
  });

  /** bc-authorize for alice; the approval link from the email that reaches her. */
  async function requestByEmail(params: Record<string, string>, client?: TestClient): Promise<{ authReqId: string; link: string }> {
    const message = uniqueMessage('Step-up');
    const { authReqId } = await op.authorize({ binding_message: message, ...params }, client);
    const mail = await smtp.mailTo('alice@example.com', { containing: message });
    return { authReqId, link: approvalLinkIn(mailParts(mail.raw).text ?? '', op.config.publicUrls.notifier) };
  }

  async function open(link: string): Promise<Page> {
    const res = await fetch(link);
    const html = await res.text();
    const { field, cookie } = approvalCsrfOf(html, res.headers.get('set-cookie'));
    return { status: res.status, html, csp: res.headers.get('content-security-policy') ?? '', cookie: `ciba_approval_csrf=${cookie}`, csrf: field };
  }

  async function post(link: string, page: Page, fields: Record<string, string>): Promise<{ status: number; html: string }> {
    const res = await fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: page.cookie, origin },
      body: new URLSearchParams({ csrf: page.csrf, ...fields }),
    });
    return { status: res.status, html: await res.text() };
  }

  /** Opens the link and approves with the authenticator's assertion over the page's own options. */
  async function approveWithPasskey(link: string, tweaks: AssertionTweaks = {}): Promise<{ status: number; html: string }> {
    const page = await open(link);
    const assertion = authenticator.get(optionsIn(page.html, 'data-step-up-options'), origin, tweaks);
    return post(link, page, { decision: 'approve', assertion: JSON.stringify(assertion) });
  }

  async function idTokenClaims(authReqId: string, client?: TestClient): Promise<Record<string, unknown>> {
    const tokens = await op.token(authReqId, client);
    expect(tokens.status).toBe(200);
    return decodeJwt(String(tokens.body['id_token']));
  }

  async function status(authReqId: string): Promise<string> {
    const [row] = await op.db.dataSource.query<{ status: string }[]>('SELECT status FROM auth_requests WHERE id = $1', [requestIdIn(authReqId)]);
    return row.status;
  }

  it('discovery advertises the passkey-level ACRs and the amr claim', async () => {
    const doc = (await (await fetch(`${op.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(doc['acr_values_supported']).toEqual(['phr', 'phrh']);
    expect(doc['claims_supported']).toEqual(expect.arrayContaining(['acr', 'amr']));
  });

  it('a request without a passkey-level ACR is unchanged: the HTTP channel gets it, the page has no script, the ID token no acr', async () => {
    const message = uniqueMessage('Plain');
    const { authReqId } = await op.authorize({ binding_message: message, acr_values: 'urn:example:mfa' });
    const { decisionToken, body } = await op.notification((b) => b['binding_message'] === message);
    expect(body['acr_values']).toBe('urn:example:mfa');
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    const claims = await idTokenClaims(authReqId);
    expect(claims).not.toHaveProperty('acr');
    expect(claims).not.toHaveProperty('amr');
  });

  it('the approval page of a request without step-up has no script and the plain policy', async () => {
    const { authReqId, link } = await requestWithLink(op, { binding_message: uniqueMessage('Plain page') });
    const page = await open(link);
    expect(page.status).toBe(200);
    expect(page.html).not.toMatch(/<script/i);
    expect(page.html).not.toContain('passkey');
    expect(page.csp).not.toContain('script-src');
    expect((await post(link, page, { decision: 'approve' })).status).toBe(200);
    expect(await idTokenClaims(authReqId)).not.toHaveProperty('acr');
  });

  describe('before alice has a passkey', () => {
    it('acr_values=phr: not sent to the HTTP channel; the emailed page says a passkey is needed, offers only Deny, and Deny works', async () => {
      const { authReqId, link } = await requestByEmail({ acr_values: 'phr' });
      expect(op.device.received.some((n) => n.body['acr_values'] === 'phr')).toBe(false);
      const page = await open(link);
      expect(page.status).toBe(200);
      expect(page.html).toContain('This request needs a passkey.');
      expect(page.html).not.toContain('value="approve"');
      expect(page.html).not.toMatch(/<script/i);
      // An Approve posted anyway (no assertion) is refused, and the link still works.
      expect((await post(link, page, { decision: 'approve' })).status).toBe(403);
      expect((await open(link)).status).toBe(200);
      const denied = await post(link, page, { decision: 'deny' });
      expect(denied.status).toBe(200);
      expect(denied.html).toContain('Denied');
      expect((await op.token(authReqId)).body['error']).toBe('access_denied');
    });

    it('the device callback cannot approve a request that needs a passkey, and its token stays unused', async () => {
      const { authReqId } = await requestByEmail({ acr_values: 'phrh' });
      const requestId = requestIdIn(authReqId);
      // As if the request had gone to the HTTP authentication channel before step-up existed.
      const token = op.app.get(DecisionTokens).tokenFor(requestId, HTTP_CHANNEL);
      const request = await op.app.get<symbol, AuthRequestRepository>(AUTH_REQUEST_REPOSITORY).findById(requestId);
      await op.app.get<symbol, DecisionTokenRepository>(DECISION_TOKEN_REPOSITORY).save({ tokenHash: DecisionTokens.hash(token), requestId: requestId, channel: HTTP_CHANNEL, expiresAt: request!.expiresAt });
      const refused = await op.decide(token, 'SUCCEED');
      expect({ status: refused.status, error: refused.body['error'] }).toEqual({ status: 400, error: 'invalid_request' });
      expect(await status(authReqId)).toBe('pending');
      expect((await op.decide(token, 'UNAUTHORIZED')).status).toBe(200);
      expect(await status(authReqId)).toBe('denied');
    });
  });

  describe('adding a passkey through an enrolment link', () => {
    it('registers the passkey without using the link for notifications; the link adds one passkey only', async () => {
      const enrolUrl = await emailedEnrolLink(op, smtp);
      const page = await fetch(enrolUrl);
      const html = await page.text();
      expect(page.status).toBe(200);
      expect(html).toContain('Add a passkey');
      const options = optionsIn(html, 'data-passkey-options');
      expect(options).toMatchObject({
        rp: { id: 'localhost' },
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
        attestation: 'none',
        excludeCredentials: [],
      });
      // The user handle is a keyed hash, never the subject or an address.
      expect(Buffer.from(String(options.user?.id), 'base64url').toString('utf8')).not.toContain('alice');
      const csrf = enrolCsrfOf(html, page.headers.get('set-cookie'));
      const submit = (credential: unknown, headers: Record<string, string> = {}) => postToEnrolLink(`${enrolUrl}/passkey`, csrf, { credential }, { origin, ...headers });

      // Without the CSRF pair: refused.
      expect((await submit(authenticator.create(options, origin), { 'x-csrf-token': 'x'.repeat(43) })).status).toBe(403);
      // From another origin (the ceremony's clientDataJSON says so): refused, and that challenge is gone.
      expect((await submit(authenticator.create(options, 'http://evil.localhost'))).status).toBe(400);
      expect((await submit(authenticator.create(options, origin))).status).toBe(400);

      const fresh = await fetch(enrolUrl, { headers: { cookie: `ciba_enrol_csrf=${csrf.cookie}` } });
      const added = await submit(authenticator.create(optionsIn(await fresh.text(), 'data-passkey-options'), origin));
      expect(added.status).toBe(201);
      expect(((await added.json()) as { message: string }).message).toContain('Your passkey is added');

      const [stored] = await op.db.dataSource.query<{ credential_id: string; sign_count: string; transports: string[] }[]>(
        `SELECT credential_id, sign_count, transports FROM passkeys WHERE subject = 'alice'`,
      );
      expect(stored).toEqual({ credential_id: authenticator.credentialId, sign_count: '0', transports: ['internal'] });
      // The link can still register a device, but no second passkey.
      const after = await (await fetch(enrolUrl)).text();
      expect(after).not.toContain('data-passkey-options');
      const [link] = await op.db.dataSource.query<{ used_at: Date | null }[]>(`SELECT used_at FROM enrolment_tokens WHERE passkey_registered_at IS NOT NULL`);
      expect(link.used_at).toBeNull();
      expect((await submit(authenticator.create(options, origin))).status).toBe(410);
    });
  });

  describe('with alice\'s passkey', () => {
    it('acr_values=phr: the page runs the ceremony with her passkey only, under a nonce\'d script and connect-src self', async () => {
      const { link } = await requestByEmail({ acr_values: 'urn:example:mfa phr' });
      const page = await open(link);
      expect(page.status).toBe(200);
      const nonce = /script-src 'nonce-([^']+)'/.exec(page.csp)?.[1];
      expect(nonce).toBeTruthy();
      expect(page.csp).toContain("connect-src 'self'");
      expect(page.csp).toContain("default-src 'none'");
      expect(page.html).toContain(`<script nonce="${nonce}" src="assets/step-up.js"></script>`);
      expect(page.html).toContain('This request needs your passkey.');
      expect(optionsIn(page.html, 'data-step-up-options')).toMatchObject({
        rpId: 'localhost',
        userVerification: 'required',
        allowCredentials: [{ id: authenticator.credentialId, type: 'public-key', transports: ['internal'] }],
      });
      const script = await fetch(`${origin}/approve/assets/step-up.js`);
      expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
      expect(await script.text()).toContain('navigator.credentials.get');
    });

    it('refuses an Approve without a valid assertion (403) and leaves the link usable, then approves with one: acr phr, amr', async () => {
      const { authReqId, link } = await requestByEmail({ acr_values: 'phr' });
      const page = await open(link);
      const options = optionsIn(page.html, 'data-step-up-options');

      const refusals: [string, Record<string, string>][] = [
        ['no assertion', { decision: 'approve' }],
        ['not JSON', { decision: 'approve', assertion: '{nope' }],
        ['bad signature', { decision: 'approve', assertion: JSON.stringify(authenticator.get(options, origin, { corruptSignature: true })) }],
      ];
      for (const [, fields] of refusals) {
        const refused = await post(link, page, fields);
        expect(refused.status).toBe(403);
        expect(refused.html).toContain('Passkey needed');
      }
      const tweaks: AssertionTweaks[] = [
        { origin: 'https://evil.example' },
        { rpId: 'evil.example' },
        { userVerified: false },
        { challenge: Buffer.from('not the challenge').toString('base64url') },
      ];
      for (const tweak of tweaks) expect((await approveWithPasskey(link, tweak)).status).toBe(403);
      expect(await status(authReqId)).toBe('pending');

      const approved = await approveWithPasskey(link);
      expect(approved.status).toBe(200);
      expect(approved.html).toContain('Approved');
      const claims = await idTokenClaims(authReqId);
      expect(claims['acr']).toBe('phr');
      expect(claims['amr']).toEqual(PASSKEY_AMR);
      const [row] = await op.db.dataSource.query<{ id: string; acr: string; amr: string[] }[]>('SELECT id, acr, amr FROM auth_requests WHERE id = $1', [requestIdIn(authReqId)]);
      expect({ acr: row?.acr, amr: row?.amr }).toEqual({ acr: 'phr', amr: PASSKEY_AMR });
      // The audit trail records which authentication the approval rests on.
      let approval: Record<string, unknown> | undefined;
      await waitFor(async () => {
        const rows = await op.db.dataSource.query<{ payload: Record<string, unknown> }[]>(
          `SELECT payload FROM audit_records WHERE request_id = $1 AND type = 'auth_request.approved'`,
          [row?.id],
        );
        approval = rows[0]?.payload;
        return approval !== undefined;
      });
      expect(approval).toMatchObject({ acr: 'phr', amr: PASSKEY_AMR });
    });

    it('a challenge is bound to its link and single use: a failed attempt takes it along', async () => {
      const first = await requestByEmail({ acr_values: 'phr' });
      const second = await requestByEmail({ acr_values: 'phr' });
      const firstPage = await open(first.link);
      const options = optionsIn(firstPage.html, 'data-step-up-options');
      const assertion = (tweaks: AssertionTweaks = {}) => JSON.stringify(authenticator.get(options, origin, tweaks));
      // The first link's challenge is not the second link's.
      expect((await post(second.link, await open(second.link), { decision: 'approve', assertion: assertion() })).status).toBe(403);
      // A failed attempt uses the challenge up: a good assertion over it is refused afterwards.
      expect((await post(first.link, firstPage, { decision: 'approve', assertion: assertion({ corruptSignature: true }) })).status).toBe(403);
      expect((await post(first.link, firstPage, { decision: 'approve', assertion: assertion() })).status).toBe(403);
      // A fresh page has a fresh challenge.
      expect((await approveWithPasskey(first.link)).status).toBe(200);
      expect((await approveWithPasskey(second.link)).status).toBe(200);
    });

    it('a signature counter that goes backwards (a cloned authenticator) is refused', async () => {
      const { authReqId, link } = await requestByEmail({ acr_values: 'phr' });
      expect((await approveWithPasskey(link, { signCount: 1 })).status).toBe(403);
      expect(await status(authReqId)).toBe('pending');
    });

    it('Deny needs no passkey', async () => {
      const { authReqId, link } = await requestByEmail({ acr_values: 'phr' });
      const page = await open(link);
      expect((await post(link, page, { decision: 'deny' })).status).toBe(200);
      expect((await op.token(authReqId)).body['error']).toBe('access_denied');
    });

    it("a client's default_acr_values apply to requests without acr_values; a request's own acr_values replace them", async () => {
      const inherited = await requestByEmail({}, STRICT);
      const page = await open(inherited.link);
      expect(page.html).toContain('This request needs your passkey.');
      expect((await post(inherited.link, page, { decision: 'approve' })).status).toBe(403);
      expect((await approveWithPasskey(inherited.link)).status).toBe(200);
      expect(await idTokenClaims(inherited.authReqId, STRICT)).toMatchObject({ acr: 'phr', amr: PASSKEY_AMR });

      const message = uniqueMessage('Own ACR');
      const { authReqId } = await op.authorize({ binding_message: message, acr_values: 'urn:example:pwd' }, STRICT);
      const { decisionToken } = await op.notification((b) => b['binding_message'] === message);
      expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
      expect(await idTokenClaims(authReqId, STRICT)).not.toHaveProperty('acr');
    });

    it('the admin CLI lists the passkey without its credential id and removes it; then the page offers only Deny', async () => {
      const exec = promisify(execFile);
      const admin = (...args: string[]) =>
        exec(process.execPath, [join(process.cwd(), 'apps/admin/dist/main.js'), 'devices', ...args], {
          env: { PATH: process.env['PATH'] ?? '', CIBA_DATABASE_URL: op.db.url, CIBA_KEY_ENCRYPTION_KEY: op.config.keys.encryptionKey, CIBA_ISSUER: op.url, CIBA_LOG_LEVEL: 'silent' },
        });
      const [{ id }] = await op.db.dataSource.query<{ id: string }[]>(`SELECT id FROM passkeys WHERE subject = 'alice'`);
      const list = await admin('list', 'alice');
      expect(list.stdout).toMatch(new RegExp(`^${id}  passkey  "[^"]+"  created \\S+  last used \\S+$`, 'm'));
      expect(list.stdout).not.toContain(authenticator.credentialId);
      expect((await admin('revoke', 'alice', id)).stdout).toBe(`passkey ${id} removed\n`);

      const { link } = await requestByEmail({ acr_values: 'phr' });
      expect((await open(link)).html).toContain('This request needs a passkey.');
    }, 30_000);
  });
});
