import { createECDH, randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { WebPushChannel } from '@ciba/channels';
import { SmtpPeer, type TestDatabase, answerApprovalPage, approvalLinkIn, createTestDatabase, mailParts, removalLinkIn, removeDeviceWithLink, smtpEnvironment, waitFor } from '@ciba/testing';
import { type ServiceProcess, admin, deploymentEnvironment, serviceProcesses, servicePorts, startServices, tearDownDeployment } from './service-processes.js';

const CLIENT = { id: 'e2e-device-console', secret: `e2e-secret-${randomBytes(6).toString('hex')}` };
const BOOTSTRAP = {
  clients: [{ client_id: CLIENT.id, client_secret: CLIENT.secret, client_name: 'E2E device console', grant_types: ['urn:openid:params:grant-type:ciba'], scope: 'openid' }],
  users: [{ sub: 'erin', name: 'Erin Example', email: 'erin@example.com', email_verified: true }],
};
const VAPID = WebPushChannel.generateVapidKeys();

/** A browser-like Web Push subscription at an allowed push service; nothing is ever pushed to it here. */
function webPushSubscription() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { endpoint: `https://push.example.net/send/${randomBytes(12).toString('base64url')}`, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') } };
}

/**
 * A device registered at the notifier process, by a client holding the user's fresh ID token, is
 * announced to the user by the notifier's own `notifier-devices` JetStream consumer, and both the
 * registration and its removal through the announced link reach the audit service's trail.
 */
describe('new-device announcement across separate service processes', () => {
  let db: TestDatabase;
  let smtp: SmtpPeer;
  let services: Record<'authorize' | 'token' | 'notifier' | 'audit', ServiceProcess>;
  let config: oidc.Configuration;
  let bootstrapDir: string;
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    [db, smtp] = await Promise.all([createTestDatabase(), SmtpPeer.start()]);
    const ports = await servicePorts();
    const env = {
      ...deploymentEnvironment(db.url, ports, busPrefix),
      CIBA_LOG_LEVEL: 'info',
      ...smtpEnvironment(smtp),
      CIBA_DEVICE_PUSH_VENDORS: 'web-push',
      CIBA_WEB_PUSH_VAPID_SUBJECT: 'mailto:ops@op.example',
      CIBA_WEB_PUSH_VAPID_PUBLIC_KEY: VAPID.publicKey,
      CIBA_WEB_PUSH_VAPID_PRIVATE_KEY: VAPID.privateKey,
      CIBA_WEB_PUSH_ALLOWED_HOSTS: 'push.example.net',
    };
    bootstrapDir = await mkdtemp(join(tmpdir(), 'ciba-e2e-devices-'));
    const file = join(bootstrapDir, 'bootstrap.json');
    await writeFile(file, JSON.stringify(BOOTSTRAP));
    await admin(['migrate'], env);
    await admin(['bootstrap', '--file', file], env);

    services = serviceProcesses(['authorize', 'token', 'notifier', 'audit'], ports, env);
    await startServices(services);
    config = await oidc.discovery(new URL(`http://127.0.0.1:${ports.authorize}`), CLIENT.id, undefined, oidc.ClientSecretBasic(CLIENT.secret), { execute: [oidc.allowInsecureRequests] });
  }, 60_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: Object.values(services ?? {}), peers: [smtp], db, busPrefix, dirs: [bootstrapDir] });
  });

  it('a client registers a device with the user\'s fresh ID token → the user is mailed about it → the removal link ends it; both reach the audit trail', async () => {
    // The user approves a CIBA request (by email: she has no device yet); the client gets her ID token.
    const bindingMessage = `E2E device ${randomBytes(3).toString('hex')}`;
    const started = await oidc.initiateBackchannelAuthentication(config, { scope: 'openid', login_hint: 'erin', binding_message: bindingMessage });
    const approval = await smtp.mailTo('erin@example.com', { containing: bindingMessage, timeoutMs: 15_000 });
    expect((await answerApprovalPage(approvalLinkIn(mailParts(approval.raw).text ?? '', services.notifier.url), 'approve')).status).toBe(200);
    const idToken = (await oidc.pollBackchannelAuthenticationGrant(config, started)).id_token!;

    const label = `E2E phone ${randomBytes(3).toString('hex')}`;
    const registered = await fetch(`${services.notifier.url}/ext/ciba/devices`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'web-push', subscription: webPushSubscription(), label, id_token_hint: idToken }),
    });
    expect(registered.status).toBe(201);
    const deviceId = String(((await registered.json()) as Record<string, unknown>)['device_id']);

    const announcement = await smtp.mailTo('erin@example.com', { containing: `"${label}"`, timeoutMs: 15_000 });
    const text = mailParts(announcement.raw).text ?? '';
    expect(text).toContain('through E2E device console');
    const link = removalLinkIn(text, services.notifier.url);
    expect((await removeDeviceWithLink(link)).status).toBe(200);

    let trail: { type: string; client_id: string | null; payload: Record<string, unknown> }[] = [];
    await waitFor(
      async () => {
        trail = await db.dataSource.query('SELECT type, client_id, payload FROM audit_records WHERE device_id = $1 ORDER BY occurred_at', [deviceId]);
        return trail.length === 2;
      },
      { timeoutMs: 15_000, description: 'the registration and the removal in the audit trail' },
    );
    expect(trail.map((r) => [r.type, r.client_id, r.payload['via']])).toEqual([
      ['device.registered', CLIENT.id, 'client'],
      ['device.revoked', null, 'removal_link'],
    ]);

    // The removal link and the ID token are credentials: no service logs them.
    const logs = Object.values(services).map((s) => s.output).join('\n');
    expect(logs).toContain('/enrol/remove/[redacted]');
    for (const secret of [link.split('/').pop() ?? '', idToken, 'erin@example.com']) expect(logs).not.toContain(secret);
  }, 60_000);
});
