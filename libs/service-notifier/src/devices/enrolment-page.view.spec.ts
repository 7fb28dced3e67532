import { describe, expect, it } from '@jest/globals';
import { enrolServiceWorkerScript } from './enrolment-assets.js';
import { enrolmentPageCsp, renderEnrolmentPage } from './enrolment-page.view.js';

const model = { applicationServerKey: 'BPub-Key_123', csrfToken: 'c'.repeat(43), scriptPath: 'assets/enrol.js', nonce: 'n0nce' };

describe('renderEnrolmentPage', () => {
  it('explains what enrolling does and offers one labelled control and one button', () => {
    const html = renderEnrolmentPage(model);
    expect(html).toMatch(/<h1>Get sign-in requests on this device<\/h1>/);
    expect(html).toContain('approve or deny it');
    expect(html).toContain('<label for="device-label">Name for this device (optional)</label>');
    expect(html).toContain('<button type="submit" class="enrol">Turn on sign-in notifications</button>');
    expect(html).toContain('role="status" aria-live="polite"');
    expect(html).toContain('<noscript>');
  });

  it('loads its only script from this origin under the nonce; no inline script or handler', () => {
    const html = renderEnrolmentPage(model);
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).toContain('<script nonce="n0nce" src="assets/enrol.js"></script>');
    expect(html).not.toMatch(/<script[^>]*>[^<]/);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).toContain('<style nonce="n0nce">');
  });

  it('hands the VAPID key and the CSRF token to the script as escaped data attributes', () => {
    const html = renderEnrolmentPage({ ...model, applicationServerKey: '"><x' });
    expect(html).toContain('data-application-server-key="&quot;&gt;&lt;x"');
    expect(html).toContain(`data-csrf="${'c'.repeat(43)}"`);
  });
});

describe('renderEnrolmentPage: passkeys', () => {
  const passkey = { options: { challenge: 'Y2g', rp: { id: 'op.example' }, user: { id: 'dQ', name: '"><b>' } }, scriptPath: 'assets/passkey.js' };

  it('adds "Add a passkey" below the device section, with its own script, status region and escaped options', () => {
    const html = renderEnrolmentPage({ ...model, passkey });
    expect(html).toMatch(/<h1>Get sign-in requests on this device<\/h1>/);
    expect(html).toContain('<h2>Add a passkey</h2>');
    expect(html).toContain('<button type="submit" class="enrol">Add a passkey</button>');
    expect(html).toContain('<p id="passkey-status" class="status" role="status" aria-live="polite"></p>');
    expect(html).toContain('data-passkey-options="{&quot;challenge&quot;:&quot;Y2g&quot;');
    expect(html).not.toContain('"><b>');
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html).toContain('<script nonce="n0nce" src="assets/passkey.js"></script>');
    expect(html).toContain('works once for each');
  });

  it('offers only the passkey when the link cannot register a device', () => {
    const html = renderEnrolmentPage({ ...model, applicationServerKey: null, passkey });
    expect(html).toContain('<h1>Add a passkey</h1>');
    expect(html).toContain('<title>Add a passkey</title>');
    expect(html).not.toContain('enrol-form');
    expect(html).not.toContain('assets/enrol.js');
    expect(html.match(/<script/g)).toHaveLength(1);
  });
});

describe('enrolmentPageCsp', () => {
  it("is the approval page's policy plus our script by nonce, fetch and a service worker from this origin only", () => {
    expect(enrolmentPageCsp('N')).toBe(
      "default-src 'none'; script-src 'nonce-N'; style-src 'nonce-N'; connect-src 'self'; worker-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; img-src 'none'",
    );
  });
});

describe('enrolServiceWorkerScript', () => {
  it('shows every push with requireInteraction and opens only links on the notifier origin', () => {
    const sw = enrolServiceWorkerScript('https://op.example.com');
    expect(sw).toContain('var NOTIFIER_ORIGIN = "https://op.example.com";');
    expect(sw).toContain('showNotification(title, { body: body, data: { url: url }, requireInteraction: true })');
    expect(sw).toContain('if (typeof url === \'string\' && isOurs(url)) event.waitUntil(self.clients.openWindow(url));');
  });

  it('embeds the origin as a JSON string literal that cannot close a script', () => {
    expect(enrolServiceWorkerScript('https://x"</script>')).toContain('var NOTIFIER_ORIGIN = "https://x\\"\\u003c/script>";');
  });
});

describe('renderEnrolmentPage: the user\'s devices', () => {
  const listed = [
    { id: '0b7c3f7e-5a1d-4c2b-9f1e-2d3c4b5a6f70', label: '<img src=x onerror=alert(1)>', kind: 'fcm' as const, createdAt: new Date('2030-01-01T10:00:00Z') },
    { id: '1b7c3f7e-5a1d-4c2b-9f1e-2d3c4b5a6f71', label: null, kind: 'web-push' as const, createdAt: new Date('2030-01-02T11:30:00Z') },
  ];

  it('lists each active device with a Remove form (CSRF field, device id) posting to the link, labels escaped, no script added', () => {
    const html = renderEnrolmentPage({ ...model, devices: { listed, removePath: 'tok/remove' } });
    expect(html).toContain('<h2>Devices that get your sign-in requests</h2>');
    expect(html.match(/<form method="post" action="tok\/remove">/g)).toHaveLength(2);
    expect(html).toContain(`<input type="hidden" name="device" value="${listed[0].id}">`);
    expect(html.match(new RegExp(`<input type="hidden" name="csrf" value="${'c'.repeat(43)}">`, 'g'))).toHaveLength(2);
    expect(html).toContain('<strong>&lt;img src=x onerror=alert(1)&gt;</strong>, added 2030-01-01 10:00 UTC');
    expect(html).toContain('<strong>a web browser</strong>, added 2030-01-02 11:30 UTC');
    expect(html).not.toContain('<img');
    expect(html.match(/<script/g)).toHaveLength(1);
  });

  it('shows no section when the user has no device', () => {
    expect(renderEnrolmentPage({ ...model, devices: { listed: [], removePath: 'tok/remove' } })).not.toContain('Devices that get your sign-in requests');
  });
});
