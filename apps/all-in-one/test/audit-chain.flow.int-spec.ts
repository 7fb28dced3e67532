import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { TypeOrmAuditChain } from '@ciba/persistence';
import { verifyAuditChain, withUnsealedKeys } from '@ciba/service-audit';
import { KeyEncryptor } from '@ciba/tokens';
import { waitFor } from '@ciba/testing';
import { type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

jest.setTimeout(60_000);

/**
 * Issue 12 item 3 in the running provider: the audit consumer chains every lifecycle event of a
 * flow and signs checkpoints with the provider's key, and the chain verifies.
 */
describe('audit hash chain in the all-in-one (issue 12 item 3)', () => {
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider({ CIBA_AUDIT_CHECKPOINT_EVERY: '2', CIBA_AUDIT_CHECKPOINT_SECONDS: '3600' });
  });
  afterAll(async () => {
    await op?.close();
  });

  it('a flow appends its events to the chain, a checkpoint signed by the provider key covers them, and verify passes', async () => {
    const chain = new TypeOrmAuditChain(op.db.dataSource);
    const message = uniqueMessage('audit-chain');
    const { authReqId } = await op.authorize({ scope: 'openid', binding_message: message });
    const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    expect((await op.token(authReqId)).status).toBe(200);

    // Every event of the flow chained (the redemption is the last), and a checkpoint signed (every 2 entries).
    const redeemed = async () => (await op.db.dataSource.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM audit_records WHERE type = 'auth_request.redeemed' AND seq IS NOT NULL`))[0].n;
    await waitFor(async () => (await redeemed()) === 1 && (await chain.latestCheckpoint()) !== null, { description: 'the flow chained and checkpointed' });
    const result = await verifyAuditChain(withUnsealedKeys(chain, new KeyEncryptor(op.config.keys.encryptionKey)));
    expect(result).toMatchObject({ ok: true, unchainedRows: 0 });
    expect(result.ok && result.checkpoints).toBeGreaterThanOrEqual(1);
    const [checkpoint] = await chain.checkpoints();
    expect(JSON.parse(Buffer.from(checkpoint.jws.split('.')[0], 'base64url').toString())).toMatchObject({ typ: 'audit-checkpoint+jwt' });
  });
});
