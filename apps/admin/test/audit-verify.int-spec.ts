import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError } from '@ciba/config';
import { systemClock } from '@ciba/domain';
import { TypeOrmAuditChain, TypeOrmAuditRepository, TypeOrmSigningKeyRepository } from '@ciba/persistence';
import { type AuditChainSource, AuditCheckpointer, withUnsealedKeys } from '@ciba/service-audit';
import { type TestDatabase, createTestDatabase } from '@ciba/testing';
import { KeyEncryptor, KeyStore } from '@ciba/tokens';
import { auditVerifyCommand, parseFromCheckpoint } from '../src/audit-verify.command.js';

/** A payload value that must never appear in the command's output. */
const MARKER = 'payload-marker-7f3a';

describe('ciba-admin audit verify (issue 12 item 3)', () => {
  let db: TestDatabase;
  let chain: TypeOrmAuditChain;
  let source: AuditChainSource;
  const encryptor = new KeyEncryptor(Buffer.alloc(32, 9).toString('base64'));
  const run = async (fromCheckpoint?: number) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await auditVerifyCommand(source, fromCheckpoint, { out: (line) => out.push(line), err: (line) => err.push(line) });
    return { code, out, err };
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    chain = new TypeOrmAuditChain(db.dataSource);
    source = withUnsealedKeys(chain, encryptor);
    const keyStore = new KeyStore({
      repository: new TypeOrmSigningKeyRepository(db.dataSource),
      encryptor,
      clock: systemClock,
      algs: ['RS256'],
    });
    await keyStore.init();
    const checkpointer = new AuditCheckpointer(chain, keyStore, systemClock, 'https://op.example.test', { every: 3, seconds: 3600 });
    const repository = new TypeOrmAuditRepository(db.dataSource);
    for (let batch = 0; batch < 3; batch++) {
      await repository.appendMany(
        Array.from({ length: 3 }, (_, i) => {
          const requestId = randomUUID();
          return { eventId: `${requestId}:auth_request.created`, type: 'auth_request.created', requestId, clientId: 'rp', subject: 'alice', occurredAt: new Date(), correlationId: null, payload: { version: 1, note: MARKER, i } };
        }),
      );
      await checkpointer.checkpointIfDue();
    }
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('prints a one-line summary and exits 0 on an untouched chain', async () => {
    await expect(run()).resolves.toEqual({ code: 0, out: ['audit chain verified: 9 entries, 3 checkpoints'], err: [] });
    await expect(run(3)).resolves.toEqual({ code: 0, out: ['audit chain verified from checkpoint seq 3: 6 entries, 3 checkpoints'], err: [] });
  });

  it('names the first broken link by seq and event id, never the payload, and exits 1', async () => {
    await db.dataSource.query(`UPDATE audit_records SET payload = payload || '{"i": 99}' WHERE seq = 5`);
    const [{ event_id: eventId }] = await db.dataSource.query<{ event_id: string }[]>('SELECT event_id FROM audit_records WHERE seq = 5');
    const result = await run();
    expect(result.code).toBe(1);
    expect(result.out).toEqual([]);
    expect(result.err).toEqual([
      `audit chain broken at seq 5 (event ${eventId}): the row does not match its hash (edited)`,
      'audit chain NOT verified (4 entries verified before the break)',
    ]);
    expect(result.err.join('\n')).not.toContain(MARKER);
  });

  it('--from-checkpoint takes a sequence number, nothing else', () => {
    expect(parseFromCheckpoint(undefined)).toBeUndefined();
    expect(parseFromCheckpoint('42')).toBe(42);
    for (const bad of ['', '-1', '1e3', 'abc', '9'.repeat(16), '4 2']) expect(() => parseFromCheckpoint(bad)).toThrow(ConfigError);
  });
});
