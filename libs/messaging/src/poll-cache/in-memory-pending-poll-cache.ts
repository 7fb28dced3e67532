import { type AuthRequest, type CachedPollAnswer, type PendingPollCache, type PendingPollState, nextPollState, pendingPollStateOf } from '@ciba/domain';

type Entry = PendingPollState | 'settled';

/**
 * The all-in-one adapter: one process, so a Map is atomic. Entries leave when their request's
 * lifetime has passed.
 */
export class InMemoryPendingPollCache implements PendingPollCache {
  private readonly entries = new Map<string, { entry: Entry; expiresAt: number }>();
  private lastSweep = 0;

  recordPoll(clientId: string, requestId: string, now: Date, slowDownIncrement: number): Promise<CachedPollAnswer | null> {
    this.sweep(now.getTime());
    const found = this.entries.get(requestId);
    if (!found || found.entry === 'settled' || found.entry.clientId !== clientId || found.entry.expiresAt <= now.getTime()) return Promise.resolve(null);
    const next = nextPollState(found.entry, now.getTime(), slowDownIncrement);
    this.entries.set(requestId, { entry: next.state, expiresAt: found.expiresAt });
    return Promise.resolve({ tooSoon: next.tooSoon, interval: next.state.interval });
  }

  rememberPending(request: AuthRequest): Promise<void> {
    if (!this.entries.has(request.id)) {
      this.entries.set(request.id, { entry: pendingPollStateOf(request), expiresAt: request.expiresAt.getTime() });
    }
    return Promise.resolve();
  }

  settle(requestId: string, expiresAt: Date): Promise<void> {
    this.entries.set(requestId, { entry: 'settled', expiresAt: expiresAt.getTime() });
    return Promise.resolve();
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 10_000) return;
    this.lastSweep = now;
    for (const [key, { expiresAt }] of this.entries) if (expiresAt <= now) this.entries.delete(key);
  }
}
