import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SmppPeer, smppEnvironment } from '@ciba/testing';
import { type TestProvider, startTestProvider, uniqueMessage } from '../provider-harness.js';
import { ALICE, SMPP_CREDENTIALS, approvalLinkIn, approveOnPage, expectTokensForAlice } from './channel-harness.js';

describe('SMS over SMPP: bc-authorize → the notifier submits an SMS to alice → approval page → tokens', () => {
  let smsc: SmppPeer;
  let op: TestProvider;

  beforeAll(async () => {
    smsc = await SmppPeer.start(SMPP_CREDENTIALS);
    op = await startTestProvider({ CIBA_AUTH_CHANNEL_URI: '', ...smppEnvironment(smsc) });
  });
  afterAll(async () => {
    await op?.close();
    await smsc?.close();
  });

  it('submit_sm to her verified number in E.164 digits, the text carrying the binding message and the approval link; following it returns tokens (CIBA §11)', async () => {
    const message = uniqueMessage('SMS sign-in');
    const { authReqId } = await op.authorize({ binding_message: message });

    const sms = await smsc.messageTo(ALICE.e164);
    expect(sms).toMatchObject({ sourceAddr: 'ExampleID', destTon: 1, destNpi: 1, dataCoding: 0 });
    expect(sms.text).toContain(message);
    const link = approvalLinkIn(op, sms.text);
    expect(sms.text.endsWith(link)).toBe(true);

    await approveOnPage(link);
    await expectTokensForAlice(op, authReqId);
  });
});
