import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair } from 'jose';
import type { AuditRecord } from '@ciba/domain';
import { AUDIT_CHAIN_GENESIS_HASH, TypeOrmAuditChain, TypeOrmAuditRepository, TypeOrmSigningKeyRepository, auditEntryHash } from '@ciba/persistence';
import type { ProviderConfig } from '@ciba/config';
import {
  AUDIT_CHECKPOINT_TYP,
  AuditCheckpointScheduler,
  AuditCheckpointer,
  type ChainVerification,
  describeChainBreak,
  signCheckpoint,
  verifyAuditChain,
  withUnsealedKeys,
} from '@ciba/service-audit';
import { SettableClock, type TestDatabase, createTestDatabase, waitFor } from '@ciba/testing';
import { KeyEncryptor, KeyStore } from '@ciba/tokens';

const ISSUER = 'https://op.example.test';

function anEvent(n: number): AuditRecord {
  const requestId = randomUUID();
  return {
    eventId: `${requestId}:auth_request.created`,
    type: 'auth_request.created',
    requestId,
    clientId: 'rp-1',
    subject: `user-${n}`,
    occurredAt: new Date(Date.UTC(2030, 0, 1, 0, n)),
    correlationId: `corr-${n}`,
    payload: { version: 1, deliveryMode: 'poll', scope: ['openid'], interval: 5, n },
  };
}

/**
 * Issue 12 item 3, tamper evidence: the audit trail is a hash chain with checkpoints signed by the
 * provider's key; `verify` recomputes it on the real PostgreSQL and pinpoints the first broken link.
 */
describe('tamper-evident audit trail: hash chain, signed checkpoints, verify (issue 12 item 3)', () => {
  let db: TestDatabase;
  let keyStore: KeyStore;
  let chain: TypeOrmAuditChain;
  const clock = new SettableClock();
  const sql = <T>(text: string, parameters: unknown[] = []) => db.dataSource.query<T>(text, parameters);
  const eventIdAt = async (seq: number) => (await sql<{ event_id: string }[]>('SELECT event_id FROM audit_records WHERE seq = $1', [seq]))[0].event_id;
  const encryptor = new KeyEncryptor(Buffer.alloc(32, 7).toString('base64'));
  const verify = (options: { fromCheckpoint?: number } = {}) => verifyAuditChain(withUnsealedKeys(chain, encryptor), options);

  beforeAll(async () => {
    db = await createTestDatabase();
    keyStore = new KeyStore({
      repository: new TypeOrmSigningKeyRepository(db.dataSource),
      encryptor,
      clock,
      algs: ['ES256'],
    });
    await keyStore.init();
    chain = new TypeOrmAuditChain(db.dataSource);
  });
  afterAll(async () => {
    await db?.drop();
  });

  /** Ten entries appended in batches of 3, 1, 4, 2; checkpoints signed at seq 3 (the first) and 8 (4 or more entries later). */
  beforeEach(async () => {
    await sql('TRUNCATE audit_records, audit_checkpoints');
    await sql('UPDATE audit_chain_head SET seq = 0, hash = $1', [AUDIT_CHAIN_GENESIS_HASH]);
    const repository = new TypeOrmAuditRepository(db.dataSource);
    const checkpointer = new AuditCheckpointer(chain, keyStore, clock, ISSUER, { every: 4, seconds: 3600 });
    const events = Array.from({ length: 10 }, (_, i) => anEvent(i + 1));
    for (const batch of [events.slice(0, 3), events.slice(3, 4), events.slice(4, 8), events.slice(8)]) {
      await repository.appendMany(batch);
      await checkpointer.checkpointIfDue();
    }
    expect((await chain.checkpoints()).map((checkpoint) => checkpoint.seq)).toEqual([3, 8]);
  });

  const expectBroken = (result: ChainVerification, broken: unknown) => {
    expect(result).toMatchObject({ ok: false, broken });
  };

  it('verify passes on an untouched chain: every entry recomputed, every checkpoint signed and matching', async () => {
    await expect(verify()).resolves.toEqual({ ok: true, entries: 10, checkpoints: 2, fromSeq: 0, unchainedRows: 0 });
  });

  it('verify pinpoints an edited row: UPDATE of one payload fails at that seq, with its event id', async () => {
    await sql(`UPDATE audit_records SET payload = payload || '{"deliveryMode":"push"}' WHERE seq = 6`);
    const result = await verify();
    expectBroken(result, { kind: 'edited', seq: 6, eventId: await eventIdAt(6) });
    expect(result.entries).toBe(5);
  });

  it('verify pinpoints an edited column outside the payload (subject, time)', async () => {
    await sql(`UPDATE audit_records SET subject = 'mallory' WHERE seq = 2`);
    expectBroken(await verify(), { kind: 'edited', seq: 2 });
    await sql(`UPDATE audit_records SET subject = 'user-2' WHERE seq = 2`);
    await sql(`UPDATE audit_records SET occurred_at = occurred_at + interval '1 second' WHERE seq = 9`);
    expectBroken(await verify(), { kind: 'edited', seq: 9 });
  });

  it('verify pinpoints a deleted row: the gap after the previous seq', async () => {
    await sql('DELETE FROM audit_records WHERE seq = 5');
    const result = await verify();
    expectBroken(result, { kind: 'deleted', afterSeq: 4, nextSeq: 6 });
    expect(result.ok || describeChainBreak(result.broken)).toBe('audit chain broken after seq 4: next entry is seq 6 (deleted rows)');
  });

  it('verify pinpoints deleted rows at the end of the chain (the head and the checkpoints know of them)', async () => {
    await sql('DELETE FROM audit_records WHERE seq >= 9');
    expectBroken(await verify(), { kind: 'deleted', afterSeq: 8, nextSeq: null });
    await sql('DELETE FROM audit_records WHERE seq >= 7');
    await sql('UPDATE audit_chain_head SET seq = 6, hash = (SELECT hash FROM audit_records WHERE seq = 6)');
    expectBroken(await verify(), { kind: 'deleted', afterSeq: 6, nextSeq: null });
  });

  it('verify on a live trail checks up to the head it read first: entries appended meanwhile are not reported missing', async () => {
    const repository = new TypeOrmAuditRepository(db.dataSource);
    const source = withUnsealedKeys(chain, encryptor);
    const live = {
      ...source,
      head: async () => {
        const head = await chain.head();
        await repository.appendMany([anEvent(11), anEvent(12)]);
        return head;
      },
    };
    await expect(verifyAuditChain(live)).resolves.toEqual({ ok: true, entries: 10, checkpoints: 2, fromSeq: 0, unchainedRows: 0 });
    await expect(verify()).resolves.toMatchObject({ ok: true, entries: 12 });
  });

  it('verify reports rows slipped in around the chain (seq null, the insert trigger disabled)', async () => {
    await sql('ALTER TABLE audit_records DISABLE TRIGGER audit_chain_advance');
    try {
      await sql(`INSERT INTO audit_records (event_id, type, subject, occurred_at, payload) VALUES ($1, 'auth_request.approved', 'alice', now(), '{}')`, [randomUUID()]);
    } finally {
      await sql('ALTER TABLE audit_records ENABLE TRIGGER audit_chain_advance');
    }
    expectBroken(await verify(), { kind: 'outside-chain', rows: 1 });
  });

  it('verify pinpoints a reordered row: two rows swapping seq fail at the first of them', async () => {
    await sql('UPDATE audit_records SET seq = -1 WHERE seq = 6');
    await sql('UPDATE audit_records SET seq = 6 WHERE seq = 7');
    await sql('UPDATE audit_records SET seq = 7 WHERE seq = -1');
    const moved = await eventIdAt(6);
    expectBroken(await verify(), { kind: 'reordered', seq: 6, eventId: moved });
  });

  it('an edit whose hashes are all recomputed (by someone without the signing key) is caught by the next signed checkpoint', async () => {
    await sql(`UPDATE audit_records SET payload = payload || '{"decision":"approved"}' WHERE seq = 6`);
    // Rewrite the chain from seq 6 on, exactly as the append path would, and move the head.
    const rows = await sql<Record<string, unknown>[]>('SELECT * FROM audit_records WHERE seq >= 5 ORDER BY seq');
    let prev = rows[0]['hash'] as string;
    for (const row of rows.slice(1)) {
      const seq = Number(row['seq']);
      const hash = auditEntryHash(prev, seq, {
        eventId: row['event_id'] as string,
        type: row['type'] as string,
        requestId: row['request_id'] as string | null,
        clientId: row['client_id'] as string | null,
        deviceId: row['device_id'] as string | null,
        subject: row['subject'] as string,
        occurredAt: row['occurred_at'] as Date,
        correlationId: row['correlation_id'] as string | null,
        payload: row['payload'],
      });
      await sql('UPDATE audit_records SET prev_hash = $1, hash = $2 WHERE seq = $3', [prev, hash, seq]);
      prev = hash;
    }
    await sql('UPDATE audit_chain_head SET hash = $1', [prev]);
    expectBroken(await verify(), { kind: 'checkpoint-mismatch', seq: 8 });
  });

  it('verify fails on a checkpoint whose signature was edited', async () => {
    const [first] = await chain.checkpoints();
    const [header, payload, signature] = first.jws.split('.') as [string, string, string];
    const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
    await sql('UPDATE audit_checkpoints SET jws = $1 WHERE seq = 3', [`${header}.${payload}.${flipped}`]);
    expectBroken(await verify(), { kind: 'checkpoint-signature', seq: 3 });
  });

  it('verify fails on a checkpoint re-signed for another hash with a key the provider never had, or unsigned (alg none)', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ seq: 8, hash: 'f'.repeat(64) })
      .setProtectedHeader({ alg: 'ES256', kid: keyStore.signingKey().kid, typ: AUDIT_CHECKPOINT_TYP })
      .setIssuedAt()
      .sign(privateKey);
    await sql('UPDATE audit_checkpoints SET jws = $1, hash = $2 WHERE seq = 8', [forged, 'f'.repeat(64)]);
    expectBroken(await verify(), { kind: 'checkpoint-signature', seq: 8 });

    const unsigned = new UnsecuredJWT({ seq: 8, hash: 'f'.repeat(64) }).setIssuedAt().encode();
    await sql('UPDATE audit_checkpoints SET jws = $1 WHERE seq = 8', [unsigned]);
    expectBroken(await verify(), { kind: 'checkpoint-signature', seq: 8 });
  });

  it('verify fails on a checkpoint JWS of the wrong type (a token of this provider is not a checkpoint)', async () => {
    const { kid, alg, key } = keyStore.signingKey();
    const token = await new SignJWT({ seq: 3, hash: (await chain.checkpoints())[0].hash }).setProtectedHeader({ alg, kid, typ: 'at+jwt' }).setIssuedAt().sign(key);
    await sql('UPDATE audit_checkpoints SET jws = $1 WHERE seq = 3', [token]);
    expectBroken(await verify(), { kind: 'checkpoint-signature', seq: 3 });
  });

  it('verify fails when a checkpoint row is edited to agree with a rewritten chain but its signed claims are not', async () => {
    await sql(`UPDATE audit_checkpoints SET hash = $1 WHERE seq = 3`, ['e'.repeat(64)]);
    expectBroken(await verify(), { kind: 'checkpoint-mismatch', seq: 3 });
  });

  it('a checkpoint stays verifiable after its key is rotated out and unpublished', async () => {
    await keyStore.rotate(0);
    await sql(`UPDATE signing_keys SET unpublish_after = now() - interval '1 day' WHERE retired_at IS NOT NULL`);
    await keyStore.refresh();
    await expect(verify()).resolves.toMatchObject({ ok: true, checkpoints: 2 });
  });

  it('--from-checkpoint: after rows up to a checkpoint are pruned, the rest verifies from it; from the start it reports the gap', async () => {
    await sql('DELETE FROM audit_records WHERE seq <= 3');
    expectBroken(await verify(), { kind: 'deleted', afterSeq: 0, nextSeq: 4 });
    await expect(verify({ fromCheckpoint: 3 })).resolves.toEqual({ ok: true, entries: 7, checkpoints: 2, fromSeq: 3, unchainedRows: 0 });
    await sql(`UPDATE audit_records SET payload = payload || '{"x":1}' WHERE seq = 4`);
    expectBroken(await verify({ fromCheckpoint: 3 }), { kind: 'edited', seq: 4 });
  });

  it('--from-checkpoint naming no stored checkpoint fails', async () => {
    expectBroken(await verify({ fromCheckpoint: 5 }), { kind: 'no-checkpoint', seq: 5 });
  });

  it('checkpoints: signed once `every` entries accumulated or once `seconds` passed with new entries; never twice for one seq; JWS of typ audit-checkpoint+jwt', async () => {
    const checkpointer = new AuditCheckpointer(chain, keyStore, clock, ISSUER, { every: 4, seconds: 60 });
    await expect(checkpointer.checkpointIfDue()).resolves.toBeNull(); // 2 new entries, 0 s
    clock.advance(61);
    await expect(checkpointer.checkpointIfDue()).resolves.toBe(10);
    clock.advance(61);
    await expect(checkpointer.checkpointIfDue()).resolves.toBeNull(); // nothing new
    const latest = await chain.latestCheckpoint();
    expect(latest).toMatchObject({ seq: 10, hash: (await chain.head()).hash });
    expect(JSON.parse(Buffer.from(latest!.jws.split('.')[0], 'base64url').toString())).toMatchObject({ typ: AUDIT_CHECKPOINT_TYP, alg: 'ES256' });
    // Another replica signing the same head concurrently stores nothing new.
    await expect(chain.insertCheckpoint({ seq: 10, hash: latest!.hash, signedAt: clock.now(), jws: await signCheckpoint(keyStore, ISSUER, { seq: 10, hash: latest!.hash, signedAt: clock.now() }) })).resolves.toBe(false);
    await expect(verify()).resolves.toMatchObject({ ok: true, entries: 10, checkpoints: 3 });
  });

  it('the audit service signs a checkpoint once a replica has appended CIBA_AUDIT_CHECKPOINT_EVERY entries, and none without signing keys', async () => {
    const config = { issuer: ISSUER, auditCheckpoints: { every: 3, seconds: 3600 } } as unknown as ProviderConfig;
    const repository = new TypeOrmAuditRepository(db.dataSource);
    const withoutKeys = new AuditCheckpointScheduler(chain, config, clock, null);
    await repository.appendMany([anEvent(11), anEvent(12), anEvent(13)]);
    withoutKeys.appended(3);
    await withoutKeys.look();
    expect((await chain.latestCheckpoint())?.seq).toBe(8);

    const scheduler = new AuditCheckpointScheduler(chain, config, clock, keyStore);
    scheduler.appended(2);
    await scheduler.look();
    // The look above saw 5 entries after the checkpoint at 8 (more than `every`): it signed the head.
    expect((await chain.latestCheckpoint())?.seq).toBe(13);
    await repository.appendMany([anEvent(14), anEvent(15)]);
    scheduler.appended(2);
    await repository.appendMany([anEvent(16)]);
    scheduler.appended(1);
    await waitFor(async () => (await chain.latestCheckpoint())?.seq === 16, { description: 'a checkpoint of the head once 3 entries were appended' });
    await expect(verify()).resolves.toMatchObject({ ok: true, entries: 16, checkpoints: 4 });
  });

  it('a checkpoint signed by a key planted in signing_keys (a public JWK, no private key sealed with the key-encryption key) fails', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    await sql(`INSERT INTO signing_keys (kid, alg, public_jwk, encrypted_private_jwk, created_at) VALUES ('planted', 'ES256', $1, $2, now())`, [
      JSON.stringify({ ...(await exportJWK(publicKey)), kid: 'planted', alg: 'ES256', use: 'sig' }),
      'v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA',
    ]);
    try {
      const hash = (await chain.checkpoints())[1].hash;
      const forged = await new SignJWT({ seq: 8, hash }).setProtectedHeader({ alg: 'ES256', kid: 'planted', typ: AUDIT_CHECKPOINT_TYP }).setIssuedAt().sign(privateKey);
      await sql('UPDATE audit_checkpoints SET jws = $1 WHERE seq = 8', [forged]);
      expectBroken(await verify(), { kind: 'checkpoint-signature', seq: 8 });
      // And the keys verify uses are the provider's own, public halves only.
      const keys = await withUnsealedKeys(chain, encryptor).verificationKeys();
      expect(keys.map((jwk) => jwk['kid'])).not.toContain('planted');
      expect(keys.length).toBeGreaterThan(0);
    } finally {
      await sql(`DELETE FROM signing_keys WHERE kid = 'planted'`);
    }
  });
});
