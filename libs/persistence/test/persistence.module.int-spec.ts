import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import {
  PersistenceModule,
  PostgresDurableQueueStore,
  TypeOrmAuditRepository,
  TypeOrmAuthRequestRepository,
  TypeOrmClientRepository,
  TypeOrmDecisionTokenRepository,
  TypeOrmRefreshTokenRepository,
  TypeOrmSigningKeyRepository,
  TypeOrmUserRepository,
} from '../src/index.js';
import { createScratchDatabase as createTestDatabase } from '../src/index.js';
import type { ScratchDatabase as TestDatabase } from '../src/index.js';
import { DataSource } from 'typeorm';
import { aClient } from './fixtures.js';

describe('PersistenceModule', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('provides every repository by class, on an initialised DataSource it destroys on shutdown', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [PersistenceModule.forRoot({ url: db.url, poolSize: 2 })] }).compile();
    await moduleRef.init();

    for (const token of [
      TypeOrmClientRepository,
      TypeOrmUserRepository,
      TypeOrmAuthRequestRepository,
      TypeOrmDecisionTokenRepository,
      TypeOrmRefreshTokenRepository,
      TypeOrmSigningKeyRepository,
      TypeOrmAuditRepository,
      PostgresDurableQueueStore,
    ]) {
      expect(moduleRef.get(token)).toBeInstanceOf(token);
    }

    const clients = moduleRef.get(TypeOrmClientRepository);
    const client = aClient();
    await clients.upsert(client);
    await expect(clients.findById(client.clientId)).resolves.toEqual(client);

    const dataSource = moduleRef.get(DataSource);
    expect(dataSource.isInitialized).toBe(true);
    await moduleRef.close();
    expect(dataSource.isInitialized).toBe(false);
  });

  it('does not run migrations', async () => {
    const empty = await createTestDatabase();
    try {
      await empty.dataSource.undoLastMigration();
      const moduleRef = await Test.createTestingModule({ imports: [PersistenceModule.forRoot({ url: empty.url })] }).compile();
      const dataSource = moduleRef.get(DataSource);
      await expect(dataSource.showMigrations()).resolves.toBe(true);
      await moduleRef.close();
    } finally {
      await empty.drop();
    }
  });
});
