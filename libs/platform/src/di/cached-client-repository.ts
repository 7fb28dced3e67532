import type { Client, ClientRepository } from '@ciba/domain';

/**
 * Clients change rarely and are read on every protocol request: keep them in memory for a short
 * time. Unknown ids are cached too (briefly) so a flood of bad ids does not reach the database.
 */
export class CachedClientRepository implements ClientRepository {
  private readonly entries = new Map<string, { client: Client | null; until: number }>();
  private types: { value: string[]; until: number } | null = null;

  constructor(
    private readonly inner: ClientRepository,
    private readonly ttlMs = 30_000,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 10_000,
  ) {}

  async findById(clientId: string): Promise<Client | null> {
    const hit = this.entries.get(clientId);
    const t = this.now();
    if (hit && hit.until > t) return hit.client;
    const client = await this.inner.findById(clientId);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(clientId, { client, until: t + (client ? this.ttlMs : Math.min(this.ttlMs, 5_000)) });
    return client;
  }

  /** Read for discovery only: cached for the same time as clients, so a new registration shows as soon. */
  async authorizationDetailsTypes(): Promise<string[]> {
    const t = this.now();
    if (this.types && this.types.until > t) return [...this.types.value];
    const value = await this.inner.authorizationDetailsTypes();
    this.types = { value, until: t + this.ttlMs };
    return [...value];
  }

  invalidate(): void {
    this.entries.clear();
    this.types = null;
  }
}
