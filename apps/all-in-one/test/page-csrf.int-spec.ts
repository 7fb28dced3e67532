import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type SmtpPeer, requestIdIn } from '@ciba/testing';
import { csrfOf, readPage, requestWithLink } from './approval-page.harness.js';
import { emailedEnrolLink, enrolCsrfOf, startDeviceRegistrationProvider, webPushSubscription } from './device-registration.harness.js';
import type { TestProvider } from './provider-harness.js';

/**
 * Cross-site request forgery on the notifier's pages (the approval page and the enrolment page): a
 * POST passes only with the CSRF value minted for its own link, and only when the browser says it
 * comes from the notifier's origin.
 */
describe('CSRF on the approval and enrolment pages', () => {
  let op: TestProvider;
  let smtp: SmtpPeer;
  let close: () => Promise<void>;
  let origin: string;

  beforeAll(async () => {
    ({ op, smtp, close } = await startDeviceRegistrationProvider());
    origin = new URL(op.config.publicUrls.notifier).origin;
  }, 30_000);
  afterAll(() => close());

  /** The stored request's status (polling the token endpoint twice would meet slow_down). */
  async function requestStatus(authReqId: string): Promise<string | undefined> {
    const rows = await op.db.dataSource.query<{ status: string }[]>('SELECT status FROM auth_requests WHERE id = $1', [requestIdIn(authReqId)]);
    return rows[0]?.status;
  }
  /** GET an approval page (with `cookie` when given): its cookie secret and form field. */
  async function approvalPage(link: string, cookie?: string) {
    const page = await readPage(await fetch(link, { headers: cookie ? { cookie: `ciba_approval_csrf=${cookie}` } : {} }));
    expect(page.status).toBe(200);
    return csrfOf(page);
  }
  function postDecision(link: string, csrf: { field: string; cookie: string }, headers: Record<string, string>) {
    return fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `ciba_approval_csrf=${csrf.cookie}`, ...headers },
      body: new URLSearchParams({ csrf: csrf.field, decision: 'approve' }),
    });
  }

  describe('approval page', () => {
    it("CSRF: link A's cookie and field cannot approve link B", async () => {
      const a = await requestWithLink(op);
      const b = await requestWithLink(op);
      const csrfA = await approvalPage(a.link);
      // An attacker who opened their own link A replays its cookie and field against the victim's link B.
      const forged = await postDecision(b.link, csrfA, { origin });
      expect(forged.status).toBe(403);
      expect(await requestStatus(b.authReqId)).toBe('pending');
      // The same cookie with B's own field (B's page opened in the same browser) works: the field is bound to B.
      const csrfB = await approvalPage(b.link, csrfA.cookie);
      expect(csrfB.cookie).toBe(csrfA.cookie);
      expect(csrfB.field).not.toBe(csrfA.field);
      expect((await postDecision(b.link, csrfB, { origin })).status).toBe(200);
      expect(await requestStatus(a.authReqId)).toBe('pending');
      expect(await requestStatus(b.authReqId)).toBe('approved');
    });

    it('CSRF: a POST without Origin or Sec-Fetch-Site is refused', async () => {
      const { authReqId, link } = await requestWithLink(op);
      const csrf = await approvalPage(link);
      const refused = await postDecision(link, csrf, {});
      expect(refused.status).toBe(403);
      expect(await refused.text()).toContain('could not confirm the request came from you');
      // `Origin: null` alone (an opaque origin: a sandboxed frame, a data: URL) is not ours either.
      expect((await postDecision(link, csrf, { origin: 'null' })).status).toBe(403);
      expect((await postDecision(link, csrf, { origin: 'null', 'sec-fetch-site': 'cross-site' })).status).toBe(403);
      expect((await postDecision(link, csrf, { 'sec-fetch-site': 'same-site' })).status).toBe(403);
      expect(await requestStatus(authReqId)).toBe('pending');
      // A browser on the page under Referrer-Policy: no-referrer: Origin null, Sec-Fetch-Site same-origin.
      expect((await postDecision(link, csrf, { origin: 'null', 'sec-fetch-site': 'same-origin' })).status).toBe(200);
      expect(await requestStatus(authReqId)).toBe('approved');
    });

    it('a browser that sends no Origin but Sec-Fetch-Site: same-origin is accepted', async () => {
      const { authReqId, link } = await requestWithLink(op);
      expect((await postDecision(link, await approvalPage(link), { 'sec-fetch-site': 'same-origin' })).status).toBe(200);
      expect(await requestStatus(authReqId)).toBe('approved');
    });
  });

  describe('enrolment page', () => {
    /** GET an enrolment page (with `cookie` when given): its cookie secret and CSRF header value. */
    async function enrolmentPage(link: string, cookie?: string) {
      const page = await fetch(link, { headers: cookie ? { cookie: `ciba_enrol_csrf=${cookie}` } : {} });
      expect(page.status).toBe(200);
      return enrolCsrfOf(await page.text(), page.headers.get('set-cookie'));
    }
    function postSubscription(link: string, csrf: { header: string; cookie: string }, headers: Record<string, string>) {
      return fetch(link, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf.header, cookie: `ciba_enrol_csrf=${csrf.cookie}`, ...headers },
        body: JSON.stringify({ subscription: webPushSubscription() }),
      });
    }

    it("CSRF: link A's cookie and header cannot enrol a device with link B", async () => {
      const a = await emailedEnrolLink(op, smtp);
      const b = await emailedEnrolLink(op, smtp);
      const csrfA = await enrolmentPage(a);
      expect((await postSubscription(b, csrfA, { origin })).status).toBe(403);
      expect((await postSubscription(`${b}/passkey`, csrfA, { origin })).status).toBe(403);
      const csrfB = await enrolmentPage(b, csrfA.cookie);
      expect(csrfB.header).not.toBe(csrfA.header);
      expect((await postSubscription(b, csrfB, { origin })).status).toBe(201);
    });

    it('CSRF: an enrolment POST without Origin or Sec-Fetch-Site is refused', async () => {
      const link = await emailedEnrolLink(op, smtp);
      const csrf = await enrolmentPage(link);
      expect((await postSubscription(link, csrf, {})).status).toBe(403);
      expect((await postSubscription(link, csrf, { origin: 'null' })).status).toBe(403);
      expect((await postSubscription(`${link}/passkey`, csrf, {})).status).toBe(403);
      expect((await postSubscription(link, csrf, { 'sec-fetch-site': 'same-origin' })).status).toBe(201);
    });
  });
});
