import type { Clock, SigningKeyRecord, SigningKeyRepository } from '@ciba/domain';

/** Test double of the Postgres signing-key repository; `withLock` serializes like an advisory lock. */
export class InMemorySigningKeyRepository implements SigningKeyRepository {
  readonly records: SigningKeyRecord[] = [];
  private readonly locks = new Map<string, Promise<unknown>>();

  async listPublished(now: Date): Promise<SigningKeyRecord[]> {
    // Yield so that unserialized callers really interleave.
    await new Promise((resolve) => setImmediate(resolve));
    return this.records
      .filter((r) => r.unpublishAfter === null || r.unpublishAfter.getTime() > now.getTime())
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  }

  async insert(record: SigningKeyRecord): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    if (this.records.some((r) => r.kid === record.kid)) throw new Error(`duplicate kid ${record.kid}`);
    this.records.push(record);
  }

  retireOthers(exceptKids: readonly string[], retiredAt: Date, unpublishAfter: Date): Promise<number> {
    let changed = 0;
    this.records.forEach((r, i) => {
      if (!exceptKids.includes(r.kid) && r.retiredAt === null) {
        this.records[i] = { ...r, retiredAt, unpublishAfter };
        changed += 1;
      }
    });
    return Promise.resolve(changed);
  }

  async withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(name) ?? Promise.resolve();
    const run = previous.then(work, work);
    this.locks.set(
      name,
      run.catch(() => undefined),
    );
    return run;
  }
}

/** A clock the test moves by hand. */
export class TestClock implements Clock {
  constructor(private current = new Date('2025-01-01T00:00:00Z')) {}
  now(): Date {
    return new Date(this.current.getTime());
  }
  advance(seconds: number): void {
    this.current = new Date(this.current.getTime() + seconds * 1000);
  }
}

/** A fixed 32-byte test encryption key (base64url). */
export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64url');
