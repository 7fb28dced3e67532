import { describe, expect, it } from '@jest/globals';
import type { Client, ClientChangeFeed, ClientRepository } from '@ciba/domain';
import { CachedClientRepository } from './cached-client-repository.js';

class CountingRepository implements ClientRepository {
  typeReads = 0;
  reads = 0;
  types = ['payment_initiation'];
  readonly clients = new Map<string, Client>();
  /** When set, a read waits for this before answering with what was stored when it started. */
  gate: Promise<void> | null = null;
  async findById(clientId: string): Promise<Client | null> {
    this.reads++;
    const found = this.clients.get(clientId) ?? null;
    if (this.gate) await this.gate;
    return found;
  }
  authorizationDetailsTypes(): Promise<string[]> {
    this.typeReads++;
    return Promise.resolve([...this.types]);
  }
}

describe('CachedClientRepository', () => {
  it('RFC 9396 §10 caches the registered authorization_details types for the client TTL', async () => {
    let now = 0;
    const inner = new CountingRepository();
    const cached = new CachedClientRepository(inner, 30_000, () => now);
    await expect(cached.authorizationDetailsTypes()).resolves.toEqual(['payment_initiation']);
    inner.types = ['payment_initiation', 'tax_filing'];
    now = 29_999;
    await expect(cached.authorizationDetailsTypes()).resolves.toEqual(['payment_initiation']);
    expect(inner.typeReads).toBe(1);
    now = 30_000;
    await expect(cached.authorizationDetailsTypes()).resolves.toEqual(['payment_initiation', 'tax_filing']);
    expect(inner.typeReads).toBe(2);
  });

  it('hands out copies, and invalidate() forgets the types', async () => {
    const inner = new CountingRepository();
    const cached = new CachedClientRepository(inner, 30_000, () => 0);
    (await cached.authorizationDetailsTypes()).push('mutated');
    await expect(cached.authorizationDetailsTypes()).resolves.toEqual(['payment_initiation']);
    cached.invalidate();
    await cached.authorizationDetailsTypes();
    expect(inner.typeReads).toBe(2);
  });

  const client = (clientId: string, clientName = 'Client'): Client => ({ clientId, clientName }) as Client;

  class ManualFeed implements ClientChangeFeed {
    private readonly listeners = new Set<(clientId: string | null) => void>();
    subscribe(listener: (clientId: string | null) => void): () => void {
      this.listeners.add(listener);
      return () => this.listeners.delete(listener);
    }
    tell(clientId: string | null): void {
      for (const listener of this.listeners) listener(clientId);
    }
  }

  /** A cache that never expires by time, following a feed the test drives. */
  function following() {
    const inner = new CountingRepository();
    const feed = new ManualFeed();
    const cached = new CachedClientRepository(inner, 30_000, () => 0);
    const stop = cached.follow(feed);
    return { inner, feed, cached, stop };
  }

  it('RFC 7592 §2.3 a client the feed reports changed is read again at once; other clients stay cached', async () => {
    const { inner, feed, cached } = following();
    inner.clients.set('a', client('a'));
    inner.clients.set('b', client('b'));
    await cached.findById('a');
    await cached.findById('b');
    inner.clients.delete('a');
    inner.clients.set('b', client('b', 'Renamed'));
    await expect(cached.findById('a')).resolves.toMatchObject({ clientId: 'a' });
    feed.tell('a');
    await expect(cached.findById('a')).resolves.toBeNull();
    await expect(cached.findById('b')).resolves.toMatchObject({ clientName: 'Client' });
    expect(inner.reads).toBe(3);
    feed.tell(null);
    await expect(cached.findById('b')).resolves.toMatchObject({ clientName: 'Renamed' });
  });

  it('a client registered after its id was looked up (and cached as unknown) is found once the feed reports it', async () => {
    const { inner, feed, cached } = following();
    await expect(cached.findById('new')).resolves.toBeNull();
    inner.clients.set('new', client('new'));
    feed.tell('new');
    await expect(cached.findById('new')).resolves.toMatchObject({ clientId: 'new' });
  });

  it('a read in flight when a change is reported is answered but not cached (it may predate the change)', async () => {
    const { inner, feed, cached } = following();
    inner.clients.set('a', client('a'));
    let open!: () => void;
    inner.gate = new Promise((resolve) => (open = resolve));
    const inFlight = cached.findById('a');
    const typesInFlight = cached.authorizationDetailsTypes();
    inner.clients.delete('a');
    feed.tell('a');
    open();
    await expect(inFlight).resolves.toMatchObject({ clientId: 'a' });
    await typesInFlight;
    inner.gate = null;
    await expect(cached.findById('a')).resolves.toBeNull();
    await cached.authorizationDetailsTypes();
    expect(inner.typeReads).toBe(2);
  });

  it('the registered authorization_details types are read again after any client change', async () => {
    const { inner, feed, cached, stop } = following();
    await cached.authorizationDetailsTypes();
    inner.types = ['payment_initiation', 'tax_filing'];
    feed.tell('some-client');
    await expect(cached.authorizationDetailsTypes()).resolves.toEqual(['payment_initiation', 'tax_filing']);
    stop();
    inner.types = [];
    feed.tell(null);
    await expect(cached.authorizationDetailsTypes()).resolves.toEqual(['payment_initiation', 'tax_filing']);
  });
});
