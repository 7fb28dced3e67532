import type { Client, ClientChangeFeed, ClientRepository } from '@ciba/domain';

/**
 * Clients change rarely and are read on every protocol request: keep them in memory for a short
 * time. Unknown ids are cached too (briefly) so a flood of bad ids does not reach the database.
 *
 * With a change feed (`follow`), a client that is updated or deleted anywhere — this replica,
 * another one, the admin CLI — is forgotten as soon as the change commits, so a deleted client or
 * a replaced key stops working everywhere at once; the TTL is then only the fallback for changes
 * the feed could not hear (it was reconnecting). A read that was in flight when a change arrived is
 * returned but not kept: it may predate the change.
 */
export class CachedClientRepository implements ClientRepository {
  private readonly entries = new Map<string, { client: Client | null; until: number }>();
  private types: { value: string[]; until: number } | null = null;
  /** Bumped by every change heard: a read started under an older generation is not cached. */
  private generation = 0;

  constructor(
    private readonly inner: ClientRepository,
    private readonly ttlMs = 30_000,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 10_000,
  ) {}

  /** Forgets each client the feed reports changed (all of them when it reports null). */
  follow(feed: ClientChangeFeed): () => void {
    return feed.subscribe((clientId) => (clientId === null ? this.invalidate() : this.forget(clientId)));
  }

  async findById(clientId: string): Promise<Client | null> {
    const hit = this.entries.get(clientId);
    const t = this.now();
    if (hit && hit.until > t) return hit.client;
    const generation = this.generation;
    const client = await this.inner.findById(clientId);
    if (generation !== this.generation) return client;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(clientId, { client, until: t + (client ? this.ttlMs : Math.min(this.ttlMs, 5_000)) });
    return client;
  }

  /** Read for discovery only: cached for the same time as clients, so a new registration shows as soon. */
  async authorizationDetailsTypes(): Promise<string[]> {
    const t = this.now();
    if (this.types && this.types.until > t) return [...this.types.value];
    const generation = this.generation;
    const value = await this.inner.authorizationDetailsTypes();
    if (generation === this.generation) this.types = { value, until: t + this.ttlMs };
    return [...value];
  }

  /** One client changed: it is read again, and so are the registered types (its own may have changed). */
  forget(clientId: string): void {
    this.generation++;
    this.entries.delete(clientId);
    this.types = null;
  }

  invalidate(): void {
    this.generation++;
    this.entries.clear();
    this.types = null;
  }
}
