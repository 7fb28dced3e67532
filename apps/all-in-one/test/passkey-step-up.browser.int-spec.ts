import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import type { CDPSession, Page } from 'playwright-core';
import { SmtpPeer, approvalLinkIn, freePort, mailParts, smtpEnvironment, requestIdIn } from '@ciba/testing';
import { type PhoneBrowser, fitsThePhone, launchPhoneBrowser } from './browser.js';
import { emailedEnrolLink } from './device-registration.harness.js';
import { type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

/** Records CSP violations in the page itself, before any page script runs. */
const RECORD_CSP_VIOLATIONS = `
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', function (e) { window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI); });
`;

describe('passkey step-up in a real browser (Chromium virtual authenticator)', () => {
  let op: TestProvider;
  let smtp: SmtpPeer;
  let phone: PhoneBrowser;
  let page: Page;
  let cdp: CDPSession;
  let authenticatorId: string;

  beforeAll(async () => {
    smtp = await SmtpPeer.start();
    // WebAuthn needs a host name as RP ID (never an IP address) and a secure context: http://localhost is one.
    const port = await freePort();
    op = await startTestProvider({ CIBA_PORT: String(port), CIBA_ISSUER: `http://localhost:${port}`, ...smtpEnvironment(smtp) });
    phone = await launchPhoneBrowser('passkey-step-up');
    await phone.context.addInitScript({ content: RECORD_CSP_VIOLATIONS });
    // One tab for the whole story: the virtual authenticator belongs to it, like a phone's own.
    page = await phone.context.newPage();
    cdp = await phone.context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const added = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
    });
    authenticatorId = added.authenticatorId;
  }, 60_000);
  afterAll(async () => {
    await phone.close();
    await op.close();
    await smtp.close();
  });

  const pageViolations = () => page.evaluate<string[]>('window.__cspViolations');

  it('adds a passkey from the enrolment link: a discoverable, user-verified credential on the authenticator', async () => {
    await page.goto(await emailedEnrolLink(op, smtp));
    await page.getByRole('heading', { name: 'Add a passkey' }).waitFor();
    expect(await fitsThePhone(page)).toBe(true);
    await phone.screenshot(page, 'enrol');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.locator('#passkey-status').getByText('Your passkey is added').waitFor();
    await phone.screenshot(page, 'passkey-added');
    expect(await pageViolations()).toEqual([]);

    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]).toMatchObject({ isResidentCredential: true, rpId: 'localhost' });
    const [stored] = await op.db.dataSource.query<{ credential_id: string }[]>(`SELECT credential_id FROM passkeys WHERE subject = 'alice'`);
    expect(stored.credential_id).toBe(Buffer.from(credentials[0].credentialId, 'base64').toString('base64url'));
  }, 60_000);

  it('approves a request with acr_values=phr with the passkey: the ID token says acr phr and the passkey amr', async () => {
    const message = uniqueMessage('Passkey');
    const { authReqId } = await op.authorize({ binding_message: message, acr_values: 'phr', scope: 'openid profile' });
    const mail = await smtp.mailTo('alice@example.com', { containing: message });
    await page.goto(approvalLinkIn(mailParts(mail.raw).text ?? '', op.config.publicUrls.notifier));
    await page.getByText('This request needs your passkey.').waitFor();
    await page.getByText(message).waitFor();
    expect(await fitsThePhone(page)).toBe(true);
    await phone.screenshot(page, 'step-up');
    expect(await pageViolations()).toEqual([]);

    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('heading', { name: 'Approved' }).waitFor();
    await phone.screenshot(page, 'approved');

    const tokens = await op.token(authReqId);
    expect(tokens.status).toBe(200);
    const claims = decodeJwt(String(tokens.body['id_token']));
    expect(claims['acr']).toBe('phr');
    expect(claims['amr']).toEqual(['pop', 'user', 'mfa']);
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    const [stored] = await op.db.dataSource.query<{ sign_count: string; last_used_at: Date | null }[]>(`SELECT sign_count, last_used_at FROM passkeys WHERE subject = 'alice'`);
    expect(Number(stored.sign_count)).toBe(credentials[0].signCount);
    expect(stored.last_used_at).not.toBeNull();
  }, 60_000);

  it('when the user does not verify on the authenticator, nothing is approved and the page says so', async () => {
    await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false });
    const message = uniqueMessage('Unverified');
    const { authReqId } = await op.authorize({ binding_message: message, acr_values: 'phr' });
    const mail = await smtp.mailTo('alice@example.com', { containing: message });
    await page.goto(approvalLinkIn(mailParts(mail.raw).text ?? '', op.config.publicUrls.notifier));
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.locator('#step-up-status').getByText('Press Approve to try again, or Deny').waitFor();
    await phone.screenshot(page, 'not-verified');
    const [row] = await op.db.dataSource.query<{ status: string }[]>('SELECT status FROM auth_requests WHERE id = $1', [requestIdIn(authReqId)]);
    expect(row.status).toBe('pending');
    // Deny needs no passkey.
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.getByRole('heading', { name: 'Denied' }).waitFor();
    expect((await op.token(authReqId)).body['error']).toBe('access_denied');
    await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: true });
  }, 60_000);

  it('raised no Content Security Policy violation on any page', () => {
    expect(phone.cspViolations).toEqual([]);
  });
});
