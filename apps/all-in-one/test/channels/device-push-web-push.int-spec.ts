import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WebPushChannel } from '@ciba/channels';
import type { DeviceRepository } from '@ciba/domain';
import { DEVICE_REPOSITORY } from '@ciba/platform';
import { WebPushReceiver, temporaryFile, waitFor } from '@ciba/testing';
import { type TestProvider, startTestProvider, uniqueMessage } from '../provider-harness.js';
import { ALICE, approvalLinkIn, approveOnPage, expectTokensForAlice } from './channel-harness.js';

describe('Web Push: bc-authorize → the notifier pushes to alice’s browser → approval page → tokens', () => {
  const vapid = WebPushChannel.generateVapidKeys();
  let pushService: WebPushReceiver;
  let caFile: ReturnType<typeof temporaryFile>;
  let op: TestProvider;

  beforeAll(async () => {
    pushService = await WebPushReceiver.start();
    caFile = temporaryFile('push-service-ca.pem', pushService.ca);
    // Configured by the environment alone: the local push service allowed, and its CA trusted.
    op = await startTestProvider({
      CIBA_AUTH_CHANNEL_URI: '',
      CIBA_DEVICE_PUSH_VENDORS: 'web-push',
      CIBA_WEB_PUSH_VAPID_SUBJECT: 'mailto:ops@op.example',
      CIBA_WEB_PUSH_VAPID_PUBLIC_KEY: vapid.publicKey,
      CIBA_WEB_PUSH_VAPID_PRIVATE_KEY: vapid.privateKey,
      CIBA_WEB_PUSH_ALLOWED_HOSTS: new URL(pushService.origin).host,
      CIBA_WEB_PUSH_CA_FILE: caFile.path,
    });
  });
  afterAll(async () => {
    await op?.close();
    await pushService?.close();
    caFile?.remove();
  });

  it('posts an aes128gcm message with a VAPID JWT the push service verifies; the browser decrypts the approval link, and following it returns tokens (CIBA §11)', async () => {
    const subscription = pushService.subscribe(vapid.publicKey);
    const devices = op.app.get<symbol, DeviceRepository>(DEVICE_REPOSITORY);
    const device = await devices.register({ id: randomUUID(), subject: ALICE.sub, label: 'test', target: { kind: 'web-push', subscription }, expiresAt: new Date(Date.now() + 86_400_000) }, new Date());
    const message = uniqueMessage('Push sign-in');
    const { authReqId } = await op.authorize({ binding_message: message });

    const push = await pushService.pushTo(subscription);
    expect(push.vapid).toMatchObject({ subject: 'mailto:ops@op.example', publicKey: vapid.publicKey });
    expect(push.request.headers['urgency']).toBe('high');
    expect(push.payload).toEqual({ title: 'Sign-in request from Console (basic)', body: message, url: expect.any(String) });
    const link = approvalLinkIn(op, String((push.payload as { url: string }).url));

    await approveOnPage(link);
    await expectTokensForAlice(op, authReqId);
    // The device that took the message is marked used (after the push service answered).
    await waitFor(async () => (await devices.listActive(ALICE.sub, new Date())).some((d) => d.id === device.id && d.lastUsedAt !== null), { description: 'the device marked used' });
  });
});
