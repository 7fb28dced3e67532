import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { waitFor } from '@ciba/testing';
import type { DevInbox } from '../src/dev-inbox/index.js';
import { type PhoneBrowser, fitsThePhone, launchPhoneBrowser } from './browser.js';
import { startWithInbox } from './dev-inbox.harness.js';
import { type TestProvider, uniqueMessage } from './provider-harness.js';

describe('development inbox in a real browser (phone viewport)', () => {
  let op: TestProvider;
  let inbox: DevInbox;
  let phone: PhoneBrowser;
  beforeAll(async () => {
    ({ op, inbox } = await startWithInbox());
    phone = await launchPhoneBrowser('dev-inbox');
  }, 60_000);
  afterAll(async () => {
    await phone.close();
    await op.close();
  });

  /** A bc-authorize request for alice, once its message is in the inbox. */
  async function requestInInbox(message: string): Promise<string> {
    const { authReqId } = await op.authorize({ binding_message: message, scope: 'openid email' });
    await waitFor(() => inbox.list().some((m) => m.text.includes(message)), { description: 'the message in the inbox' });
    return authReqId;
  }

  it('open /dev/inbox, follow the newest approval link, press Approve: the client’s token request succeeds', async () => {
    const message = uniqueMessage('Inbox');
    const authReqId = await requestInInbox(message);

    const page = await phone.open(`${op.url}/dev/inbox`);
    await page.getByRole('heading', { name: 'Development inbox' }).waitFor();
    expect(await page.getByText('Development only.').isVisible()).toBe(true);
    const newest = page.getByRole('listitem').filter({ has: page.getByRole('heading', { level: 3 }) }).first();
    expect(await newest.getByText('Email', { exact: true }).isVisible()).toBe(true);
    expect(await newest.getByText('alice@example.com').isVisible()).toBe(true);
    expect(await newest.getByRole('heading', { name: 'Approve sign-in request from Console (basic)' }).isVisible()).toBe(true);
    expect(await fitsThePhone(page)).toBe(true);
    await phone.screenshot(page, 'inbox');

    await newest.getByRole('link', { name: 'Open the approval page' }).click();
    await page.getByRole('heading', { name: 'Sign-in request' }).waitFor();
    await page.getByText(message).waitFor({ state: 'visible' });
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('heading', { name: 'Approved' }).waitFor();
    await phone.screenshot(page, 'approved');

    const tokens = await op.token(authReqId);
    expect(tokens.status).toBe(200);
    expect(typeof tokens.body['id_token']).toBe('string');
    await page.close();
  }, 30_000);

  it('the email as sent: rendered with its own styles in the sandboxed frame, and its button opens the approval page in a new tab', async () => {
    const message = uniqueMessage('Preview');
    const authReqId = await requestInInbox(message);

    const page = await phone.open(`${op.url}/dev/inbox`);
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
    await phone.screenshot(page, 'email');

    const [tab] = await Promise.all([phone.context.waitForEvent('page'), button.click()]);
    await tab.getByRole('heading', { name: 'Sign-in request' }).waitFor();
    await tab.getByRole('button', { name: 'Approve' }).click();
    await tab.getByRole('heading', { name: 'Approved' }).waitFor();
    expect((await op.token(authReqId)).status).toBe(200);
    expect(phone.cspViolations).toEqual([]);
    await tab.close();
    await page.close();
  }, 30_000);
});
