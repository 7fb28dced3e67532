import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ChannelKind } from '@ciba/channels';
import { parseBootstrap } from '@ciba/config';
import type { DeviceRepository } from '@ciba/domain';
import { TypeOrmClientRepository, TypeOrmUserRepository } from '@ciba/persistence';
import { DEVICE_REPOSITORY, loadBootstrap, notificationEndpointPolicy } from '@ciba/platform';
import { postApprovalDecision, waitFor, requestIdIn } from '@ciba/testing';
import { SecretHasher } from '@ciba/tokens';
import { type Page, csrfOf, readPage } from './approval-page.harness.js';
import { startWithInbox } from './dev-inbox.harness.js';
import { CIBA, type HttpResult, type TestClient, type TestProvider, uniqueMessage } from './provider-harness.js';

interface InboxJson {
  readonly id: string;
  readonly channel: ChannelKind;
  readonly vendor: string;
  readonly to: string;
  readonly receivedAt: string;
  readonly subject: string | null;
  readonly text: string;
  readonly approvalUrl: string | null;
  readonly links: string[];
  readonly htmlUrl: string | null;
}

async function inboxMessages(op: TestProvider): Promise<InboxJson[]> {
  const res = await fetch(`${op.url}/dev/inbox/messages`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { messages: InboxJson[] }).messages;
}

/** Waits until the inbox holds the messages whose text carries `bindingMessage` (each test has its own). */
async function messagesAbout(op: TestProvider, bindingMessage: string): Promise<InboxJson[]> {
  let found: InboxJson[] = [];
  await waitFor(
    async () => {
      found = (await inboxMessages(op)).filter((m) => m.text.includes(bindingMessage));
      return found.length > 0;
    },
    { description: 'a message in the development inbox' },
  );
  return found;
}

/** Opens the approval page, then submits `decision` with the CSRF cookie and field it set, as a browser does. */
async function answerLink(op: TestProvider, link: string, decision: 'approve' | 'deny'): Promise<Page> {
  const shown = await readPage(await fetch(link));
  expect(shown.status).toBe(200);
  return readPage(await postApprovalDecision(link, csrfOf(shown), decision, new URL(op.url).origin));
}

async function registerWebPushDevice(op: TestProvider, subject: string): Promise<void> {
  await op.app.get<symbol, DeviceRepository>(DEVICE_REPOSITORY).register(
    { id: randomUUID(), subject, label: 'test browser', target: { kind: 'web-push', subscription: { endpoint: `https://push.example.net/send/${subject}-device`, keys: { p256dh: 'p256dh', auth: 'auth' } } }, expiresAt: new Date(op.clock.now().getTime() + 86_400_000) },
    op.clock.now(),
  );
}

async function requestStatus(op: TestProvider, authReqId: string): Promise<string | undefined> {
  const rows = await op.db.dataSource.query<{ status: string }[]>('SELECT status FROM auth_requests WHERE id = $1', [requestIdIn(authReqId)]);
  return rows[0]?.status;
}

function expectTokens(res: HttpResult): void {
  expect(res.status).toBe(200);
  expect(typeof res.body['access_token']).toBe('string');
  expect(typeof res.body['id_token']).toBe('string');
}

describe('development inbox (all-in-one, HTTP channel off)', () => {
  let op: TestProvider;
  beforeAll(async () => {
    ({ op } = await startWithInbox());
  });
  afterAll(async () => {
    await op.close();
  });

  it('alice’s request reaches the inbox by email (device push has no device for her); its link approves and the client gets tokens', async () => {
    const message = uniqueMessage('Approve login');
    const { authReqId } = await op.authorize({ binding_message: message, scope: 'openid email' });
    const [email, ...others] = await messagesAbout(op, message);
    // The preference is http device-push email sms: http is off, device push reaches no device, so email.
    expect(others).toEqual([]);
    expect(email).toMatchObject({ channel: 'email', vendor: 'dev-inbox', to: 'alice@example.com', subject: 'Approve sign-in request from Console (basic)', htmlUrl: `/dev/inbox/messages/${email.id}` });
    expect(email.approvalUrl).toMatch(new RegExp(`^${op.url}/approve/[A-Za-z0-9_-]{43}$`));
    expect(email.links).toEqual([email.approvalUrl]);
    expect(email.text).toContain(email.approvalUrl);
    expect(email.text).not.toContain(authReqId);

    const inboxPage = await readPage(await fetch(`${op.url}/dev/inbox`));
    expect(inboxPage.status).toBe(200);
    expect(inboxPage.html).toContain('Development only.');
    expect(inboxPage.html).toContain(`href="${email.approvalUrl}"`);
    expect(inboxPage.headers.get('cache-control')).toBe('no-store');
    expect(inboxPage.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'nonce-[^']+'; form-action 'self'; frame-ancestors 'none'/);

    expect((await op.token(authReqId)).body['error']).toBe('authorization_pending');
    const approved = await answerLink(op, email.approvalUrl!, 'approve');
    expect(approved.status).toBe(200);
    expect(approved.html).toContain('Approved');
    op.clock.advance(3); // past the poll interval (2 s), else slow_down
    expectTokens(await op.token(authReqId));
  });

  it('bob (email not verified, no phone) is unreachable without a device; once he registers one, device push reaches him', async () => {
    const before = uniqueMessage('No device');
    const unreachable = await op.authorize({ login_hint: 'bob', binding_message: before });
    await waitFor(async () => (await requestStatus(op, unreachable.authReqId)) === 'denied', { description: 'bob’s request refused' });
    expect((await op.token(unreachable.authReqId)).body['error']).toBe('access_denied');
    expect((await inboxMessages(op)).filter((m) => m.text.includes(before))).toEqual([]);

    await registerWebPushDevice(op, 'bob');
    const message = uniqueMessage('Device');
    const { authReqId } = await op.authorize({ login_hint: 'bob', binding_message: message });
    const [push, ...others] = await messagesAbout(op, message);
    expect(others).toEqual([]);
    expect(push).toMatchObject({ channel: 'device-push', to: 'web-push subscription at push.example.net', subject: 'Sign-in request from Console (basic)', text: message, htmlUrl: null });
    expect((await answerLink(op, push.approvalUrl!, 'approve')).status).toBe(200);
    expectTokens(await op.token(authReqId));
  });

  it('an email opens on its own page in a sandboxed frame without scripts; an unknown message is a 404 page', async () => {
    const message = uniqueMessage('Preview');
    await op.authorize({ binding_message: message });
    const [email] = await messagesAbout(op, message);
    const shown = await readPage(await fetch(`${op.url}${email.htmlUrl}`));
    expect(shown.status).toBe(200);
    expect(shown.html).toMatch(/<iframe title="The email as sent \(HTML part\)" sandbox="allow-popups allow-popups-to-escape-sandbox" referrerpolicy="no-referrer" srcdoc="[^"<>]+"><\/iframe>/);
    expect(shown.html).toContain(`href="${email.approvalUrl}"`);
    expect(shown.headers.get('content-security-policy')).toMatch(/default-src 'none'.*; style-src-attr 'unsafe-inline'$/);
    expect(shown.headers.get('x-frame-options')).toBe('DENY');

    for (const id of ['AAAAAAAAAAAA', 'not-an-id']) {
      const missing = await readPage(await fetch(`${op.url}/dev/inbox/messages/${id}`));
      expect(missing.status).toBe(404);
      expect(missing.html).toContain('Message not found');
      expect(missing.headers.get('content-security-policy')).toContain("default-src 'none'");
    }
  });

  it('a hostile client name and binding message stay text on the inbox page and in the email preview', async () => {
    const hostileClient: TestClient = { id: 'hostile-client', secret: 'hostile-client-secret', method: 'basic' };
    const hostileName = `<img src=x onerror=alert(1)>"'&`;
    await loadBootstrap(
      parseBootstrap({
        clients: [{ client_id: hostileClient.id, client_secret: hostileClient.secret, client_name: hostileName, grant_types: [CIBA], scope: 'openid' }],
        users: [],
      }),
      {
        clients: new TypeOrmClientRepository(op.db.dataSource),
        users: new TypeOrmUserRepository(op.db.dataSource),
        hasher: new SecretHasher(),
        signingAlgs: op.config.keys.signingAlgs,
        endpoints: notificationEndpointPolicy(op.config),
      },
    );
    const marker = uniqueMessage('x');
    const message = `<script>alert(1)</script>"'& ${marker}`;
    const res = await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice', binding_message: message }, hostileClient);
    expect(res.status).toBe(200);
    const [email] = await messagesAbout(op, marker);
    expect(email.subject).toBe(`Approve sign-in request from ${hostileName}`);

    const list = (await readPage(await fetch(`${op.url}/dev/inbox`))).html;
    expect(list).not.toMatch(/<script|<img/i);
    expect(list).toContain('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;');
    expect(list).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;');

    const preview = (await readPage(await fetch(`${op.url}${email.htmlUrl}`))).html;
    expect(preview).not.toMatch(/<script|<img/i);
    // Escaped by the email template, then once more for the srcdoc attribute.
    expect(preview).toContain('&amp;lt;img src=x onerror=alert(1)&amp;gt;');
  });

  // Last in this block: it gives alice a device.
  it('preference order: once alice registers a device, device push comes before her email, and only one message goes out', async () => {
    await registerWebPushDevice(op, 'alice');
    const message = uniqueMessage('Order');
    await op.authorize({ binding_message: message });
    const [push, ...others] = await messagesAbout(op, message);
    expect(others).toEqual([]);
    expect(push.channel).toBe('device-push');
  });
});

describe('development inbox with SMS first (CIBA_CHANNEL_PREFERENCE=sms email)', () => {
  let op: TestProvider;
  beforeAll(async () => {
    ({ op } = await startWithInbox({ CIBA_CHANNEL_PREFERENCE: 'sms email' }));
  });
  afterAll(async () => {
    await op.close();
  });

  it('alice’s verified phone (in E.164) gets the SMS text with the approval link, which approves the request', async () => {
    const message = uniqueMessage('SMS login');
    const { authReqId } = await op.authorize({ binding_message: message });
    const [sms, ...others] = await messagesAbout(op, message);
    expect(others).toEqual([]);
    expect(sms).toMatchObject({ channel: 'sms', to: '+15555550100', subject: null, htmlUrl: null });
    expect(sms.text).toBe(`Console (basic) asks you to approve "${message}". Review: ${sms.approvalUrl}`);
    expect((await answerLink(op, sms.approvalUrl!, 'approve')).status).toBe(200);
    expectTokens(await op.token(authReqId));
  });
});
