import { randomBytes, randomUUID } from 'node:crypto';
import { type Agent } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type WebPushChannel } from '@ciba/channels';
import { type DeviceRepository, type EventPublisher, deviceRegistered } from '@ciba/domain';
import { DEVICE_REPOSITORY, EVENT_PUBLISHER } from '@ciba/platform';
import { DeviceRegistry, channelsFromEnvironment } from '@ciba/service-notifier';
import {
  type SmppPeer,
  SmtpPeer,
  WebPushReceiver,
  awaitRecorded,
  mailParts,
  postDeviceRemoval,
  removalCsrfOf,
  smtpEnvironment,
  waitFor,
} from '@ciba/testing';
import { sha256Base64url } from '@ciba/tokens';
import {
  REMOVAL_LINK,
  VAPID,
  answer,
  deviceApi,
  emailedEnrolLink,
  enrolCsrfOf,
  idTokenFor,
  postToEnrolLink,
  removalLinkMailed,
  startDeviceRegistrationProvider,
  tokensFor,
  webPushSubscription,
  webPushTo,
} from './device-registration.harness.js';
import { CLIENTS, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

const FCM_TOKEN = () => `fcm-${randomBytes(6).toString('hex')}:APA91b${'x'.repeat(140)}`;
const DEVICES = '/ext/ciba/devices';
const UNKNOWN_DEVICE = '0b7c3f7e-5a1d-4c2b-9f1e-2d3c4b5a6f70';
const ID_TOKEN_MAX_AGE_SECONDS = 600;
/** Client A registers and holds the user's ID tokens; client B is another registered client of the same provider. */
const A = CLIENTS.basic;
const B = CLIENTS.post;

interface AuditRow {
  readonly type: string;
  readonly request_id: string | null;
  readonly client_id: string | null;
  readonly subject: string;
  readonly payload: Record<string, unknown>;
}

describe('device ownership: the user, not whoever holds a token', () => {
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

  const api = (method: string, path: string, call: Parameters<typeof deviceApi>[3] = {}) => deviceApi(op, method, path, call);
  const activeIds = async (sub: string) => (await op.app.get(DeviceRegistry).listActive(sub)).map((d) => d.id);
  const uniqueLabel = (what: string) => `${what} ${randomBytes(3).toString('hex')}`;
  /** A device of alice's registered with her enrolment link (the user's own proof), as the old and new API both allow. */
  async function enrolledWithLink(label = uniqueLabel('Linked')): Promise<string> {
    const token = (await emailedEnrolLink(op, smtp)).split('/').pop()!;
    const res = await api('POST', DEVICES, { bearer: token, body: { kind: 'fcm', registration_token: FCM_TOKEN(), label } });
    expect(res.status).toBe(201);
    return String(res.json['device_id']);
  }
  async function registeredBy(client: typeof A | typeof B, idToken: string, label = uniqueLabel('Phone')): Promise<string> {
    const res = await api('POST', DEVICES, { client, idToken, body: { kind: 'fcm', registration_token: FCM_TOKEN(), label } });
    expect({ status: res.status, body: res.json }).toMatchObject({ status: 201 });
    return String(res.json['device_id']);
  }
  async function auditOf(deviceId: string, count: number): Promise<AuditRow[]> {
    let rows: AuditRow[] = [];
    await waitFor(
      async () => {
        rows = await op.db.dataSource.query<AuditRow[]>('SELECT type, request_id, client_id, subject, payload FROM audit_records WHERE device_id = $1 ORDER BY occurred_at, type', [deviceId]);
        return rows.length >= count;
      },
      { description: `${count} audit records for the device` },
    );
    return rows;
  }

  it('device takeover: an ID token alone (no client authentication) cannot register, list or remove devices', async () => {
    const idToken = await idTokenFor(op, 'alice');
    const theirs = await enrolledWithLink();
    const subscription = webPushSubscription();

    for (const call of [{ idToken, idTokenIn: 'body' as const }, { idToken, idTokenIn: 'header' as const }]) {
      const res = await api('POST', DEVICES, { ...call, body: { kind: 'web-push', subscription } });
      expect({ status: res.status, error: res.json['error'] }).toEqual({ status: 401, error: 'invalid_client' });
    }
    expect((await op.app.get(DeviceRegistry).listActive('alice')).some((d) => d.target.kind === 'web-push' && d.target.subscription.endpoint === subscription.endpoint)).toBe(false);

    // The old way (the ID token as a bearer token) and the new header without a client: neither lists nor removes.
    for (const call of [{ bearer: idToken }, { idToken }]) {
      const listed = await api('GET', DEVICES, call);
      expect(listed.status).toBe(401);
      expect(listed.text).not.toContain(theirs);
      const removed = await api('DELETE', `${DEVICES}/${theirs}`, call);
      expect(removed.status).toBe(401);
    }
    expect(await activeIds('alice')).toContain(theirs);
  }, 60_000);

  it('device takeover: an ID token issued to client A cannot be used by client B (OIDC Core §3.1.3.7: aud must contain the client)', async () => {
    const tokenForA = await idTokenFor(op, 'alice', A);
    const deviceOfA = await registeredBy(A, tokenForA);
    const notIssuedToB = { error: 'invalid_request', error_description: 'id_token_hint was not issued to this client' };

    const post = await api('POST', DEVICES, { client: B, idToken: tokenForA, body: { kind: 'fcm', registration_token: FCM_TOKEN() } });
    expect({ status: post.status, body: post.json }).toEqual({ status: 400, body: notIssuedToB });
    const list = await api('GET', DEVICES, { client: B, idToken: tokenForA });
    expect({ status: list.status, body: list.json }).toEqual({ status: 400, body: notIssuedToB });
    const remove = await api('DELETE', `${DEVICES}/${deviceOfA}`, { client: B, idToken: tokenForA });
    expect({ status: remove.status, body: remove.json }).toEqual({ status: 400, body: notIssuedToB });
    expect(await activeIds('alice')).toContain(deviceOfA);

    // B with the ID token issued to B (HTTP Basic, although B uses client_secret_post at the token endpoint) is accepted.
    expect((await api('GET', DEVICES, { client: B, idToken: await idTokenFor(op, 'alice', B) })).status).toBe(200);
  }, 60_000);

  it('a client cannot list or remove devices registered through another client or an enrolment link', async () => {
    const tokenForA = await idTokenFor(op, 'alice', A);
    const tokenForB = await idTokenFor(op, 'alice', B);
    const viaLink = await enrolledWithLink();
    const viaA = await registeredBy(A, tokenForA);
    const viaB = await registeredBy(B, tokenForB);

    const listedByB = ((await api('GET', DEVICES, { client: B, idToken: tokenForB })).json['devices'] as { device_id: string }[]).map((d) => d.device_id);
    expect(listedByB).toContain(viaB);
    expect(listedByB).not.toContain(viaA);
    expect(listedByB).not.toContain(viaLink);
    const listedByA = ((await api('GET', DEVICES, { client: A, idToken: tokenForA })).json['devices'] as { device_id: string }[]).map((d) => d.device_id);
    expect(listedByA).toContain(viaA);
    expect(listedByA).not.toContain(viaB);
    expect(listedByA).not.toContain(viaLink);

    // Not yours and unknown are indistinguishable.
    for (const id of [viaA, viaLink, UNKNOWN_DEVICE]) {
      const res = await api('DELETE', `${DEVICES}/${id}`, { client: B, idToken: tokenForB });
      expect({ id, status: res.status, body: res.json }).toEqual({ id, status: 404, body: { error: 'invalid_request', error_description: 'no such device' } });
    }
    expect(await activeIds('alice')).toEqual(expect.arrayContaining([viaLink, viaA, viaB]));
    expect((await api('DELETE', `${DEVICES}/${viaB}`, { client: B, idToken: tokenForB })).status).toBe(204);
    expect(await activeIds('alice')).not.toContain(viaB);
  }, 60_000);

  it('a new device is announced by email with a working one-time removal link (and by SMS)', async () => {
    const label = uniqueLabel('Phone <b>');
    const deviceId = await registeredBy(A, await idTokenFor(op, 'alice'), label);

    const link = await removalLinkMailed(smtp, 'alice@example.com', label);
    expect(link).toMatch(new RegExp(`^${op.config.publicUrls.notifier}/enrol/remove/[A-Za-z0-9_-]{43}$`));
    const mail = smtp.received.find((m) => (mailParts(m.raw).text ?? '').includes(link))!;
    const parts = mailParts(mail.raw);
    expect(parts.headers.get('subject')).toBe('A new device can approve your sign-ins');
    expect(parts.text).toContain(`"${label}" (a mobile app), through Console (basic)`);
    expect(parts.html).toContain(label.replace('<b>', '&lt;b&gt;'));
    expect(parts.html).not.toContain('<b>');
    const sms = await awaitRecorded(smsc.submitted, (m) => m.destination === '15555550100' && m.text.includes(label), 'the announcement SMS');
    expect(sms.text).toMatch(REMOVAL_LINK);
    expect(sms.text).not.toContain(link);
    // Only the hash of the link is stored.
    const token = link.split('/').pop()!;
    const stored = await op.db.dataSource.query<{ token_hash: string }[]>('SELECT token_hash FROM device_removal_links WHERE token_hash IN ($1, $2)', [token, sha256Base64url(token)]);
    expect(stored).toEqual([{ token_hash: sha256Base64url(token) }]);

    // The user follows the link with a browser: the page says what will be removed, under a strict policy.
    const page = await answer(await fetch(link));
    expect(page.status).toBe(200);
    expect(page.text).toContain('Remove this device?');
    expect(page.text).toContain(label.replace('<b>', '&lt;b&gt;'));
    expect(page.text).toContain('Console (basic)');
    expect(page.text).not.toMatch(/<script/);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'nonce-[^']+'; form-action 'self'; frame-ancestors 'none'/);
    expect(page.headers.get('set-cookie')).toMatch(/^ciba_removal_csrf=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/enrol\/remove; Max-Age=\d+$/);
    expect(await activeIds('alice')).toContain(deviceId);

    const removed = await answer(await postDeviceRemoval(link, removalCsrfOf(page.text, page.headers.get('set-cookie')), origin));
    expect(removed.status).toBe(200);
    expect(removed.text).toContain('Device removed');
    expect(removed.headers.get('cache-control')).toBe('no-store');
    expect(await activeIds('alice')).not.toContain(deviceId);
  }, 60_000);

  it('the removal link is single use and does not act on GET', async () => {
    const label = uniqueLabel('Tablet');
    const deviceId = await registeredBy(A, await idTokenFor(op, 'alice'), label);
    const link = await removalLinkMailed(smtp, 'alice@example.com', label);

    // Link scanners and previews open links: looking removes nothing.
    for (let i = 0; i < 3; i++) expect((await fetch(link)).status).toBe(200);
    expect(await activeIds('alice')).toContain(deviceId);

    const page = await answer(await fetch(link));
    const csrf = removalCsrfOf(page.text, page.headers.get('set-cookie'));
    const withoutCookie = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin }, body: new URLSearchParams({ csrf: csrf.field }) });
    expect(withoutCookie.status).toBe(403);
    expect((await postDeviceRemoval(link, csrf, 'https://evil.example')).status).toBe(403);
    expect((await postDeviceRemoval(link, { ...csrf, field: 'x'.repeat(43) }, origin)).status).toBe(403);
    expect(await activeIds('alice')).toContain(deviceId);

    expect((await postDeviceRemoval(link, csrf, origin)).status).toBe(200);
    expect(await activeIds('alice')).not.toContain(deviceId);
    const again = await answer(await postDeviceRemoval(link, csrf, origin));
    expect(again.status).toBe(410);
    expect(again.text).toContain('Link no longer valid');
    expect((await fetch(link)).status).toBe(410);
    // The SMS carried its own link for the same device: the device is gone, so that link is too.
    const sms = await awaitRecorded(smsc.submitted, (m) => m.text.includes(label), 'the announcement SMS');
    expect((await fetch(REMOVAL_LINK.exec(sms.text)![0])).status).toBe(410);
  }, 60_000);

  it('device registration and removal reach the audit trail (how each was authorised; never the target)', async () => {
    const idToken = await idTokenFor(op, 'alice');
    const registrationToken = FCM_TOKEN();
    const created = await api('POST', DEVICES, { client: A, idToken, body: { kind: 'fcm', registration_token: registrationToken, label: 'Audited phone' } });
    const byClient = String(created.json['device_id']);
    expect((await api('DELETE', `${DEVICES}/${byClient}`, { client: A, idToken })).status).toBe(204);
    const clientTrail = await auditOf(byClient, 2);
    expect(clientTrail.map((r) => [r.type, r.request_id, r.client_id, r.subject])).toEqual([
      ['device.registered', null, A.id, 'alice'],
      ['device.revoked', null, A.id, 'alice'],
    ]);
    expect(clientTrail[0].payload).toMatchObject({ version: 1, deviceId: byClient, kind: 'fcm', label: 'Audited phone', via: 'client', expiresAt: expect.any(String) });
    expect(clientTrail[1].payload).toMatchObject({ version: 1, deviceId: byClient, kind: 'fcm', via: 'client', reason: 'revoked' });
    expect(JSON.stringify(clientTrail)).not.toContain(registrationToken);

    const label = uniqueLabel('Linked');
    const byLink = await enrolledWithLink(label);
    const link = await removalLinkMailed(smtp, 'alice@example.com', label);
    const page = await answer(await fetch(link));
    expect((await postDeviceRemoval(link, removalCsrfOf(page.text, page.headers.get('set-cookie')), origin)).status).toBe(200);
    const linkTrail = await auditOf(byLink, 2);
    expect(linkTrail.map((r) => [r.type, r.client_id, r.payload['via']])).toEqual([
      ['device.registered', null, 'enrolment_link'],
      ['device.revoked', null, 'removal_link'],
    ]);
  }, 60_000);

  it('the user removes a device from the enrolment page (CSRF cookie, field and Origin), without using the link up', async () => {
    const label = uniqueLabel('Unknown <i>');
    const deviceId = await registeredBy(A, await idTokenFor(op, 'alice'), label);
    const link = await emailedEnrolLink(op, smtp);
    const page = await answer(await fetch(link));
    expect(page.text).toContain(label.replace('<i>', '&lt;i&gt;'));
    expect(page.text).toContain(`<input type="hidden" name="device" value="${deviceId}">`);
    const csrf = enrolCsrfOf(page.text, page.headers.get('set-cookie'));
    const remove = (device: string, from = origin) =>
      fetch(`${link}/remove`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `ciba_enrol_csrf=${csrf.cookie}`, origin: from },
        body: new URLSearchParams({ csrf: csrf.header, device }),
      });

    expect((await remove(deviceId, 'https://evil.example')).status).toBe(403);
    expect((await remove(UNKNOWN_DEVICE)).status).toBe(404);
    expect(await activeIds('alice')).toContain(deviceId);
    const removed = await answer(await remove(deviceId));
    expect(removed.status).toBe(200);
    expect(removed.text).toContain('Device removed');
    expect(await activeIds('alice')).not.toContain(deviceId);
    expect((await fetch(link)).status).toBe(200);
    expect((await auditOf(deviceId, 2))[1]).toMatchObject({ type: 'device.revoked', client_id: null, payload: expect.objectContaining({ via: 'enrolment_link' }) });
  }, 60_000);

  it('a registration whose event never reached the bus is still announced and audited: the sweeper republishes it', async () => {
    const label = uniqueLabel('Lost');
    // What a crash between the commit and the publish leaves: the row, and no event.
    const device = await op.app.get<symbol, DeviceRepository>(DEVICE_REPOSITORY).register(
      { id: randomUUID(), subject: 'alice', label, target: { kind: 'fcm', registrationToken: FCM_TOKEN() }, clientId: A.id, expiresAt: new Date(op.clock.now().getTime() + 86_400_000) },
      op.clock.now(),
    );
    op.clock.advance(op.config.sweeper.renotifyAfterMs / 1000 + 1);
    await removalLinkMailed(smtp, 'alice@example.com', label);
    expect((await auditOf(device.id, 1))[0]).toMatchObject({ type: 'device.registered', client_id: A.id });
  }, 60_000);

  it('a redelivered announcement is not sent again (idempotent under redelivery)', async () => {
    const label = uniqueLabel('Once');
    const deviceId = await registeredBy(A, await idTokenFor(op, 'alice'), label);
    await removalLinkMailed(smtp, 'alice@example.com', label);
    const device = (await op.app.get<symbol, DeviceRepository>(DEVICE_REPOSITORY).find(deviceId))!;
    // An operator's redelivery: the same event under a fresh message id, so the bus hands it over again.
    const redelivery = `${deviceId}:redelivered`;
    await op.app.get<symbol, EventPublisher>(EVENT_PUBLISHER).publish(deviceRegistered(device), { messageId: redelivery });
    await waitFor(
      async () => (await op.db.dataSource.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM queued_messages WHERE message_id = $1`, [redelivery]))[0].n === 0,
      { description: 'the redelivered announcement handled' },
    );
    const naming = (text: string) => text.includes(`"${label}"`);
    expect(smtp.received.filter((m) => naming(mailParts(m.raw).text ?? ''))).toHaveLength(1);
    expect(smsc.submitted.filter((m) => naming(m.text))).toHaveLength(1);
  }, 60_000);

  // Last: it moves the provider's clock past every ID token issued so far.
  it('device takeover: a stale ID token (auth_time older than the maximum) is refused, even freshly refreshed (OIDC Core §3.1.2.1 max_age)', async () => {
    const tokens = await tokensFor(op, 'alice', A, 'openid offline_access');
    expect(typeof tokens['refresh_token']).toBe('string');
    op.clock.advance(ID_TOKEN_MAX_AGE_SECONDS + 1);
    const refreshed = await op.form('/token', { grant_type: 'refresh_token', refresh_token: String(tokens['refresh_token']) }, A);
    expect(refreshed.status).toBe(200);
    // A new, unexpired ID token, but for the same old authentication: auth_time is kept on refresh.
    const staleIdToken = String(refreshed.body['id_token']);
    const tooOld = { error: 'invalid_request', error_description: 'id_token_hint attests an authentication that is too old: authenticate the user again' };
    const post = await api('POST', DEVICES, { client: A, idToken: staleIdToken, body: { kind: 'fcm', registration_token: FCM_TOKEN() } });
    expect({ status: post.status, body: post.json }).toEqual({ status: 400, body: tooOld });
    const list = await api('GET', DEVICES, { client: A, idToken: staleIdToken });
    expect({ status: list.status, body: list.json }).toEqual({ status: 400, body: tooOld });

    // The user authenticates again (a new CIBA approval): the fresh ID token works.
    expect((await api('POST', DEVICES, { client: A, idToken: await idTokenFor(op, 'alice', A), body: { kind: 'fcm', registration_token: FCM_TOKEN() } })).status).toBe(201);
  }, 60_000);
});

describe('device registration lifetime', () => {
  const TTL_SECONDS = 3600;
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
    // No HTTP authentication device: device push comes first, then email.
    op = await startTestProvider({ CIBA_AUTH_CHANNEL_URI: '', CIBA_DEVICE_REGISTRATION_TTL: String(TTL_SECONDS) }, { channels: { email, sms: null, devicePush: [webPush] } });
  }, 30_000);
  afterAll(async () => {
    await op.close();
    agent.destroy();
    await pushService.close();
    await smtp.close();
  });

  it('an expired device registration is never notified, nor listed as active', async () => {
    const link = await emailedEnrolLink(op, smtp);
    const subscription = pushService.subscribe(VAPID.publicKey);
    const page = await fetch(link);
    expect((await postToEnrolLink(link, enrolCsrfOf(await page.text(), page.headers.get('set-cookie')), { subscription, label: 'Old phone' })).status).toBe(201);

    const first = uniqueMessage('Still registered');
    await op.authorize({ binding_message: first });
    expect((await pushService.pushTo(subscription)).payload).toMatchObject({ body: first });

    op.clock.advance(TTL_SECONDS + 1);
    const second = uniqueMessage('Expired');
    await op.authorize({ binding_message: second });
    // The request reaches alice on the next channel instead; the expired device gets nothing.
    await smtp.mailTo('alice@example.com', { containing: second });
    expect(pushService.received.filter((p) => JSON.stringify(p.payload).includes(second))).toEqual([]);
    expect((await op.app.get(DeviceRegistry).listActive('alice')).map((d) => d.label)).not.toContain('Old phone');
  }, 60_000);
});
