import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import { requestWithLink } from './approval-page.harness.js';
import { type PhoneBrowser, fitsThePhone, launchPhoneBrowser } from './browser.js';
import { type HttpResult, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

function expectTokenError(res: HttpResult, error: string): void {
  expect({ status: res.status, error: res.body['error'] }).toEqual({ status: 400, error });
}

describe('approval page in a real browser (phone viewport)', () => {
  let op: TestProvider;
  let phone: PhoneBrowser;
  beforeAll(async () => {
    op = await startTestProvider();
    phone = await launchPhoneBrowser('approval-page');
  }, 60_000);
  afterAll(async () => {
    await phone.close();
    await op.close();
  });

  /** Keyboard only: Tab until the button named `name` has focus (bounded), then Enter. */
  async function pressWithKeyboard(page: Page, name: string): Promise<void> {
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      // String bodies: these run in the page, and the test tsconfig has no DOM lib.
      if ((await page.evaluate<string | null>("document.activeElement?.tagName === 'BUTTON' ? document.activeElement.textContent : null")) === name) {
        await page.keyboard.press('Enter');
        return;
      }
    }
    throw new Error('the button never received keyboard focus');
  }

  it('approve: the binding message is visible, Approve is reachable by keyboard, and the result page follows', async () => {
    const message = uniqueMessage('Browser');
    const { authReqId, link } = await requestWithLink(op, { binding_message: message, scope: 'openid email' });
    const page = await phone.open(link);
    await page.getByRole('heading', { name: 'Sign-in request' }).waitFor();
    await page.getByText(message).waitFor({ state: 'visible' });
    expect(await page.getByText('Console (basic)').isVisible()).toBe(true);
    expect(await page.getByText('Your email address').isVisible()).toBe(true);
    expect(await fitsThePhone(page)).toBe(true);
    await phone.screenshot(page, 'pending');

    await pressWithKeyboard(page, 'Approve');
    await page.getByRole('heading', { name: 'Approved' }).waitFor();
    expect(await page.getByText('you can return to Console (basic)').isVisible()).toBe(true);
    await phone.screenshot(page, 'approved');
    expect((await op.token(authReqId)).status).toBe(200);

    await page.goto(link);
    await page.getByText('This link is no longer valid').waitFor();
    await phone.screenshot(page, 'reused');
    await page.close();
  }, 30_000);

  it('deny: the result page says Denied and the client gets access_denied', async () => {
    const { authReqId, link } = await requestWithLink(op);
    const page = await phone.open(link);
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.getByRole('heading', { name: 'Denied' }).waitFor();
    await phone.screenshot(page, 'denied');
    expectTokenError(await op.token(authReqId), 'access_denied');
    await page.close();
  }, 30_000);

  it('an expired link shows the expired page', async () => {
    const { link } = await requestWithLink(op, { requested_expiry: '1' });
    op.clock.advance(2);
    const page = await phone.open(link);
    await page.getByRole('heading', { name: 'Request expired' }).waitFor();
    expect(await page.getByText('This request has expired').isVisible()).toBe(true);
    await phone.screenshot(page, 'expired');
    await page.close();
  }, 30_000);

  it('no page above broke its Content Security Policy', () => {
    expect(phone.cspViolations).toEqual([]);
  });
});
