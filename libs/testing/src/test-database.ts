import type { ScratchDatabase, createScratchDatabase } from '@ciba/persistence';

export type TestDatabase = ScratchDatabase;

/**
 * A fresh, migrated PostgreSQL database of its own (`drop()` when done). The persistence library is
 * loaded on first use: tests that need no database (the protocol peers') do not pay for TypeORM.
 */
export async function createTestDatabase(...options: Parameters<typeof createScratchDatabase>): Promise<TestDatabase> {
  const persistence = await import('@ciba/persistence');
  return persistence.createScratchDatabase(...options);
}
