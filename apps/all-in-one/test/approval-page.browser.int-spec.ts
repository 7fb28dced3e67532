import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { requestWithLink } from './approval-page.harness.js';
import { type HttpResult, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'approval-page');

function expectTokenError(res: HttpResult, error: string): void {
  expect({ status: res.status, error: res.body['error'] }).toEqual({ status: 400, error });
}

describe('approval page in a real browser (phone viewport)', () => {
  let op: TestProvider;
  let context: BrowserContext;
  let profile: string;
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    op = await startTestProvider();
    profile = mkdtempSync(join(tmpdir(), 'approval-page-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
  }, 60_000);
  afterAll(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
    await op.close();
  });

  async function open(link: string): Promise<Page> {
    const page = await context.newPage();
    await page.goto(link);
    return page;
  }

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
    const page = await open(link);
    await page.getByRole('heading', { name: 'Sign-in request' }).waitFor();
    await page.getByText(message).waitFor({ state: 'visible' });
    expect(await page.getByText('Console (basic)').isVisible()).toBe(true);
    expect(await page.getByText('Your email address').isVisible()).toBe(true);
    // The page fits the phone: no horizontal scrolling.
    expect(await page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'pending.png'), fullPage: true });

    await pressWithKeyboard(page, 'Approve');
    await page.getByRole('heading', { name: 'Approved' }).waitFor();
    expect(await page.getByText('you can return to Console (basic)').isVisible()).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'approved.png'), fullPage: true });
    expect((await op.token(authReqId)).status).toBe(200);

    await page.goto(link);
    await page.getByText('This link is no longer valid').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'reused.png'), fullPage: true });
    await page.close();
  }, 30_000);

  it('deny: the result page says Denied and the client gets access_denied', async () => {
    const { authReqId, link } = await requestWithLink(op);
    const page = await open(link);
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.getByRole('heading', { name: 'Denied' }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'denied.png'), fullPage: true });
    expectTokenError(await op.token(authReqId), 'access_denied');
    await page.close();
  }, 30_000);

  it('an expired link shows the expired page', async () => {
    const { link } = await requestWithLink(op, { requested_expiry: '1' });
    op.clock.advance(2);
    const page = await open(link);
    await page.getByRole('heading', { name: 'Request expired' }).waitFor();
    expect(await page.getByText('This request has expired').isVisible()).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'expired.png'), fullPage: true });
    await page.close();
  }, 30_000);
});
