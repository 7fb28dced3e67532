import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { waitFor } from '@ciba/testing';
import { DevInbox, devInboxChannels } from '../src/dev-inbox/index.js';
import { type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'dev-inbox');

describe('development inbox in a real browser (phone viewport)', () => {
  let op: TestProvider;
  let inbox: DevInbox;
  let context: BrowserContext;
  let profile: string;
  /** CSP violations Chromium reported on any page: there must be none. */
  const refused: string[] = [];
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    inbox = new DevInbox();
    op = await startTestProvider({ CIBA_AUTH_CHANNEL_URI: '' }, { channels: devInboxChannels(inbox), devInbox: { inbox, kinds: ['email', 'sms', 'device-push'] } });
    profile = mkdtempSync(join(tmpdir(), 'dev-inbox-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    context.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) refused.push(msg.text());
    });
  }, 60_000);
  afterAll(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
    await op.close();
  });

  /** A bc-authorize request for alice, once its message is in the inbox. */
  async function requestInInbox(message: string): Promise<string> {
    const { authReqId } = await op.authorize({ binding_message: message, scope: 'openid email' });
    await waitFor(() => inbox.list().some((m) => m.text.includes(message)), { description: 'the message in the inbox' });
    return authReqId;
  }

  async function fitsThePhone(page: Page): Promise<boolean> {
    // String bodies: these run in the page, and the test tsconfig has no DOM lib.
    return page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth');
  }

  it('open /dev/inbox, follow the newest approval link, press Approve: the client’s token request succeeds', async () => {
    const message = uniqueMessage('Inbox');
    const authReqId = await requestInInbox(message);

    const page = await context.newPage();
    await page.goto(`${op.url}/dev/inbox`);
    await page.getByRole('heading', { name: 'Development inbox' }).waitFor();
    expect(await page.getByText('Development only.').isVisible()).toBe(true);
    const newest = page.getByRole('listitem').filter({ has: page.getByRole('heading', { level: 3 }) }).first();
    expect(await newest.getByText('Email', { exact: true }).isVisible()).toBe(true);
    expect(await newest.getByText('alice@example.com').isVisible()).toBe(true);
    expect(await newest.getByRole('heading', { name: 'Approve sign-in request from Console (basic)' }).isVisible()).toBe(true);
    expect(await fitsThePhone(page)).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'inbox.png'), fullPage: true });

    await newest.getByRole('link', { name: 'Open the approval page' }).click();
    await page.getByRole('heading', { name: 'Sign-in request' }).waitFor();
    await page.getByText(message).waitFor({ state: 'visible' });
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('heading', { name: 'Approved' }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'approved.png'), fullPage: true });

    const tokens = await op.token(authReqId);
    expect(tokens.status).toBe(200);
    expect(typeof tokens.body['id_token']).toBe('string');
    await page.close();
  }, 30_000);

  it('the email as sent: rendered with its own styles in the sandboxed frame, and its button opens the approval page in a new tab', async () => {
    const message = uniqueMessage('Preview');
    const authReqId = await requestInInbox(message);

    const page = await context.newPage();
    await page.goto(`${op.url}/dev/inbox`);
    const item = page.getByRole('listitem').filter({ hasText: message });
    await item.getByRole('link', { name: 'View the email as sent' }).click();
    const email = page.frameLocator('iframe[title="The email as sent (HTML part)"]');
    const button = email.getByRole('link', { name: 'Review this sign-in request to approve or deny it' });
    await button.waitFor();
    await email.getByText(message).waitFor({ state: 'visible' });
    // The template's inline styles apply (the page's policy allows style attributes, nothing more).
    const backgroundOf = (el: unknown) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor;
    expect(await button.evaluate(backgroundOf)).toBe('rgb(29, 78, 216)');
    expect(await fitsThePhone(page)).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'email.png'), fullPage: true });

    const [tab] = await Promise.all([context.waitForEvent('page'), button.click()]);
    await tab.getByRole('heading', { name: 'Sign-in request' }).waitFor();
    await tab.getByRole('button', { name: 'Approve' }).click();
    await tab.getByRole('heading', { name: 'Approved' }).waitFor();
    expect((await op.token(authReqId)).status).toBe(200);
    expect(refused).toEqual([]);
    await tab.close();
    await page.close();
  }, 30_000);
});
