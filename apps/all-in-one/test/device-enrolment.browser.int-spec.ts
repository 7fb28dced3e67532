import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { SmppPeer, SmtpPeer, waitFor } from '@ciba/testing';
import { VAPID, deviceRegistrationChannels, emailedEnrolLink, idTokenFor, webPushSubscription } from './device-registration.harness.js';
import { type TestProvider, startTestProvider } from './provider-harness.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'device-enrolment');

/**
 * Headless Chromium has no push service to talk to offline, so `PushManager.prototype.subscribe` is
 * replaced, before any page script runs, by one that records its options and returns a fixed
 * subscription. Everything else is the browser's own: permission, service worker, fetch, CSP.
 */
function stubPushScript(subscription: { endpoint: string; keys: { p256dh: string; auth: string } }): string {
  return `
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', function (e) { window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI); });
    if (typeof PushManager !== 'undefined') {
      PushManager.prototype.subscribe = function (options) {
        window.__subscribeOptions = { userVisibleOnly: options.userVisibleOnly, key: Array.from(new Uint8Array(options.applicationServerKey)) };
        var json = ${JSON.stringify({ ...subscription, expirationTime: null })};
        return Promise.resolve({ endpoint: json.endpoint, expirationTime: null, toJSON: function () { return json; } });
      };
    }
  `;
}

describe('device enrolment page in a real browser (phone viewport)', () => {
  let op: TestProvider;
  let smtp: SmtpPeer;
  let smsc: SmppPeer;
  let context: BrowserContext;
  let profile: string;
  let origin: string;
  let subscription: ReturnType<typeof webPushSubscription>;
  const consoleCsp: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    smtp = await SmtpPeer.start();
    smsc = await SmppPeer.start({ systemId: 'ciba', password: 's3cret' });
    op = await startTestProvider({}, { channels: deviceRegistrationChannels(smtp, smsc) });
    origin = new URL(op.url).origin;
    // A fixed subscription, as a browser would hand out: an https endpoint and valid-looking keys.
    subscription = webPushSubscription('https://push.example.net/push/abc');
    profile = mkdtempSync(join(tmpdir(), 'device-enrolment-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    await context.addInitScript({ content: stubPushScript(subscription) });
  }, 60_000);
  afterAll(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
    await op.close();
    await smsc.close();
    await smtp.close();
  });

  async function open(link: string): Promise<Page> {
    const page = await context.newPage();
    page.on('console', (message) => {
      if (/Content[- ]Security[- ]Policy/i.test(message.text())) consoleCsp.push(message.text());
    });
    await page.goto(link);
    return page;
  }

  it('with notifications blocked, the page says so in its status region and registers nothing', async () => {
    await context.clearPermissions();
    const page = await open(await emailedEnrolLink(op, smtp));
    await page.getByRole('button', { name: 'Turn on sign-in notifications' }).click();
    await page.getByRole('status').getByText('Notifications are not allowed for this site').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'blocked.png'), fullPage: true });
    expect((await op.db.dataSource.query<{ n: string }[]>(`SELECT count(*) AS n FROM devices WHERE subject = 'alice'`))[0].n).toBe('0');
    await page.close();
  }, 30_000);

  it('enrols: the button registers the service worker, subscribes with our VAPID key, and the device is then listed for the user', async () => {
    await context.grantPermissions(['notifications'], { origin });
    const page = await open(await emailedEnrolLink(op, smtp));
    await page.getByRole('heading', { name: 'Get sign-in requests on this device' }).waitFor();
    // The page fits the phone: no horizontal scrolling.
    expect(await page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'enrol.png'), fullPage: true });

    await page.getByLabel('Name for this device (optional)').fill('Test phone');
    await page.getByRole('button', { name: 'Turn on sign-in notifications' }).click();
    await page.getByRole('status').getByText('This device will now show your sign-in requests').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'enrolled.png'), fullPage: true });

    // String bodies: these run in the page, and the test tsconfig has no DOM lib.
    const options = await page.evaluate<{ userVisibleOnly: boolean; key: number[] }>('window.__subscribeOptions');
    expect(options.userVisibleOnly).toBe(true);
    expect(Buffer.from(options.key).toString('base64url')).toBe(VAPID.publicKey);
    expect(await page.evaluate<string | null>("navigator.serviceWorker.getRegistration('/enrol/').then((r) => (r && r.active ? r.scope : null))")).toBe(`${origin}/enrol/`);

    const idToken = await idTokenFor(op, 'alice');
    let devices: { kind: string; label: string | null }[] = [];
    await waitFor(async () => {
      const res = await fetch(`${op.url}/ext/ciba/devices`, { headers: { authorization: `Bearer ${idToken}` } });
      devices = ((await res.json()) as { devices: { kind: string; label: string | null }[] }).devices;
      return devices.length === 1;
    });
    expect(devices[0]).toMatchObject({ kind: 'web-push', label: 'Test phone' });

    expect(await page.evaluate<string[]>('window.__cspViolations')).toEqual([]);
    expect(consoleCsp).toEqual([]);
    await page.close();
  }, 30_000);

  it('the used link shows the 410 page', async () => {
    const link = await emailedEnrolLink(op, smtp);
    const page = await open(link);
    await page.getByRole('button', { name: 'Turn on sign-in notifications' }).click();
    await page.getByRole('status').getByText('This device will now show your sign-in requests').waitFor();
    const again = await page.goto(link);
    expect(again?.status()).toBe(410);
    await page.getByRole('heading', { name: 'Link no longer valid' }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'used.png'), fullPage: true });
    expect(consoleCsp).toEqual([]);
    await page.close();
  }, 30_000);
});
