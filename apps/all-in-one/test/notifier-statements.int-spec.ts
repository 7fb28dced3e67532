import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ApprovalNotification, EmailChannel } from '@ciba/channels';
import { TypeOrmUserRepository } from '@ciba/persistence';
import { DeviceDecisionService, UserNotifier } from '@ciba/service-notifier';
import { waitFor } from '@ciba/testing';
import { CLIENTS, type TestClient, type TestProvider, startTestProvider, storePendingRequest, uniqueMessage } from './provider-harness.js';
import { statementsOf } from './statement-counter.js';

/**
 * The notifier's round trips to PostgreSQL per request, with every prompt limit on: the budget the
 * statement-count goal of a whole ping flow leaves it. Counted per piece of work in its own async
 * context, so the rest of the provider running meanwhile does not count; the in-process bus's own
 * table is JetStream in the distributed services and is left out. The `notified` and outcome
 * markers are written behind, many requests' in one statement (counted in
 * `libs/persistence/test/deferred-request-markers.int-spec.ts`).
 */
const BUDGET = {
  /** The claim: the request with its user, the prompt limits checked and counted, the decision tokens stored. */
  notification: 1,
  /** The token used and the request decided, in one statement; the request's id came with the send. */
  decision: 1,
  /** The claim, then the refusal recorded on the request. */
  refusal: 2,
  /** A client's first prompt to a user: the claim creates the pair's row, then runs again. Once per (client, user). */
  firstPrompt: 2,
};

describe('statement budget: the notifier’s PostgreSQL round trips per notification and per decision', () => {
  let op: TestProvider;
  const mails: { to: string; notification: ApprovalNotification }[] = [];
  const email: EmailChannel = {
    kind: 'email',
    vendor: 'recording',
    send: (to, notification) => {
      mails.push({ to, notification });
      return Promise.resolve({ kind: 'sent', providerMessageId: null });
    },
    sendEnrolment: () => Promise.resolve({ kind: 'sent', providerMessageId: null }),
    sendDeviceAnnouncement: () => Promise.resolve({ kind: 'sent', providerMessageId: null }),
  };

  beforeAll(async () => {
    op = await startTestProvider(
      { CIBA_CLIENT_USER_NOTIFICATION_LIMIT: '5', CIBA_CLIENT_NOTIFICATION_LIMIT: '1000', CIBA_DENIAL_BACKOFF_THRESHOLD: '3' },
      { channels: { email, sms: null, devicePush: [] } },
    );
    // erin answers on the approval page her email links to.
    await new TypeOrmUserRepository(op.db.dataSource).upsert({
      sub: 'erin',
      name: 'Erin Example',
      email: 'erin@example.com',
      emailVerified: true,
      phoneNumber: null,
      phoneNumberVerified: false,
      channelPreference: ['email'],
    });
  }, 60_000);
  afterAll(async () => {
    await op?.close();
  });

  /** A pending request as bc-authorize stores it, without its created event: the test hands it to the notifier itself. */
  const accepted = (subject: string, client: TestClient = CLIENTS.basic) =>
    storePendingRequest(op, { clientId: client.id, subject, bindingMessage: uniqueMessage('budget') });
  /** A first prompt from `client` to `subject`, uncounted: it creates their row and caches the client. */
  const warmUp = async (subject: string, client: TestClient = CLIENTS.basic) => op.app.get(UserNotifier).notify((await accepted(subject, client)).id);
  const row = async (id: string) =>
    (await op.db.dataSource.query<{ status: string; notified_at: Date | null; outcome_published_at: Date | null }[]>(
      'SELECT status, notified_at, outcome_published_at FROM auth_requests WHERE id = $1',
      [id],
    ))[0];

  it(`a client’s first prompt to a user: ${BUDGET.firstPrompt} statements, once`, async () => {
    const [first, second] = [await accepted('alice', CLIENTS.post), await accepted('alice', CLIENTS.post)];
    expect((await statementsOf(() => op.app.get(UserNotifier).notify(first.id))).own).toHaveLength(BUDGET.firstPrompt);
    expect((await statementsOf(() => op.app.get(UserNotifier).notify(second.id))).own).toHaveLength(BUDGET.notification);
  });

  it(`a created event taken to the HTTP authentication channel: ${BUDGET.notification} statement, then the device’s approval: ${BUDGET.decision}`, async () => {
    await warmUp('alice');
    const request = await accepted('alice');
    const notification = await statementsOf(() => op.app.get(UserNotifier).notify(request.id));
    expect(notification.own).toHaveLength(BUDGET.notification);
    const { decisionToken } = await op.notification((body) => body['binding_message'] === request.bindingMessage);

    const decision = await statementsOf(() => op.app.get(DeviceDecisionService).decide(decisionToken, 'SUCCEED', 'http'));
    expect(decision.own).toHaveLength(BUDGET.decision);
    expect((await row(request.id)).status).toBe('approved');
    // The markers follow behind.
    await waitFor(async () => (await row(request.id)).notified_at !== null && (await row(request.id)).outcome_published_at !== null, {
      description: 'the notified and outcome markers written',
    });
  });

  it(`a created event taken to email, with the approval link: ${BUDGET.notification} statement`, async () => {
    await warmUp('erin');
    const request = await accepted('erin');
    const notification = await statementsOf(() => op.app.get(UserNotifier).notify(request.id));
    expect(notification.own).toHaveLength(BUDGET.notification);
    const mail = mails.find((m) => m.notification.requestId === request.id);
    expect(mail?.to).toBe('erin@example.com');
    // The link's token was stored by the claim: the page opens it.
    const page = await fetch(mail!.notification.approvalUrl);
    expect(page.status).toBe(200);
  });

  it(`push bombing: a request over the per-(client, user) limit is refused with ${BUDGET.refusal} statements, and never reaches the device`, async () => {
    for (let i = 0; i < 5; i++) await op.app.get(UserNotifier).notify((await accepted('bob', CLIENTS.post)).id);
    const request = await accepted('bob', CLIENTS.post);
    const refusal = await statementsOf(() => op.app.get(UserNotifier).notify(request.id));
    expect(refusal.own).toHaveLength(BUDGET.refusal);
    expect(await row(request.id)).toMatchObject({ status: 'denied' });
    expect(op.device.received.filter((n) => n.body['binding_message'] === request.bindingMessage)).toEqual([]);
  });
});
