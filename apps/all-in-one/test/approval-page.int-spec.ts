import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AuthRequestRepository } from '@ciba/domain';
import { AUTH_REQUEST_REPOSITORY } from '@ciba/platform';
import { ApprovalLinks } from '@ciba/service-notifier';
import { postApprovalDecision } from '@ciba/testing';
import { type Page, csrfOf, readPage, requestWithLink } from './approval-page.harness.js';
import { type HttpResult, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

function expectTokenError(res: HttpResult, error: string): void {
  expect({ status: res.status, error: res.body['error'] }).toEqual({ status: 400, error });
}

describe('approval page', () => {
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider();
  });
  afterAll(async () => {
    await op.close();
  });

  const get = async (link: string, cookie?: string) => readPage(await fetch(link, { headers: cookie ? { cookie } : {} }));
  const post = async (link: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
    readPage(await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields) }));
  /** GET the page, then POST `decision` with its cookie and field, as a browser would. */
  async function answer(link: string, decision: 'approve' | 'deny'): Promise<Page> {
    return readPage(await postApprovalDecision(link, csrfOf(await get(link)), decision, new URL(op.url).origin));
  }

  it('issues a link on the notifier URL that carries neither the auth_req_id nor the request id, the same link when issued again', async () => {
    const { authReqId, request, link } = await requestWithLink(op);
    expect(link).toMatch(new RegExp(`^${op.config.publicUrls.notifier}/approve/[A-Za-z0-9_-]{43}$`));
    expect(link).not.toContain(authReqId);
    expect(link).not.toContain(request.id);
    expect(await op.app.get(ApprovalLinks).issue(request)).toBe(link);
    const token = link.split('/').pop() ?? '';
    const stored = await op.db.dataSource.query<{ n: string }[]>('SELECT count(*) AS n FROM decision_tokens WHERE token_hash = $1', [token]);
    expect(stored[0].n).toBe('0');
  });

  it('GET shows the client name, the escaped binding message, scope labels and the expiry, with strict headers', async () => {
    const message = uniqueMessage('<b>&"');
    const { link } = await requestWithLink(op, { binding_message: message, scope: 'openid email' });
    const res = await get(link);
    expect(res.status).toBe(200);
    expect(res.html).toContain('Sign-in request');
    expect(res.html).toContain('Console (basic)');
    expect(res.html).toContain(message.replace('<b>&"', '&lt;b&gt;&amp;&quot;'));
    expect(res.html).not.toContain('<b>&');
    expect(res.html).toContain('Your email address');
    expect(res.html).toMatch(/expires in \d+ minutes?/);
    expect(res.html).not.toMatch(/<script/i);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const csp = res.headers.get('content-security-policy') ?? '';
    const nonce = /style-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(res.html).toContain(`<style nonce="${nonce}">`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("form-action 'self'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^ciba_approval_csrf=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/approve; Max-Age=\d+$/);
    // The field is bound to this link (an HMAC keyed by the cookie's secret), never the secret itself.
    expect(csrfOf(res).field).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(csrfOf(res).field).not.toBe(csrfOf(res).cookie);
  });

  it('GET twice does not consume the link', async () => {
    const { authReqId, link } = await requestWithLink(op);
    expect((await get(link)).status).toBe(200);
    expect((await get(link)).status).toBe(200);
    expectTokenError(await op.token(authReqId), 'authorization_pending');
  });

  it('POST without the cookie, with a mismatching field or from another origin is 403 and the link stays usable', async () => {
    const { authReqId, link } = await requestWithLink(op);
    const { field, cookie } = csrfOf(await get(link));
    const noCookie = await post(link, { csrf: field, decision: 'approve' });
    expect(noCookie.status).toBe(403);
    expect(noCookie.headers.get('cache-control')).toBe('no-store');
    expect(noCookie.headers.get('content-type')).toMatch(/^text\/html/);
    expect((await post(link, { csrf: 'x'.repeat(43), decision: 'approve' }, { cookie: `ciba_approval_csrf=${cookie}` })).status).toBe(403);
    expect((await post(link, { csrf: field, decision: 'approve' }, { cookie: `ciba_approval_csrf=${cookie}`, origin: 'https://evil.example' })).status).toBe(403);
    expectTokenError(await op.token(authReqId), 'authorization_pending');
    expect((await get(link)).status).toBe(200);
    expect((await answer(link, 'approve')).status).toBe(200);
  });

  it('approve: 200 result page, the token endpoint gives tokens, and the link is dead afterwards (410)', async () => {
    const { authReqId, link } = await requestWithLink(op);
    const res = await answer(link, 'approve');
    expect(res.status).toBe(200);
    expect(res.html).toContain('Approved — you can return to Console (basic)');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const tokens = await op.token(authReqId);
    expect(tokens.status).toBe(200);
    expect(typeof tokens.body['access_token']).toBe('string');

    const again = await get(link);
    expect(again.status).toBe(410);
    expect(again.html).toContain('This link is no longer valid');
    expect(again.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect((await answer(link, 'deny')).status).toBe(410);
  });

  it('deny: the token endpoint answers access_denied', async () => {
    const { authReqId, link } = await requestWithLink(op);
    const res = await answer(link, 'deny');
    expect(res.status).toBe(200);
    expect(res.html).toContain('Denied');
    expectTokenError(await op.token(authReqId), 'access_denied');
  });

  it('a token answers only where it was sent: an approval-link token is refused by the device callback, a device token by the page', async () => {
    const { authReqId, link } = await requestWithLink(op, { binding_message: uniqueMessage('cross') });
    const linkToken = link.split('/approve/')[1];
    expect((await op.decide(linkToken, 'SUCCEED')).status).toBe(401);

    const message = uniqueMessage('device');
    const other = await op.authorize({ binding_message: message });
    const { decisionToken } = await op.notification((b) => b['binding_message'] === message);
    expect((await fetch(`${op.url}/approve/${decisionToken}`)).status).toBe(410);
    // Neither attempt decided anything.
    expect((await op.token(authReqId)).body['error']).toBe('authorization_pending');
    expect((await op.token(other.authReqId)).body['error']).toBe('authorization_pending');
  });

  it('an unknown or malformed link is 410 HTML, not OAuth JSON', async () => {
    for (const path of ['/approve/' + 'A'.repeat(43), '/approve/not-a-token']) {
      const res = await get(`${op.url}${path}`);
      expect(res.status).toBe(410);
      expect(res.html).toContain('This link is no longer valid');
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    }
  });

  it('expired: 410 on GET and POST, and the request is left unchanged', async () => {
    const { authReqId, request, link } = await requestWithLink(op, { requested_expiry: '1' });
    const csrf = csrfOf(await get(link));
    op.clock.advance(2);
    const shown = await get(link);
    expect(shown.status).toBe(410);
    expect(shown.html).toContain('This request has expired');
    const posted = await post(link, { csrf: csrf.field, decision: 'approve' }, { cookie: `ciba_approval_csrf=${csrf.cookie}` });
    expect(posted.status).toBe(410);
    expect(posted.html).toContain('This request has expired');
    const after = await op.app.get<symbol, AuthRequestRepository>(AUTH_REQUEST_REPOSITORY).findById(request.id);
    expect(after?.decidedAt).toBeNull();
    expect(after?.status === 'pending' || after?.status === 'expired').toBe(true);
    expectTokenError(await op.token(authReqId), 'expired_token');
  });
});
