import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { SmtpPeer, type TestDatabase, answerApprovalPage, approvalLinkIn, createTestDatabase, mailParts, selfSignedCert, smtpEnvironment } from '@ciba/testing';
import { type ServiceProcess, admin, deploymentEnvironment, serviceProcesses, servicePorts, startServices, tearDownDeployment } from './service-processes.js';

const CLIENT = { id: 'e2e-mail-console', secret: `e2e-secret-${randomBytes(6).toString('hex')}` };
const SMTP_CREDENTIALS = { user: 'mailer', pass: `relay-${randomBytes(6).toString('hex')}` };
const BOOTSTRAP = {
  clients: [{ client_id: CLIENT.id, client_secret: CLIENT.secret, client_name: 'E2E mail console', grant_types: ['urn:openid:params:grant-type:ciba'], scope: 'openid email' }],
  users: [{ sub: 'dave', name: 'Dave Example', email: 'dave@example.com', email_verified: true }],
};

/**
 * The notifier as its own process reaching the user by email only (no HTTP authentication channel),
 * through a real SMTP relay with STARTTLS and AUTH; PostgreSQL and NATS JetStream for real.
 */
describe('email channel across separate service processes', () => {
  let db: TestDatabase;
  let smtp: SmtpPeer;
  let services: Record<'authorize' | 'token' | 'notifier', ServiceProcess>;
  let config: oidc.Configuration;
  let bootstrapDir: string;
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    [db, smtp] = await Promise.all([createTestDatabase(), SmtpPeer.start({ tls: selfSignedCert(), credentials: SMTP_CREDENTIALS })]);
    const ports = await servicePorts();
    const issuer = `http://127.0.0.1:${ports.authorize}`;
    const env = {
      ...deploymentEnvironment(db.url, ports, busPrefix),
      CIBA_LOG_LEVEL: 'info',
      // The email channel only (CIBA_AUTH_CHANNEL_URI unset): STARTTLS with the relay's CA file, and AUTH.
      ...smtpEnvironment(smtp),
    };
    bootstrapDir = await mkdtemp(join(tmpdir(), 'ciba-e2e-mail-'));
    const file = join(bootstrapDir, 'bootstrap.json');
    await writeFile(file, JSON.stringify(BOOTSTRAP));
    await admin(['migrate'], env);
    await admin(['bootstrap', '--file', file], env);

    services = serviceProcesses(['authorize', 'token', 'notifier'], ports, env);
    await startServices(services);
    config = await oidc.discovery(new URL(issuer), CLIENT.id, undefined, oidc.ClientSecretBasic(CLIENT.secret), { execute: [oidc.allowInsecureRequests] });
  }, 60_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: Object.values(services ?? {}), peers: [smtp], db, busPrefix, dirs: [bootstrapDir] });
  });

  it('bc-authorize → the notifier mails the approval link → the user approves on the page → polling yields tokens (CIBA §7, §10.1, §11)', async () => {
    const bindingMessage = `E2E mail ${randomBytes(3).toString('hex')}`;
    const started = await oidc.initiateBackchannelAuthentication(config, { scope: 'openid email', login_hint: 'dave@example.com', binding_message: bindingMessage });

    const mail = await smtp.mailTo('dave@example.com', { containing: bindingMessage, timeoutMs: 15_000 });
    expect(mail).toMatchObject({ secure: true, user: SMTP_CREDENTIALS.user });
    const link = approvalLinkIn(mailParts(mail.raw).text ?? '', services.notifier.url);
    const answered = await answerApprovalPage(link, 'approve');
    expect(answered.status).toBe(200);

    const tokens = await oidc.pollBackchannelAuthenticationGrant(config, started);
    expect(tokens.claims()).toMatchObject({ sub: 'dave', email: 'dave@example.com' });

    // The approval link is a bearer credential: no service logs it, nor the address it went to.
    const approvalToken = new URL(link).pathname.split('/').pop() ?? '';
    expect(approvalToken.length).toBeGreaterThan(20);
    const logs = Object.values(services).map((s) => s.output).join('\n');
    expect(logs).toContain('/approve/[redacted]');
    for (const secret of [approvalToken, 'dave@example.com', bindingMessage]) expect(logs).not.toContain(secret);
  }, 30_000);
});
