import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DeviceRepository } from '@ciba/domain';
import { DEVICE_REPOSITORY } from '@ciba/platform';
import { FcmPeer, temporaryFile } from '@ciba/testing';
import { type TestProvider, startTestProvider, uniqueMessage } from '../provider-harness.js';
import { ALICE, approvalLinkIn, approveOnPage, expectTokensForAlice } from './channel-harness.js';

describe('FCM: bc-authorize → the notifier sends an FCM v1 message to alice’s phone → approval page → tokens', () => {
  let fcm: FcmPeer;
  let op: TestProvider;
  let caFile: ReturnType<typeof temporaryFile>;

  beforeAll(async () => {
    fcm = await FcmPeer.start({ projectId: 'demo-project' });
    caFile = temporaryFile('fcm-ca.pem', fcm.ca);
    // Configured by the environment alone; the key file's token_uri already points at the peer.
    op = await startTestProvider({
      CIBA_AUTH_CHANNEL_URI: '',
      CIBA_DEVICE_PUSH_VENDORS: 'fcm',
      CIBA_FCM_PROJECT_ID: 'demo-project',
      CIBA_FCM_SERVICE_ACCOUNT_FILE: fcm.serviceAccountFile,
      CIBA_FCM_API_BASE_URL: fcm.origin,
      CIBA_FCM_CA_FILE: caFile.path,
    });
  });
  afterAll(async () => {
    await op?.close();
    await fcm?.close();
    caFile?.remove();
  });

  it('gets an access token with the service account’s JWT assertion and posts messages:send with the approval link; following it returns tokens (CIBA §11)', async () => {
    const registrationToken = `alice-phone-${randomUUID()}`;
    await op.app.get<symbol, DeviceRepository>(DEVICE_REPOSITORY).register({ id: randomUUID(), subject: ALICE.sub, label: 'test', target: { kind: 'fcm', registrationToken }, expiresAt: new Date(Date.now() + 86_400_000) }, new Date());
    const message = uniqueMessage('FCM sign-in');
    const { authReqId } = await op.authorize({ binding_message: message });

    const sent = await fcm.messageTo(registrationToken);
    expect(fcm.assertionErrors).toEqual([]);
    expect(fcm.tokensIssued).toBe(1);
    expect(sent.message['notification']).toEqual({ title: 'Sign-in request from Console (basic)', body: message });
    const link = approvalLinkIn(op, String((sent.message['data'] as { url: string }).url));
    expect(sent.message['webpush']).toEqual({ fcm_options: { link } });

    await approveOnPage(link);
    await expectTokensForAlice(op, authReqId);
  });
});
