import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type SmtpPeer, waitFor } from '@ciba/testing';
import { type PhoneBrowser, fitsThePhone, launchPhoneBrowser } from './browser.js';
import { DeviceRegistry } from '@ciba/service-notifier';
import { VAPID, emailedEnrolLink, startDeviceRegistrationProvider, webPushSubscription } from './device-registration.harness.js';
import type { TestProvider } from './provider-harness.js';

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
  let closeProvider: () => Promise<void>;
  let phone: PhoneBrowser;
  let origin: string;
  let subscription: ReturnType<typeof webPushSubscription>;

  beforeAll(async () => {
    ({ op, smtp, close: closeProvider } = await startDeviceRegistrationProvider());
    origin = new URL(op.url).origin;
    // A fixed subscription, as a browser would hand out: an https endpoint and valid-looking keys.
    subscription = webPushSubscription('https://push.example.net/push/abc');
    phone = await launchPhoneBrowser('device-enrolment');
    await phone.context.addInitScript({ content: stubPushScript(subscription) });
  }, 60_000);
  afterAll(async () => {
    await phone.close();
    await closeProvider();
  });

  it('with notifications blocked, the page says so in its status region and registers nothing', async () => {
    await phone.context.clearPermissions();
    const page = await phone.open(await emailedEnrolLink(op, smtp));
    await page.getByRole('button', { name: 'Turn on sign-in notifications' }).click();
    await page.getByRole('status').getByText('Notifications are not allowed for this site').waitFor();
    await phone.screenshot(page, 'blocked');
    expect((await op.db.dataSource.query<{ n: string }[]>(`SELECT count(*) AS n FROM devices WHERE subject = 'alice'`))[0].n).toBe('0');
    await page.close();
  }, 30_000);

  it('enrols: the button registers the service worker, subscribes with our VAPID key, and the device is then listed for the user', async () => {
    await phone.context.grantPermissions(['notifications'], { origin });
    const page = await phone.open(await emailedEnrolLink(op, smtp));
    await page.getByRole('heading', { name: 'Get sign-in requests on this device' }).waitFor();
    expect(await fitsThePhone(page)).toBe(true);
    await phone.screenshot(page, 'enrol');

    await page.getByLabel('Name for this device (optional)').fill('Test phone');
    await page.getByRole('button', { name: 'Turn on sign-in notifications' }).click();
    await page.getByRole('status').getByText('This device will now show your sign-in requests').waitFor();
    await phone.screenshot(page, 'enrolled');

    // String bodies: these run in the page, and the test tsconfig has no DOM lib.
    const options = await page.evaluate<{ userVisibleOnly: boolean; key: number[] }>('window.__subscribeOptions');
    expect(options.userVisibleOnly).toBe(true);
    expect(Buffer.from(options.key).toString('base64url')).toBe(VAPID.publicKey);
    expect(await page.evaluate<string | null>("navigator.serviceWorker.getRegistration('/enrol/').then((r) => (r && r.active ? r.scope : null))")).toBe(`${origin}/enrol/`);

    // Registered through the link, it is the user's own (no client's): the registry lists it for alice.
    let devices: { target: { kind: string }; label: string | null; clientId: string | null }[] = [];
    await waitFor(async () => {
      devices = await op.app.get(DeviceRegistry).listActive('alice');
      return devices.length === 1;
    });
    expect(devices[0]).toMatchObject({ target: { kind: 'web-push' }, label: 'Test phone', clientId: null });

    expect(await page.evaluate<string[]>('window.__cspViolations')).toEqual([]);
    expect(phone.cspViolations).toEqual([]);
    await page.close();
  }, 30_000);

  it('the used link shows the 410 page', async () => {
    const link = await emailedEnrolLink(op, smtp);
    const page = await phone.open(link);
    await page.getByRole('button', { name: 'Turn on sign-in notifications' }).click();
    await page.getByRole('status').getByText('This device will now show your sign-in requests').waitFor();
    const again = await page.goto(link);
    expect(again?.status()).toBe(410);
    await page.getByRole('heading', { name: 'Link no longer valid' }).waitFor();
    await phone.screenshot(page, 'used');
    expect(phone.cspViolations).toEqual([]);
    await page.close();
  }, 30_000);
});
