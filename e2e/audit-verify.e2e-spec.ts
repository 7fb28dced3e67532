import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { systemClock } from '@ciba/domain';
import { TypeOrmAuditChain, TypeOrmAuditRepository, TypeOrmSigningKeyRepository } from '@ciba/persistence';
import { AuditCheckpointer } from '@ciba/service-audit';
import { type TestDatabase, createTestDatabase } from '@ciba/testing';
import { KeyEncryptor, KeyStore } from '@ciba/tokens';
import { adminRun } from './service-processes.js';

jest.setTimeout(60_000);


/** `ciba-admin audit verify` (issue 12 item 3): the exit code and the one line an operator reads. */
describe('ciba-admin audit verify', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await createTestDatabase();
    const encryptionKey = Buffer.alloc(32, 5).toString('base64');
    env = { CIBA_DATABASE_URL: db.url, CIBA_KEY_ENCRYPTION_KEY: encryptionKey };
    const chain = new TypeOrmAuditChain(db.dataSource);
    const keyStore = new KeyStore({ repository: new TypeOrmSigningKeyRepository(db.dataSource), encryptor: new KeyEncryptor(encryptionKey), clock: systemClock, algs: ['ES256'] });
    await keyStore.init();
    const checkpointer = new AuditCheckpointer(chain, keyStore, systemClock, 'https://op.example.test', { every: 2, seconds: 3600 });
    const repository = new TypeOrmAuditRepository(db.dataSource);
    for (let i = 0; i < 3; i++) {
      const requestId = randomUUID();
      await repository.appendMany([
        { eventId: `${requestId}:auth_request.created`, type: 'auth_request.created', requestId, clientId: 'rp', subject: 'alice', occurredAt: new Date(), correlationId: null, payload: { version: 1 } },
        { eventId: `${requestId}:auth_request.approved`, type: 'auth_request.approved', requestId, clientId: 'rp', subject: 'alice', occurredAt: new Date(), correlationId: null, payload: { version: 1 } },
      ]);
      await checkpointer.checkpointIfDue();
    }
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('exits 0 with a one-line summary on an untouched chain', async () => {
    await expect(adminRun(['audit', 'verify'], env)).resolves.toEqual({ code: 0, stdout: 'audit chain verified: 6 entries, 3 checkpoints\n', stderr: '' });
  });

  it('exits 1 and names the deleted row; exits 78 on a malformed --from-checkpoint', async () => {
    await db.dataSource.query('DELETE FROM audit_records WHERE seq = 3');
    const result = await adminRun(['audit', 'verify'], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('audit chain broken after seq 2: next entry is seq 4 (deleted rows)');
    expect((await adminRun(['audit', 'verify', '--from-checkpoint', 'x'], env)).code).toBe(78);
  });
});
