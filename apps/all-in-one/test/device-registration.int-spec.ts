import { execFile } from 'node:child_process';
import { type Agent } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type WebPushChannel, type WebPushSubscription } from '@ciba/channels';
import { DeviceEnrolment, DeviceRegistry, EnrolmentRefused, channelsFromEnvironment } from '@ciba/service-notifier';
import { sha256Base64url } from '@ciba/tokens';
import { type SmppPeer, SmtpPeer, WebPushReceiver, awaitRecorded, mailParts, smtpEnvironment, waitFor } from '@ciba/testing';
import {
  type Answer,
  ENROL_LINK,
  VAPID,
  answer,
  deviceApi,
  emailedEnrolLink,
  enrolCsrfOf,
  enrolLinkMailed,
  idTokenFor,
  postToEnrolLink,
  startDeviceRegistrationProvider,
  webPushSubscription,
  webPushTo,
} from './device-registration.harness.js';
import { CLIENTS, type TestProvider, startTestProvider } from './provider-harness.js';

const FCM_TOKEN = () => `fcm-${Math.random().toString(36).slice(2)}:APA91b${'x'.repeat(140)}`;
const ENROL_TTL_SECONDS = 900;
const ID_TOKEN_TTL_SECONDS = 600;
const REGISTRATION_TTL_SECONDS = 90 * 24 * 3600;
const ANDROID_CHROME = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';

describe('device registration for device push', () => {
  let op: TestProvider;
  let smtp: SmtpPeer;
  let smsc: SmppPeer;
  let close: () => Promise<void>;
  let origin: string;

  beforeAll(async () => {
    ({ op, smtp, smsc, close } = await startDeviceRegistrationProvider());
    origin = new URL(op.url).origin;
  }, 30_000);
  afterAll(() => close());

  const get = async (url: string, headers: Record<string, string> = {}) => answer(await fetch(url, { headers }));
  /** GET the enrolment page, then POST `body` with its CSRF cookie and header, as the page's script does. */
  async function submit(link: string, body: unknown, override: { header?: string; cookie?: string | null; origin?: string } = {}): Promise<Answer> {
    const page = await get(link);
    const csrf = enrolCsrfOf(page.text, page.headers.get('set-cookie'));
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-csrf-token': override.header ?? csrf.header, origin: override.origin ?? origin };
    const cookie = override.cookie === undefined ? csrf.cookie : override.cookie;
    if (cookie !== null) headers['cookie'] = `ciba_enrol_csrf=${cookie}`;
    return answer(await fetch(link, { method: 'POST', headers, body: JSON.stringify(body) }));
  }
  const api = (method: string, path: string, call: Parameters<typeof deviceApi>[3] = {}) => deviceApi(op, method, path, call);
  const listFor = (sub: string) => op.app.get(DeviceRegistry).listActive(sub);
  const endpointsOf = async (sub: string) =>
    (await listFor(sub)).flatMap((d) => (d.target.kind === 'web-push' ? [d.target.subscription.endpoint] : [d.target.registrationToken]));

  describe('enrolment links (DeviceEnrolment.sendLink)', () => {
    it('emails a one-time link on the notifier URL to the verified address, and stores only its SHA-256 with the expiry', async () => {
      const before = op.clock.now();
      const link = await emailedEnrolLink(op, smtp);
      expect(link).toMatch(new RegExp(`^${op.config.publicUrls.notifier}/enrol/[A-Za-z0-9_-]{43}$`));
      const token = link.split('/').pop()!;
      const rows = await op.db.dataSource.query<{ token_hash: string; subject: string; sent_via: string; expires_at: Date }[]>(
        'SELECT token_hash, subject, sent_via, expires_at FROM enrolment_tokens WHERE token_hash IN ($1, $2)',
        [token, sha256Base64url(token)],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ token_hash: sha256Base64url(token), subject: 'alice', sent_via: 'email' });
      const ttl = (rows[0].expires_at.getTime() - before.getTime()) / 1000;
      expect(ttl).toBeGreaterThanOrEqual(ENROL_TTL_SECONDS - 1);
      expect(ttl).toBeLessThanOrEqual(ENROL_TTL_SECONDS + 5);
      const mail = smtp.received.find((m) => (mailParts(m.raw).text ?? '').includes(link))!;
      expect(mailParts(mail.raw).headers.get('subject')).toBe('Get sign-in requests on your device');
    });

    it('texts the link over SMPP to the verified phone number in E.164', async () => {
      const sent = await op.app.get(DeviceEnrolment).sendLink('alice', 'sms');
      expect(sent.outcome.kind).toBe('sent');
      const sms = await awaitRecorded(smsc.submitted, (m) => m.destination === '15555550100' && m.text.endsWith(sent.enrolUrl), 'the enrolment SMS');
      expect(sms.status).toBe(0);
      expect(sms.text.startsWith('Get sign-in requests on this phone')).toBe(true);
    });

    it('a user without a verified email address (or phone number) gets no link, and nothing is stored or sent', async () => {
      // Counted by what they carry: new-device announcements to alice may arrive meanwhile.
      const enrolmentMails = () => smtp.received.filter((m) => ENROL_LINK.test(mailParts(m.raw).text ?? '')).length;
      const enrolmentTexts = () => smsc.submitted.filter((m) => ENROL_LINK.test(m.text)).length;
      const mails = enrolmentMails();
      const texts = enrolmentTexts();
      const enrolment = op.app.get(DeviceEnrolment);
      await expect(enrolment.sendLink('bob', 'email')).rejects.toMatchObject({ name: 'EnrolmentRefused', reason: 'no_verified_address', message: 'the user has no verified email address' });
      await expect(enrolment.sendLink('bob', 'sms')).rejects.toMatchObject({ reason: 'no_verified_address' });
      await expect(enrolment.sendLink('nobody', 'email')).rejects.toBeInstanceOf(EnrolmentRefused);
      const [row] = await op.db.dataSource.query<{ n: string }[]>(`SELECT count(*) AS n FROM enrolment_tokens WHERE subject = 'bob'`);
      expect(row.n).toBe('0');
      expect(enrolmentMails()).toBe(mails);
      expect(enrolmentTexts()).toBe(texts);
    });
  });

  describe('the enrolment page (GET /enrol/:token)', () => {
    it('explains enrolling and carries the VAPID key, a CSRF cookie, a strict CSP with nonce, no-store; GET twice does not use the link up', async () => {
      const link = await emailedEnrolLink(op, smtp);
      const page = await get(link);
      expect(page.status).toBe(200);
      expect(page.text).toContain('Get sign-in requests on this device');
      expect(page.text).toContain(`data-application-server-key="${VAPID.publicKey}"`);
      expect(page.headers.get('cache-control')).toBe('no-store');
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      const csp = page.headers.get('content-security-policy') ?? '';
      const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
      expect(nonce).toBeTruthy();
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("worker-src 'self'");
      expect(csp).not.toContain('unsafe');
      expect(page.text).toContain(`<script nonce="${nonce}" src="assets/enrol.js"></script>`);
      expect(page.headers.get('set-cookie')).toMatch(/^ciba_enrol_csrf=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/enrol; Max-Age=900$/);
      const csrf = enrolCsrfOf(page.text, page.headers.get('set-cookie'));
      expect(csrf.header).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(csrf.header).not.toBe(csrf.cookie);

      expect((await get(link)).status).toBe(200);
      expect((await submit(link, { subscription: webPushSubscription() })).status).toBe(201);
    });

    it('serves the page script and the service worker from this origin as text/javascript; the worker opens only notifier links', async () => {
      const script = await get(`${op.url}/enrol/assets/enrol.js`);
      expect(script.status).toBe(200);
      expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(script.headers.get('x-content-type-options')).toBe('nosniff');
      expect(script.text).toContain('pushManager.subscribe');
      expect(script.text).toContain('userVisibleOnly: true');
      const worker = await get(`${op.url}/enrol/sw.js`);
      expect(worker.status).toBe(200);
      expect(worker.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(worker.text).toContain(`var NOTIFIER_ORIGIN = ${JSON.stringify(new URL(op.config.publicUrls.notifier).origin)};`);
      expect(worker.text).toContain('requireInteraction: true');
    });

    it('an unknown, malformed, used or expired link is a 410 "Link no longer valid" page', async () => {
      for (const path of ['/enrol/' + 'A'.repeat(43), '/enrol/short', '/enrol/' + 'A'.repeat(43) + '%20']) {
        const res = await get(`${op.url}${path}`);
        expect({ path, status: res.status }).toEqual({ path, status: 410 });
        expect(res.text).toContain('Link no longer valid');
        expect(res.headers.get('cache-control')).toBe('no-store');
      }
      const used = await emailedEnrolLink(op, smtp);
      expect((await submit(used, { subscription: webPushSubscription() })).status).toBe(201);
      expect((await get(used)).status).toBe(410);

      const expired = await emailedEnrolLink(op, smtp);
      op.clock.advance(ENROL_TTL_SECONDS + 1);
      const res = await get(expired);
      expect(res.status).toBe(410);
      expect(res.text).toContain('This link is no longer valid');
    });
  });

  describe('registering from the page (POST /enrol/:token)', () => {
    it('without the CSRF cookie, with a mismatching header or from another origin: 403, and the link stays usable', async () => {
      const link = await emailedEnrolLink(op, smtp);
      const subscription = webPushSubscription();
      expect((await submit(link, { subscription }, { cookie: null })).status).toBe(403);
      expect((await submit(link, { subscription }, { header: 'x'.repeat(43) })).status).toBe(403);
      const crossSite = await submit(link, { subscription }, { origin: 'https://evil.example' });
      expect(crossSite.status).toBe(403);
      expect(crossSite.json['message']).toContain('could not confirm the request came from you');
      expect(await endpointsOf('alice')).not.toContain(subscription.endpoint);
      expect((await submit(link, { subscription })).status).toBe(201);
    });

    it.each<[string, (s: WebPushSubscription) => unknown]>([
      ['an http endpoint', (s) => ({ ...s, endpoint: s.endpoint.replace('https:', 'http:') })],
      ['a javascript: endpoint', (s) => ({ ...s, endpoint: 'javascript:alert(1)' })],
      ['a 12-byte auth secret', (s) => ({ ...s, keys: { ...s.keys, auth: 'AAAAAAAAAAAAAAAA' } })],
      ['a p256dh that is not a P-256 point', (s) => ({ ...s, keys: { ...s.keys, p256dh: Buffer.alloc(65, 1).toString('base64url') } })],
      ['no keys', (s) => ({ endpoint: s.endpoint })],
      ['a string', () => 'subscription'],
    ])('rejects a subscription with %s (400), without using the link up', async (_label, mangle) => {
      const link = await emailedEnrolLink(op, smtp);
      const bad = await submit(link, { subscription: mangle(webPushSubscription()) });
      expect(bad.status).toBe(400);
      expect(bad.json['message']).toContain('push subscription this service cannot use');
      expect((await get(link)).status).toBe(200);
    });

    it('registers the subscription for the link\'s user (201), named by the user or after the browser; the link then answers 410', async () => {
      const link = await emailedEnrolLink(op, smtp);
      const named = webPushSubscription();
      const res = await submit(link, { subscription: named, label: '  Work\nphone ' });
      expect(res.status).toBe(201);
      expect(res.json['message']).toContain('This device will now show your sign-in requests');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('set-cookie')).toMatch(/^ciba_enrol_csrf=; .*Max-Age=0/);
      const device = (await listFor('alice')).find((d) => d.target.kind === 'web-push' && d.target.subscription.endpoint === named.endpoint);
      expect(device).toMatchObject({ subject: 'alice', label: 'Work phone', target: { kind: 'web-push', subscription: named } });

      const again = await submit(link, { subscription: webPushSubscription() });
      expect(again.status).toBe(410);
      expect((await get(link)).status).toBe(410);

      const unnamed = webPushSubscription();
      const link2 = await emailedEnrolLink(op, smtp);
      const page = await get(link2);
      const csrf = enrolCsrfOf(page.text, page.headers.get('set-cookie'));
      const posted = await postToEnrolLink(link2, csrf, { subscription: unnamed }, { 'user-agent': ANDROID_CHROME });
      expect(posted.status).toBe(201);
      expect((await listFor('alice')).find((d) => d.target.kind === 'web-push' && d.target.subscription.endpoint === unnamed.endpoint)?.label).toBe('Chrome on Android');
    });

    it('single use under concurrency: of two simultaneous POSTs with one link exactly one registers', async () => {
      const link = await emailedEnrolLink(op, smtp);
      const page = await get(link);
      const csrf = enrolCsrfOf(page.text, page.headers.get('set-cookie'));
      const post = (subscription: WebPushSubscription) => postToEnrolLink(link, csrf, { subscription });
      const [a, b] = [webPushSubscription(), webPushSubscription()];
      const statuses = (await Promise.all([post(a), post(b)])).map((r) => r.status).sort();
      expect(statuses).toEqual([201, 410]);
      const endpoints = await endpointsOf('alice');
      expect([a, b].filter((s) => endpoints.includes(s.endpoint))).toHaveLength(1);
    });

    it('an expired link cannot register (410), even with the page\'s CSRF token', async () => {
      const link = await emailedEnrolLink(op, smtp);
      const page = await get(link);
      const csrf = enrolCsrfOf(page.text, page.headers.get('set-cookie'));
      op.clock.advance(ENROL_TTL_SECONDS + 1);
      const subscription = webPushSubscription();
      const res = await postToEnrolLink(link, csrf, { subscription });
      expect(res.status).toBe(410);
      expect(await endpointsOf('alice')).not.toContain(subscription.endpoint);
    });

    it('registering the same subscription again replaces the old device: one active registration per subscription', async () => {
      const subscription = webPushSubscription();
      expect((await submit(await emailedEnrolLink(op, smtp), { subscription, label: 'first' })).status).toBe(201);
      const [first] = (await listFor('alice')).filter((d) => d.label === 'first');
      expect((await submit(await emailedEnrolLink(op, smtp), { subscription, label: 'second' })).status).toBe(201);
      const same = (await listFor('alice')).filter((d) => d.target.kind === 'web-push' && d.target.subscription.endpoint === subscription.endpoint);
      expect(same.map((d) => d.label)).toEqual(['second']);
      const [old] = await op.db.dataSource.query<{ revoked_reason: string | null }[]>('SELECT revoked_reason FROM devices WHERE id = $1', [first.id]);
      expect(old.revoked_reason).toBe('replaced');
    });
  });

  describe('the device API (/ext/ciba/devices)', () => {
    const console_ = CLIENTS.basic;

    it('POST with Authorization: Bearer <enrolment token> registers an FCM token: 201 {device_id, kind, label, created_at, expires_at}; the token is then used up (401)', async () => {
      const token = (await emailedEnrolLink(op, smtp)).split('/').pop()!;
      const registrationToken = FCM_TOKEN();
      const res = await api('POST', '/ext/ciba/devices', { bearer: token, body: { kind: 'fcm', registration_token: registrationToken, label: 'Banking app' } });
      expect(res.status).toBe(201);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(Object.keys(res.json).sort()).toEqual(['created_at', 'device_id', 'expires_at', 'kind', 'label']);
      expect(res.json).toMatchObject({ kind: 'fcm', label: 'Banking app', device_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      expect(Date.parse(String(res.json['expires_at'])) - Date.parse(String(res.json['created_at']))).toBe(REGISTRATION_TTL_SECONDS * 1000);
      expect(res.text).not.toContain(registrationToken);
      expect(await endpointsOf('alice')).toContain(registrationToken);

      const reuse = await api('POST', '/ext/ciba/devices', { bearer: token, body: { kind: 'fcm', registration_token: FCM_TOKEN() } });
      expect({ status: reuse.status, error: reuse.json['error'] }).toEqual({ status: 401, error: 'invalid_token' });
      expect(reuse.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    });

    it('POST with client authentication (Basic) and the ID token that client got from a real CIBA flow, as id_token_hint or in ID-Token-Hint, registers for its sub', async () => {
      const idToken = await idTokenFor(op, 'bob');
      const subscription = webPushSubscription();
      const res = await api('POST', '/ext/ciba/devices', { client: console_, idToken, body: { kind: 'web-push', subscription } });
      expect(res.status).toBe(201);
      expect(res.json).toMatchObject({ kind: 'web-push', label: null });
      expect(await endpointsOf('bob')).toContain(subscription.endpoint);
      expect(await endpointsOf('alice')).not.toContain(subscription.endpoint);
      const [row] = await op.db.dataSource.query<{ client_id: string | null }[]>('SELECT client_id FROM devices WHERE id = $1', [res.json['device_id']]);
      expect(row.client_id).toBe(console_.id);

      const inHeader = await api('POST', '/ext/ciba/devices', { client: console_, idToken, idTokenIn: 'header', body: { kind: 'fcm', registration_token: FCM_TOKEN() } });
      expect(inHeader.status).toBe(201);
    });

    it('POST is refused: no credential (401 invalid_client), two credentials, a bad id_token_hint, a bad shape, a non-JSON body (400 invalid_request); a refused shape does not use the enrolment token up', async () => {
      const subscription = webPushSubscription();
      const none = await api('POST', '/ext/ciba/devices', { body: { kind: 'web-push', subscription } });
      expect({ status: none.status, error: none.json['error'] }).toEqual({ status: 401, error: 'invalid_client' });
      expect(none.headers.get('www-authenticate')).toMatch(/^Basic /);

      const token = (await emailedEnrolLink(op, smtp)).split('/').pop()!;
      const idToken = await idTokenFor(op, 'alice');
      const both = await api('POST', '/ext/ciba/devices', { bearer: token, body: { kind: 'web-push', subscription, id_token_hint: idToken } });
      expect({ status: both.status, error: both.json['error'] }).toEqual({ status: 400, error: 'invalid_request' });
      const twice = await api('POST', '/ext/ciba/devices', { client: console_, idToken, body: { kind: 'web-push', subscription }, headers: { 'id-token-hint': idToken } });
      expect({ status: twice.status, error: twice.json['error'] }).toEqual({ status: 400, error: 'invalid_request' });

      const forged = `${idToken.slice(0, -4)}AAAA`;
      const badHint = await api('POST', '/ext/ciba/devices', { client: console_, idToken: forged, body: { kind: 'web-push', subscription } });
      expect({ status: badHint.status, body: badHint.json }).toEqual({
        status: 400,
        body: { error: 'invalid_request', error_description: 'id_token_hint is not a valid, unexpired ID token issued by this provider' },
      });
      const noHint = await api('POST', '/ext/ciba/devices', { client: console_, body: { kind: 'web-push', subscription } });
      expect({ status: noHint.status, error: noHint.json['error'] }).toEqual({ status: 400, error: 'invalid_request' });

      const badShape = await api('POST', '/ext/ciba/devices', { bearer: token, body: { kind: 'web-push', subscription: { ...subscription, endpoint: 'http://push.example.net/x' } } });
      expect(badShape.status).toBe(400);
      expect(badShape.json).toEqual({ error: 'invalid_request', error_description: 'subscription.endpoint must be an https URL' });
      // SSRF: the notifier would POST to the endpoint; only allowed push services are registered.
      const notAPushService = await api('POST', '/ext/ciba/devices', { bearer: token, body: { kind: 'web-push', subscription: { ...subscription, endpoint: 'https://169.254.169.254/latest/meta-data' } } });
      expect({ status: notAPushService.status, body: notAPushService.json }).toEqual({
        status: 400,
        body: { error: 'invalid_request', error_description: 'subscription.endpoint is not an allowed push service' },
      });
      const unknownKind = await api('POST', '/ext/ciba/devices', { bearer: token, body: { kind: 'apns', token: 'x' } });
      expect(unknownKind.json['error_description']).toBe('kind must be "fcm" or "web-push"');
      const form = await answer(await fetch(`${op.url}/ext/ciba/devices`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'kind=fcm' }));
      expect({ status: form.status, error: form.json['error'] }).toEqual({ status: 400, error: 'invalid_request' });

      expect((await api('POST', '/ext/ciba/devices', { bearer: token, body: { kind: 'web-push', subscription } })).status).toBe(201);
      expect(await endpointsOf('alice')).toContain(subscription.endpoint);
    });

    it('GET lists the client\'s own registrations for the user with device_id, kind, label, created_at, expires_at, last_used_at only — never the subscription or registration token', async () => {
      const idToken = await idTokenFor(op, 'alice');
      const subscription = webPushSubscription();
      const registrationToken = FCM_TOKEN();
      await api('POST', '/ext/ciba/devices', { client: console_, idToken, body: { kind: 'web-push', subscription, label: 'Laptop' } });
      await api('POST', '/ext/ciba/devices', { client: console_, idToken, body: { kind: 'fcm', registration_token: registrationToken } });

      const res = await api('GET', '/ext/ciba/devices', { client: console_, idToken });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const devices = res.json['devices'] as Record<string, unknown>[];
      expect(devices.length).toBe((await op.app.get(DeviceRegistry).listActive('alice', console_.id)).length);
      for (const d of devices) expect(Object.keys(d).sort()).toEqual(['created_at', 'device_id', 'expires_at', 'kind', 'label', 'last_used_at']);
      expect(devices).toContainEqual(expect.objectContaining({ kind: 'web-push', label: 'Laptop', last_used_at: null }));
      expect(res.text).not.toContain(subscription.endpoint);
      expect(res.text).not.toContain(subscription.keys.p256dh);
      expect(res.text).not.toContain(registrationToken);
      const bobs = await api('GET', '/ext/ciba/devices', { client: console_, idToken: await idTokenFor(op, 'bob') });
      expect((bobs.json['devices'] as unknown[]).length).toBe((await op.app.get(DeviceRegistry).listActive('bob', console_.id)).length);
      expect(bobs.text).not.toContain('Laptop');
    });

    it('GET and DELETE need client authentication (401 invalid_client) and an unexpired ID token of ours issued to it: missing, forged, an access token or expired → 400 invalid_request', async () => {
      const message = `Expiry ${Date.now()}`;
      const { authReqId } = await op.authorize({ binding_message: message });
      const { decisionToken } = await op.notification((b) => b['binding_message'] === message);
      await op.decide(decisionToken, 'SUCCEED');
      const tokens = (await op.token(authReqId)).body;
      const idToken = String(tokens['id_token']);
      const accessToken = String(tokens['access_token']);

      const missing = await api('GET', '/ext/ciba/devices');
      expect({ status: missing.status, error: missing.json['error'] }).toEqual({ status: 401, error: 'invalid_client' });
      const wrongSecret = await api('GET', '/ext/ciba/devices', { client: { ...console_, secret: 'not-the-secret' }, idToken });
      expect({ status: wrongSecret.status, error: wrongSecret.json['error'] }).toEqual({ status: 401, error: 'invalid_client' });
      expect(wrongSecret.headers.get('www-authenticate')).toMatch(/^Basic /);
      const unknownBearer = await api('GET', '/ext/ciba/devices', { bearer: 'A'.repeat(43) });
      expect({ status: unknownBearer.status, error: unknownBearer.json['error'] }).toEqual({ status: 401, error: 'invalid_token' });
      expect(unknownBearer.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expect((await api('GET', '/ext/ciba/devices', { client: console_ })).status).toBe(400);
      for (const bad of [`${idToken.slice(0, -4)}AAAA`, accessToken, 'A'.repeat(43)]) {
        const res = await api('GET', '/ext/ciba/devices', { client: console_, idToken: bad });
        expect({ status: res.status, error: res.json['error'] }).toEqual({ status: 400, error: 'invalid_request' });
      }
      expect((await api('GET', '/ext/ciba/devices', { client: console_, idToken })).status).toBe(200);
      op.clock.advance(ID_TOKEN_TTL_SECONDS + 1);
      for (const [method, path] of [['GET', '/ext/ciba/devices'], ['DELETE', '/ext/ciba/devices/0b7c3f7e-5a1d-4c2b-9f1e-2d3c4b5a6f70']] as const) {
        const expired = await api(method, path, { client: console_, idToken });
        expect({ method, status: expired.status, error: expired.json['error'] }).toEqual({ method, status: 400, error: 'invalid_request' });
      }
      const expiredHint = await api('POST', '/ext/ciba/devices', { client: console_, idToken, body: { kind: 'web-push', subscription: webPushSubscription() } });
      expect({ status: expiredHint.status, error: expiredHint.json['error'] }).toEqual({ status: 400, error: 'invalid_request' });
    });

    it('DELETE revokes the client\'s own registration (204): it leaves the list and the notifier\'s targets; a second DELETE is 404', async () => {
      const idToken = await idTokenFor(op, 'alice');
      const subscription = webPushSubscription();
      const created = await api('POST', '/ext/ciba/devices', { client: console_, idToken, body: { kind: 'web-push', subscription } });
      const id = String(created.json['device_id']);
      const res = await api('DELETE', `/ext/ciba/devices/${id}`, { client: console_, idToken });
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      const listed = await api('GET', '/ext/ciba/devices', { client: console_, idToken });
      expect((listed.json['devices'] as { device_id: string }[]).map((d) => d.device_id)).not.toContain(id);
      expect(await endpointsOf('alice')).not.toContain(subscription.endpoint);
      const again = await api('DELETE', `/ext/ciba/devices/${id}`, { client: console_, idToken });
      expect({ status: again.status, error: again.json['error'] }).toEqual({ status: 404, error: 'invalid_request' });
    });

    it('DELETE of another user\'s device answers exactly like an unknown id (404 invalid_request), and the device stays active', async () => {
      const alice = await idTokenFor(op, 'alice');
      const bob = await idTokenFor(op, 'bob');
      const created = await api('POST', '/ext/ciba/devices', { client: console_, idToken: alice, body: { kind: 'fcm', registration_token: FCM_TOKEN() } });
      const id = String(created.json['device_id']);
      const theirs = await api('DELETE', `/ext/ciba/devices/${id}`, { client: console_, idToken: bob });
      const unknown = await api('DELETE', '/ext/ciba/devices/0b7c3f7e-5a1d-4c2b-9f1e-2d3c4b5a6f70', { client: console_, idToken: bob });
      const malformed = await api('DELETE', "/ext/ciba/devices/x'%20OR%201=1", { client: console_, idToken: bob });
      for (const res of [theirs, unknown, malformed]) {
        expect({ status: res.status, body: res.json }).toEqual({ status: 404, body: { error: 'invalid_request', error_description: 'no such device' } });
      }
      expect((await listFor('alice')).map((d) => d.id)).toContain(id);
    });

    it('with the user\'s open enrolment link (bearer) GET lists all the user\'s devices and DELETE removes any of them', async () => {
      const byClient = await api('POST', '/ext/ciba/devices', { client: console_, idToken: await idTokenFor(op, 'alice'), body: { kind: 'fcm', registration_token: FCM_TOKEN() } });
      const token = (await emailedEnrolLink(op, smtp)).split('/').pop()!;
      const listed = await api('GET', '/ext/ciba/devices', { bearer: token });
      expect(listed.status).toBe(200);
      expect((listed.json['devices'] as { device_id: string }[]).map((d) => d.device_id).sort()).toEqual((await listFor('alice')).map((d) => d.id).sort());
      expect((await api('DELETE', `/ext/ciba/devices/${String(byClient.json['device_id'])}`, { bearer: token })).status).toBe(204);
      expect((await listFor('alice')).map((d) => d.id)).not.toContain(byClient.json['device_id']);
      // Listing and removing do not use the link up.
      expect((await get(`${op.url}/enrol/${token}`)).status).toBe(200);
    });

    it('other methods answer 405 with Allow', async () => {
      const put = await api('PUT', '/ext/ciba/devices', { body: {} });
      expect({ status: put.status, allow: put.headers.get('allow') }).toEqual({ status: 405, allow: 'GET, POST' });
      const patch = await api('PATCH', '/ext/ciba/devices/0b7c3f7e-5a1d-4c2b-9f1e-2d3c4b5a6f70', { body: {} });
      expect({ status: patch.status, allow: patch.headers.get('allow') }).toEqual({ status: 405, allow: 'DELETE' });
    });
  });

});

describe('device registration when a device-push adapter is off', () => {
  let op: TestProvider;
  let smtp: SmtpPeer;
  let close: () => Promise<void>;
  beforeAll(async () => {
    // Email for the links, FCM on, Web Push off.
    ({ op, smtp, close } = await startDeviceRegistrationProvider((channels) => ({ ...channels, devicePush: channels.devicePush.filter((c) => c.vendor === 'fcm') })));
  }, 30_000);
  afterAll(() => close());

  it('without Web Push the enrolment page says device push is not available, offers no button, and the POST registers nothing', async () => {
    const link = await emailedEnrolLink(op, smtp);
    const page = await answer(await fetch(link));
    expect(page.status).toBe(200);
    expect(page.text).toContain('Device notifications are not available');
    expect(page.text).not.toContain('<button');
    expect(page.text).not.toMatch(/<script/);
    const post = await answer(await fetch(link, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ subscription: webPushSubscription() }) }));
    expect(post.status).not.toBe(201);
    expect(await op.app.get(DeviceRegistry).listActive('alice')).toEqual([]);
  });

  it('the API refuses a kind no enabled adapter can reach (400 invalid_request) without using the enrolment token up', async () => {
    const token = (await emailedEnrolLink(op, smtp)).split('/').pop()!;
    const post = (body: unknown) =>
      fetch(`${op.url}/ext/ciba/devices`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(answer);
    const refused = await post({ kind: 'web-push', subscription: webPushSubscription() });
    expect({ status: refused.status, body: refused.json }).toEqual({ status: 400, body: { error: 'invalid_request', error_description: 'device push by web-push is not enabled on this provider' } });
    expect((await post({ kind: 'fcm', registration_token: FCM_TOKEN() })).status).toBe(201);
  });
});

describe('a browser enrolled through the page receives sign-in requests', () => {
  let op: TestProvider;
  let smtp: SmtpPeer;
  let pushService: WebPushReceiver;
  let agent: Agent;
  beforeAll(async () => {
    smtp = await SmtpPeer.start();
    pushService = await WebPushReceiver.start();
    let webPush: WebPushChannel;
    ({ webPush, agent } = webPushTo(pushService));
    const { email } = channelsFromEnvironment(smtpEnvironment(smtp));
    // No HTTP authentication device: device push is the first channel that reaches alice.
    op = await startTestProvider({ CIBA_AUTH_CHANNEL_URI: '' }, { channels: { email, sms: null, devicePush: [webPush] } });
  }, 30_000);
  afterAll(async () => {
    await op.close();
    agent.destroy();
    await pushService.close();
    await smtp.close();
  });

  it('enrol link by email → page POST with the browser\'s subscription → bc-authorize → the push carries the approval link, and the device is marked used', async () => {
    const link = await emailedEnrolLink(op, smtp);
    const subscription = pushService.subscribe(VAPID.publicKey);
    const page = await fetch(link);
    const csrf = enrolCsrfOf(await page.text(), page.headers.get('set-cookie'));
    const enrolled = await postToEnrolLink(link, csrf, { subscription, label: 'Phone' });
    expect(enrolled.status).toBe(201);

    const message = `Enrolled ${Date.now()}`;
    await op.authorize({ binding_message: message });
    const push = await pushService.pushTo(subscription);
    expect(push.payload).toEqual({ title: 'Sign-in request from Console (basic)', body: message, url: expect.stringMatching(new RegExp(`^${op.config.publicUrls.notifier}/approve/[A-Za-z0-9_-]{43}$`)) });
    const registry = op.app.get(DeviceRegistry);
    await waitFor(async () => (await registry.listActive('alice')).some((d) => d.label === 'Phone' && d.lastUsedAt !== null), { description: 'the enrolled device marked used' });
  });
});

describe('admin CLI: devices (apps/admin, built)', () => {
  // Its own provider: the CLI runs on the system clock, which the tests above have left behind.
  let op: TestProvider;
  let smtp: SmtpPeer;
  let close: () => Promise<void>;
  beforeAll(async () => {
    // The CLI does not talk to the bus: the notifier's sweeper publishes its revocations, here within a second.
    ({ op, smtp, close } = await startDeviceRegistrationProvider(undefined, { CIBA_RENOTIFY_AFTER_MS: '1000' }));
  }, 30_000);
  afterAll(() => close());
  const get = async (url: string) => answer(await fetch(url));
  const listFor = (sub: string) => op.app.get(DeviceRegistry).listActive(sub);
  const registerFcm = async (registrationToken: string, label: string) =>
    deviceApi(op, 'POST', '/ext/ciba/devices', { client: CLIENTS.basic, idToken: await idTokenFor(op, 'alice'), body: { kind: 'fcm', registration_token: registrationToken, label } });

  const exec = promisify(execFile);
  const cli = join(process.cwd(), 'apps/admin/dist/main.js');
  async function admin(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = { PATH: process.env['PATH'] ?? '', CIBA_DATABASE_URL: op.db.url, CIBA_KEY_ENCRYPTION_KEY: op.config.keys.encryptionKey, CIBA_ISSUER: op.url, CIBA_LOG_LEVEL: 'silent', ...extraEnv };
    try {
      const { stdout, stderr } = await exec(process.execPath, [cli, ...args], { env });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it('devices list prints id, kind, label, dates and the registering client, never a target; devices revoke ends one registration, audited', async () => {
    const registrationToken = FCM_TOKEN();
    const created = await registerFcm(registrationToken, 'CLI phone');
    const id = String(created.json['device_id']);
    const list = await admin(['devices', 'list', 'alice']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${id}  fcm  "CLI phone"  created \\S+  expires \\S+  last used -  registered by client ${CLIENTS.basic.id}$`, 'm'));
    expect(list.stdout).not.toContain(registrationToken);
    expect(list.stdout).not.toContain('push.example.net');

    expect(await admin(['devices', 'revoke', 'bob', id])).toMatchObject({ code: 1, stderr: `no active device ${id} for bob\n` });
    expect(await admin(['devices', 'revoke', 'alice', id])).toMatchObject({ code: 0, stdout: `device ${id} revoked\n` });
    expect((await listFor('alice')).map((d) => d.id)).not.toContain(id);
    expect((await admin(['devices', 'list', 'alice'])).stdout).not.toContain(id);
    let trail: { type: string; client_id: string | null; payload: Record<string, unknown> }[] = [];
    await waitFor(async () => {
      trail = await op.db.dataSource.query('SELECT type, client_id, payload FROM audit_records WHERE device_id = $1 ORDER BY occurred_at', [id]);
      return trail.length === 2;
    }, { description: 'the registration and the revocation in the audit trail', timeoutMs: 15_000 });
    expect(trail.map((r) => [r.type, r.client_id, r.payload['via']])).toEqual([
      ['device.registered', CLIENTS.basic.id, 'client'],
      ['device.revoked', null, 'admin'],
    ]);
  }, 30_000);

  it('devices enrol-link emails the link through CIBA_EMAIL_VENDOR=smtp and prints no link; --print shows it; an unverified address is refused', async () => {
    const before = smtp.received.length;
    const sent = await admin(['devices', 'enrol-link', 'alice'], smtpEnvironment(smtp));
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/^enrolment link for alice sent by email; it works once, until \S+Z\n$/);
    expect(sent.stdout + sent.stderr).not.toMatch(/enrol\/[A-Za-z0-9_-]{43}/);
    expect(sent.stdout + sent.stderr).not.toContain('alice@example.com');
    const link = await enrolLinkMailed(smtp, 'alice@example.com', before);
    expect((await get(link)).status).toBe(200);

    const printed = await admin(['devices', 'enrol-link', 'alice', '--via', 'email', '--print'], smtpEnvironment(smtp));
    expect(printed.code).toBe(0);
    expect(printed.stdout.trim().split('\n').at(-1)).toMatch(new RegExp(`^${op.url}/enrol/[A-Za-z0-9_-]{43}$`));

    const refused = await admin(['devices', 'enrol-link', 'bob'], smtpEnvironment(smtp));
    expect(refused).toMatchObject({ code: 1, stderr: 'no enrolment link sent: the user has no verified email address\n' });
    const noSms = await admin(['devices', 'enrol-link', 'alice', '--via', 'sms'], smtpEnvironment(smtp));
    expect(noSms).toMatchObject({ code: 1, stderr: 'no enrolment link sent: no SMS channel is configured (CIBA_SMS_VENDOR)\n' });
    const badVia = await admin(['devices', 'enrol-link', 'alice', '--via', 'pigeon']);
    expect(badVia.code).toBe(78);
  }, 30_000);
});
