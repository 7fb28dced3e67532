import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { type AuthRequest, type CachedPollAnswer, type PendingPollCache, type PendingPollState, nextPollState, pendingPollStateOf } from '@ciba/domain';

export const POLL_STATE_BUCKET = 'ciba_poll_state';

type StoredEntry = PendingPollState | { readonly settled: true };

const MAX_ATTEMPTS = 50;

/**
 * The distributed adapter: a NATS KV bucket shared by every token replica. Updates are
 * compare-and-set on the entry's revision, so concurrent polls on different replicas still see one
 * winner. Keys are request ids (a UUID is a valid key): the auth_req_id never reaches the cache, the
 * token service has verified its MAC, which vouches for the request id. The bucket's TTL removes
 * entries after the longest request lifetime.
 */
export class KvPendingPollCache implements PendingPollCache {
  private constructor(private readonly kv: KV) {}

  static async open(connection: NatsConnection, options: { ttlMs: number; bucket?: string; replicas?: number }): Promise<KvPendingPollCache> {
    const kv = await new Kvm(connection).create(options.bucket ?? POLL_STATE_BUCKET, { history: 1, ttl: options.ttlMs, replicas: options.replicas ?? 1 });
    return new KvPendingPollCache(kv);
  }

  async recordPoll(clientId: string, requestId: string, now: Date, slowDownIncrement: number): Promise<CachedPollAnswer | null> {
    let lastInterval: number | null = null;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = await this.kv.get(requestId);
      if (!entry || entry.operation !== 'PUT') return null;
      const stored = entry.json<StoredEntry>();
      if ('settled' in stored || stored.clientId !== clientId || stored.expiresAt <= now.getTime()) return null;
      const next = nextPollState(stored, now.getTime(), slowDownIncrement);
      lastInterval = next.state.interval;
      try {
        await this.kv.update(requestId, JSON.stringify(next.state), entry.revision);
        return { tooSoon: next.tooSoon, interval: next.state.interval };
      } catch {
        // another poll (or a settle) changed the entry since we read it: read again
      }
    }
    // Still contended: other polls of this request are landing right now, so this one is too soon.
    // Falling back to the database would consult a stale last-poll time.
    return lastInterval === null ? null : { tooSoon: true, interval: lastInterval };
  }

  async rememberPending(request: AuthRequest): Promise<void> {
    try {
      await this.kv.create(request.id, JSON.stringify(pendingPollStateOf(request)));
    } catch {
      // already known (or settled): the existing entry wins
    }
  }

  async settle(requestId: string): Promise<void> {
    await this.kv.put(requestId, JSON.stringify({ settled: true } satisfies StoredEntry));
  }
}
