import { randomUUID } from 'node:crypto';
import { Agent } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SmppStatus, WebPushChannel } from '@ciba/channels';
import type { DeviceRepository, EvidenceChannel } from '@ciba/domain';
import { TypeOrmEvidenceRecordRepository, TypeOrmUserRepository } from '@ciba/persistence';
import { DEVICE_REPOSITORY } from '@ciba/platform';
import { channelsFromEnvironment } from '@ciba/service-notifier';
import { SMTP_REPLIES, SmppPeer, SmtpPeer, WebPushReceiver, mailParts, selfSignedCert, smppEnvironment, smtpEnvironment, waitFor } from '@ciba/testing';
import { type HttpResult, type TestProvider, startTestProvider, uniqueMessage } from '../provider-harness.js';
import {
  ALICE,
  SMPP_CREDENTIALS,
  SMTP_CREDENTIALS,
  approvalLinkIn,
  approveOnPage,
  auditedUntil,
  expectTokensForAlice,
  requestIdOf,
} from './channel-harness.js';

function expectAccessDenied(res: HttpResult): void {
  expect({ status: res.status, error: res.body['error'] }).toEqual({ status: 400, error: 'access_denied' });
}

describe('fallback along alice’s channel preference, and the end of the line when nothing reaches her', () => {
  const vapid = WebPushChannel.generateVapidKeys();
  /** SMPP command_status the SMSC answers per destination; unset accepts. */
  const smscRefuses = new Map<string, number>();
  let pushService: WebPushReceiver;
  let agent: Agent;
  let smtp: SmtpPeer;
  let smsc: SmppPeer;
  let op: TestProvider;
  let devices: DeviceRepository;

  beforeAll(async () => {
    [pushService, smtp, smsc] = await Promise.all([
      WebPushReceiver.start(),
      SmtpPeer.start({ tls: selfSignedCert(), credentials: SMTP_CREDENTIALS }),
      SmppPeer.start({ ...SMPP_CREDENTIALS, submitStatus: (destination) => smscRefuses.get(destination) }),
    ]);
    agent = new Agent({ ca: pushService.ca, keepAlive: false });
    const env = {
      CIBA_AUTH_CHANNEL_URI: '',
      // The deployment's default is the other way round: alice's own preference is what counts.
      CIBA_CHANNEL_PREFERENCE: 'sms email device-push',
      ...smtpEnvironment(smtp),
      ...smppEnvironment(smsc),
      CIBA_WEB_PUSH_VAPID_SUBJECT: 'mailto:ops@op.example',
      CIBA_WEB_PUSH_VAPID_PUBLIC_KEY: vapid.publicKey,
      CIBA_WEB_PUSH_VAPID_PRIVATE_KEY: vapid.privateKey,
      CIBA_WEB_PUSH_ALLOWED_HOSTS: new URL(pushService.origin).host,
    };
    const { email, sms } = channelsFromEnvironment(env);
    op = await startTestProvider(env, { channels: { email, sms, devicePush: [WebPushChannel.fromEnv(env, { agent })] } });
    const users = new TypeOrmUserRepository(op.db.dataSource);
    const alice = await users.findBySub(ALICE.sub);
    await users.upsert({ ...alice!, channelPreference: ['device-push', 'email', 'sms'] });
    devices = op.app.get<symbol, DeviceRepository>(DEVICE_REPOSITORY);
  });
  afterAll(async () => {
    await op?.close();
    agent?.destroy();
    await Promise.all([pushService?.close(), smtp?.close(), smsc?.close()]);
  });

  /** Registers a browser of alice's, subscribed to the local push service. */
  async function goneBrowser(): Promise<string> {
    const subscription = pushService.subscribe(vapid.publicKey);
    const device = await devices.register({ id: randomUUID(), subject: ALICE.sub, label: 'test', target: { kind: 'web-push', subscription }, expiresAt: new Date(Date.now() + 86_400_000) }, new Date());
    return device.id;
  }

  it('device push first: her only browser’s push service answers 410 → the device is revoked, and the mail (next in line) goes out; SMS is never tried', async () => {
    const deviceId = await goneBrowser();
    let mailAttemptsWhenPushed = -1;
    pushService.reply(() => {
      mailAttemptsWhenPushed = smtp.recipients.length;
      return { status: 410 };
    });
    const mailAttemptsBefore = smtp.recipients.length;
    const smsBefore = smsc.submitted.length;
    const message = uniqueMessage('Fallback');
    const { authReqId } = await op.authorize({ binding_message: message });

    const mail = await smtp.mailTo(ALICE.email, { containing: message });
    // The push service had answered (a well-formed, decryptable message) before any mail was attempted.
    expect(pushService.received.filter((p) => p.status === 410 && p.problem === null)).toHaveLength(1);
    expect(mailAttemptsWhenPushed).toBe(mailAttemptsBefore);
    expect(smsc.submitted.length).toBe(smsBefore);

    expect((await devices.listActive(ALICE.sub, new Date())).map((d) => d.id)).not.toContain(deviceId);
    const [revoked] = await op.db.dataSource.query<{ revoked_reason: string }[]>('SELECT revoked_reason FROM devices WHERE id = $1', [deviceId]);
    expect(revoked.revoked_reason).toBe('gone');
    const records = await auditedUntil(op, await requestIdOf(op, authReqId), 'auth_request.device_notified');
    expect(records.find((r) => r.type === 'auth_request.device_notified')?.payload['channel']).toBe('email');

    await approveOnPage(approvalLinkIn(op, mailParts(mail.raw).text ?? ''));
    await expectTokensForAlice(op, authReqId);
  });

  it('every channel fails for good (push 410, SMTP 550, SMPP invalid destination) → access_denied, audited as UNREACHABLE with neither her address nor her number', async () => {
    await goneBrowser();
    pushService.reply(() => ({ status: 410 }));
    smtp.replyNext(SMTP_REPLIES.mailboxUnavailable);
    smscRefuses.set(ALICE.e164.slice(1), SmppStatus.ESME_RINVDSTADR);
    const { authReqId } = await op.authorize({ binding_message: uniqueMessage('Unreachable') });
    const requestId = await requestIdOf(op, authReqId);

    const records = await auditedUntil(op, requestId, 'auth_request.denied');
    expectAccessDenied(await op.token(authReqId));
    expect(records.find((r) => r.type === 'auth_request.denied')?.payload).toMatchObject({ reason: 'UNREACHABLE' });
    expect(records.map((r) => r.type)).not.toContain('auth_request.device_notified');
    // Each channel was tried: the SMSC saw the submit it refused.
    expect(smsc.submitted.at(-1)).toMatchObject({ destination: ALICE.e164.slice(1), status: SmppStatus.ESME_RINVDSTADR });

    // The denial is published before the handler's PermanentError moves the message to the dead letters.
    let deadLetter: { reason: string } | undefined;
    await waitFor(
      async () => {
        [deadLetter] = await op.db.dataSource.query<{ reason: string }[]>("SELECT reason FROM dead_letters WHERE consumer = 'notifier' AND message_id = $1", [`${requestId}:auth_request.created`]);
        return deadLetter !== undefined;
      },
      { description: 'the dead letter' },
    );
    expect(deadLetter?.reason).toMatch(/every channel failed/);
    // The evidence record lists each channel tried and how it failed (auth_request.device_notification_failed), beside the UNREACHABLE denial.
    let channels: readonly EvidenceChannel[] = [];
    await waitFor(
      async () => {
        channels = (await new TypeOrmEvidenceRecordRepository(op.db.dataSource).find(requestId))?.channels ?? [];
        return channels.length >= 3;
      },
      { description: 'the channels tried in the evidence record' },
    );
    expect(channels.map((c) => [c.channel, c.outcome]).sort()).toEqual([
      ['device-push', 'permanent'],
      ['email', 'permanent'],
      ['sms', 'permanent'],
    ]);
    const trail = await auditedUntil(op, requestId, 'auth_request.device_notification_failed');
    expect(trail.find((r) => r.type === 'auth_request.device_notification_failed')?.payload).toMatchObject({ attempt: 1, final: true });
    const stored = JSON.stringify({ records, deadLetter, channels, trail });
    for (const personal of [ALICE.email, ALICE.phoneNumber, ALICE.e164, ALICE.e164.slice(1)]) expect(stored).not.toContain(personal);
  });
});
