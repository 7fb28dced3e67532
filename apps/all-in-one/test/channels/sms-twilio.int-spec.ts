import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TwilioPeer, temporaryFile } from '@ciba/testing';
import { type TestProvider, startTestProvider, uniqueMessage } from '../provider-harness.js';
import { ALICE, approvalLinkIn, approveOnPage, expectTokensForAlice } from './channel-harness.js';

const ACCOUNT_SID = `AC${'3'.repeat(32)}`;
const AUTH_TOKEN = 'twilio-auth-token-for-tests';

describe('SMS over the Twilio API: bc-authorize → the notifier posts a message for alice → approval page → tokens', () => {
  let twilioApi: TwilioPeer;
  let op: TestProvider;
  let caFile: ReturnType<typeof temporaryFile>;

  beforeAll(async () => {
    twilioApi = await TwilioPeer.start({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    caFile = temporaryFile('twilio-ca.pem', twilioApi.ca);
    // Configured as an operator would, by the environment alone: the API origin as a gateway in front of Twilio.
    op = await startTestProvider({
      CIBA_AUTH_CHANNEL_URI: '',
      CIBA_SMS_VENDOR: 'twilio',
      CIBA_TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      CIBA_TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      CIBA_TWILIO_FROM: '+15005550006',
      CIBA_TWILIO_API_BASE_URL: twilioApi.origin,
      CIBA_TWILIO_CA_FILE: caFile.path,
    });
  });
  afterAll(async () => {
    await op?.close();
    await twilioApi?.close();
    caFile?.remove();
  });

  it('POSTs Messages.json with Basic auth, To in E.164 and a Body with the binding message and the approval link; following it returns tokens (CIBA §11)', async () => {
    const message = uniqueMessage('Twilio sign-in');
    const { authReqId } = await op.authorize({ binding_message: message });

    const sent = await twilioApi.messageTo(ALICE.e164);
    expect(sent.path).toBe(`/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
    expect(sent.form.get('From')).toBe('+15005550006');
    const body = sent.form.get('Body') ?? '';
    expect(body).toContain(message);
    const link = approvalLinkIn(op, body);

    await approveOnPage(link);
    await expectTokensForAlice(op, authReqId);
  });
});
